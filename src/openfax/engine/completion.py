"""How a T.30 session ended: spandsp's phase E completion codes, with their text and cause."""

from __future__ import annotations

import enum

from openfax.engine._spandsp import ffi, lib


class T30Failure(enum.Enum):
    """The few causes a fax service acts on, grouped from the many T.30 completion codes.

    The service decides retries and delays per cause; the engine only says which cause a
    code belongs to, because that is T.30 knowledge.
    """

    NONE = "none"
    NO_FAX = "no_fax"
    """No fax answered: the far end never sent a T.30 signal (a voice, a silent line)."""
    LINE_DROPPED = "line_dropped"
    """The call or the carrier went away mid-transfer."""
    PROTOCOL = "protocol"
    """The two ends did not follow T.30 together: bad or missing responses, failed training."""
    REMOTE_INCAPABLE = "remote_incapable"
    """The far end cannot receive this document (resolution, size) or will not receive at all."""
    DOCUMENT = "document"
    """The TIFF to send could not be read."""
    INTERNAL = "internal"
    """A local fault (memory) or an end set up wrongly."""


class CompletionCode(enum.IntEnum):
    """spandsp's T30_ERR_* values, in the order of ``spandsp/t30.h`` (0.0.6)."""

    OK = 0
    CEDTONE = 1
    T0_EXPIRED = 2
    T1_EXPIRED = 3
    T3_EXPIRED = 4
    HDLC_CARRIER = 5
    CANNOT_TRAIN = 6
    OPER_INT_FAIL = 7
    INCOMPATIBLE = 8
    RX_INCAPABLE = 9
    TX_INCAPABLE = 10
    NORESSUPPORT = 11
    NOSIZESUPPORT = 12
    UNEXPECTED = 13
    TX_BADDCS = 14
    TX_BADPG = 15
    TX_ECMPHD = 16
    TX_GOTDCN = 17
    TX_INVALRSP = 18
    TX_NODIS = 19
    TX_PHBDEAD = 20
    TX_PHDDEAD = 21
    TX_T5EXP = 22
    RX_ECMPHD = 23
    RX_GOTDCS = 24
    RX_INVALCMD = 25
    RX_NOCARRIER = 26
    RX_NOEOL = 27
    RX_NOFAX = 28
    RX_T2EXPDCN = 29
    RX_T2EXPD = 30
    RX_T2EXPFAX = 31
    RX_T2EXPMPS = 32
    RX_T2EXPRR = 33
    RX_T2EXP = 34
    RX_DCNWHY = 35
    RX_DCNDATA = 36
    RX_DCNFAX = 37
    RX_DCNPHD = 38
    RX_DCNRRD = 39
    RX_DCNNORTN = 40
    FILEERROR = 41
    NOPAGE = 42
    BADTIFF = 43
    BADPAGE = 44
    BADTAG = 45
    BADTIFFHDR = 46
    NOMEM = 47
    RETRYDCN = 48
    CALLDROPPED = 49
    NOPOLL = 50
    IDENT_UNACCEPTABLE = 51
    SUB_UNACCEPTABLE = 52
    SEP_UNACCEPTABLE = 53
    PSA_UNACCEPTABLE = 54
    SID_UNACCEPTABLE = 55
    PWD_UNACCEPTABLE = 56
    TSA_UNACCEPTABLE = 57
    IRA_UNACCEPTABLE = 58
    CIA_UNACCEPTABLE = 59
    ISP_UNACCEPTABLE = 60
    CSA_UNACCEPTABLE = 61

    @property
    def text(self) -> str:
        """spandsp's own words for the code, as users find them in its FLOW logs."""
        return str(ffi.string(lib.t30_completion_code_to_str(int(self))).decode("ascii"))

    @property
    def cause(self) -> T30Failure:
        """The cause a service acts on."""
        return _CAUSES.get(self, T30Failure.PROTOCOL)


C = CompletionCode
_CAUSES: dict[CompletionCode, T30Failure] = {
    C.OK: T30Failure.NONE,
    C.T0_EXPIRED: T30Failure.NO_FAX,
    C.T1_EXPIRED: T30Failure.NO_FAX,
    C.CEDTONE: T30Failure.NO_FAX,
    C.RX_NOFAX: T30Failure.NO_FAX,
    C.CALLDROPPED: T30Failure.LINE_DROPPED,
    C.RETRYDCN: T30Failure.LINE_DROPPED,
    C.HDLC_CARRIER: T30Failure.LINE_DROPPED,
    C.RX_NOCARRIER: T30Failure.LINE_DROPPED,
    C.TX_PHDDEAD: T30Failure.LINE_DROPPED,
    C.RX_T2EXPFAX: T30Failure.LINE_DROPPED,
    C.RX_T2EXPMPS: T30Failure.LINE_DROPPED,
    C.RX_T2EXPD: T30Failure.LINE_DROPPED,
    C.RX_DCNDATA: T30Failure.LINE_DROPPED,
    C.RX_DCNFAX: T30Failure.LINE_DROPPED,
    C.RX_DCNPHD: T30Failure.LINE_DROPPED,
    C.INCOMPATIBLE: T30Failure.REMOTE_INCAPABLE,
    C.RX_INCAPABLE: T30Failure.REMOTE_INCAPABLE,
    C.TX_INCAPABLE: T30Failure.REMOTE_INCAPABLE,
    C.NORESSUPPORT: T30Failure.REMOTE_INCAPABLE,
    C.NOSIZESUPPORT: T30Failure.REMOTE_INCAPABLE,
    C.FILEERROR: T30Failure.DOCUMENT,
    C.NOPAGE: T30Failure.DOCUMENT,
    C.BADTIFF: T30Failure.DOCUMENT,
    C.BADPAGE: T30Failure.DOCUMENT,
    C.BADTAG: T30Failure.DOCUMENT,
    C.BADTIFFHDR: T30Failure.DOCUMENT,
    C.NOMEM: T30Failure.INTERNAL,
}
del C
