"""The FAXCOMEX objects under their COM names, over :mod:`openfax.client`, so that a script
written for Windows (VBScript, or Python with pywin32) runs with only its imports changed::

    server = faxcomex.Dispatch("FaxComEx.FaxServer")
    server.Connect("")
    document = faxcomex.Dispatch("FaxComEx.FaxDocument")
    document.Body = "letter.pdf"
    document.Recipients.Add("1002", "Helen Carter")
    document.Priority = faxcomex.constants.fptHIGH
    job_ids = document.ConnectedSubmit(server)
    job = server.Folders.OutgoingQueue.GetJob(job_ids[0])

A pywin32 script imports ``pythoncom``, ``pywintypes`` and ``win32com`` from here instead
(``from openfax.faxcomex import pythoncom, pywintypes, win32com``) and runs as it is.

One generic adapter, :class:`ComObject`, does it all and adds no behaviour: a PascalCase name
is the client's snake_case one (``OutgoingQueue`` -> ``outgoing_queue``, the few irregular
names in ``IRREGULAR``); every client object a property or method gives back is wrapped in
turn, so objects the client gains later appear here with nothing to add; collections keep
their 1-based ``Item(index or key)`` (also as the default member, ``jobs(1)``) and ``Count``
and iterate (``For Each``, ``_NewEnum``); arrays come back as tuples, as win32com gives them.
Names are looked up when used, so the objects are typed ``Any`` at this boundary. The members
that cannot mean anything on Linux (``NOT_IMPLEMENTED``: TAPI call hand-off) are there and
raise ``E_NOTIMPL`` saying why.

Errors: every failure leaves as :class:`com_error`, whose ``hresult`` is the FAXCOMEX
HRESULT of a :class:`openfax.errors.FaxError` (``0x80041B61`` for a message not found), or
the Windows one of a Python error (a missing file ``0x80070002``, a wrong type
``DISP_E_TYPEMISMATCH``, a bad value ``E_INVALIDARG``, a wrong number of arguments
``DISP_E_BADPARAMCOUNT``); an unknown name is ``DISP_E_UNKNOWNNAME`` and, as in pywin32, also
an ``AttributeError`` (so ``hasattr`` and ``getattr(obj, name, default)`` work).

Events: ``WithEvents(server, SinkClass)`` makes a sink (``DispatchWithEvents`` a server that
is its own sink, as win32com's) whose ``IFaxServerNotify2`` methods
(``OnOutgoingJobChanged(server, job_id, job_status)`` ...) are called with the COM arguments;
``WithEvents(account, SinkClass)`` does the same for a ``FaxAccount``'s ``IFaxAccountNotify``.
As in a COM apartment, events wait until the script pumps them: ``PumpWaitingMessages()``
delivers those that arrived, on the calling thread.
"""

from __future__ import annotations

import errno
import inspect
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from openfax import client
from openfax.client.events import FaxJobStatus
from openfax.errors import E_ACCESSDENIED, E_FAIL, E_INVALIDARG, ERROR_FILE_NOT_FOUND, FaxError
from openfax.faxcomex import constants
from openfax.model.events import (
    IncomingJobChanged,
    OutgoingJobChanged,
    com_arguments,
    notification_of,
)

E_NOTIMPL = 0x80004001
DISP_E_UNKNOWNNAME = 0x80020006
DISP_E_MEMBERNOTFOUND = 0x80020003
DISP_E_TYPEMISMATCH = 0x80020005
DISP_E_BADPARAMCOUNT = 0x8002000E
CO_E_CLASSSTRING = 0x800401F3
ERROR_PATH_NOT_FOUND = 0x80070003
ERROR_TIMEOUT = 0x800705B4

IRREGULAR = {"ReAssign": "reassign", "WasReAssigned": "was_reassigned"}
"""COM names whose snake_case is not their words split at capitals (acronyms such as TSID,
CSID, DID, SMTP, API and EOF are one word by the rule already)."""
ACRONYMS = {"api", "csid", "did", "eof", "guid", "smtp", "tsid"}
"""Words written in capitals in COM names (for ``dir()`` of an object)."""

TAPI = (
    "OpenFax places its calls itself through its providers (SIP, modems, T.38): there is no "
    "TAPI on Linux to hand over"
)
NOT_IMPLEMENTED: dict[tuple[str, str], str] = {
    ("FaxDocument", "CallHandle"): f"a TAPI call handle (HCALL) to send on; {TAPI}",
    ("FaxDocument", "TapiConnection"): f"a TAPI 3 call object to send on; {TAPI}",
}
"""The members, by client class and COM name, that cannot mean anything on Linux: reading
or setting one raises ``com_error`` ``E_NOTIMPL`` with the reason."""

CLSIDS = {
    "{cda8acb0-8cf5-4f6c-9ba2-5931d40c8cae}": "FaxServer",
    "{0f3f9f91-c838-415e-a4f3-3e828ca445e0}": "FaxDocument",
}
PROGIDS = {
    **{
        f"faxcomex.{name.lower()}{version}": name
        for name in CLSIDS.values()
        for version in ("", ".1")
    },
    **CLSIDS,
}
"""The creatable classes (``CreateObject``/``Dispatch``), by lower-case ProgID (with or
without its version, ``FaxComEx.FaxServer.1``) or CLSID."""


class com_error(Exception):
    """A failed COM call, as ``pywintypes.com_error``: ``hresult``, ``strerror``,
    ``excepinfo`` (``(0, source, description, None, 0, scode)``) and ``argerror``. Unlike
    pywin32, ``hresult`` is the error's own HRESULT (not ``DISP_E_EXCEPTION``), written as
    FAXCOMEX documents it (``0x80041B61``); ``error`` is the exception behind it."""

    def __init__(self, hresult: int, message: str, error: BaseException | None = None) -> None:
        self.hresult = hresult
        self.strerror = message
        self.excepinfo = (0, "FaxComEx", message, None, 0, hresult)
        self.argerror = None
        self.error = error
        super().__init__(hresult, message, self.excepinfo, None)

    def __str__(self) -> str:
        return f"(0x{self.hresult:08X}) {self.strerror}"


class UnknownNameError(com_error, AttributeError):
    """A name the object does not have: ``DISP_E_UNKNOWNNAME``, and an ``AttributeError`` as
    pywin32 raises, so ``hasattr`` and ``getattr(obj, name, default)`` work."""

    def __init__(self, what: str, error: BaseException | None = None) -> None:
        com_error.__init__(self, DISP_E_UNKNOWNNAME, f"{what}: unknown name", error)


def snake_name(name: str) -> str:
    """A COM name's snake_case: ``OutgoingQueue`` -> ``outgoing_queue``, ``TSID`` -> ``tsid``,
    ``APIVersion`` -> ``api_version``."""
    if name in IRREGULAR:
        return IRREGULAR[name]
    words = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", words).lower()


def com_name(snake: str) -> str:
    """A snake_case name's COM name (``device_ids`` -> ``DeviceIds``, ``tsid`` -> ``TSID``)."""
    for pascal, irregular in IRREGULAR.items():
        if irregular == snake:
            return pascal
    return "".join(w.upper() if w in ACRONYMS else w.capitalize() for w in snake.split("_"))


_OS_ERRORS = {
    errno.ENOENT: ERROR_FILE_NOT_FOUND,
    errno.ENOTDIR: ERROR_PATH_NOT_FOUND,
    errno.EACCES: E_ACCESSDENIED,
    errno.EPERM: E_ACCESSDENIED,
    errno.ETIMEDOUT: ERROR_TIMEOUT,
}
"""The Windows HRESULT of an OSError by its errno (others are E_FAIL)."""


def hresult_of(error: BaseException) -> int:
    """The HRESULT a COM caller sees for ``error``: a FaxError's own, a file not found's
    ``0x80070002``, a TypeError's ``DISP_E_TYPEMISMATCH``, a ValueError's (or a bad index's)
    ``E_INVALIDARG``, ``E_FAIL`` for anything else."""
    if isinstance(error, FaxError):
        return error.hresult
    if isinstance(error, OSError):
        if isinstance(error, TimeoutError):
            return ERROR_TIMEOUT
        return _OS_ERRORS.get(error.errno or 0, E_FAIL)
    if isinstance(error, NotImplementedError):
        return E_NOTIMPL
    if isinstance(error, TypeError):
        return DISP_E_TYPEMISMATCH
    if isinstance(error, ValueError | KeyError | IndexError):
        return E_INVALIDARG
    return E_FAIL


def _translated(call: Callable[[], Any], what: str) -> Any:
    """Run ``call``; any failure leaves as com_error naming ``what``."""
    try:
        return call()
    except (StopIteration, com_error):
        raise
    except Exception as exc:
        raise _failure(exc, what) from exc


def _failure(error: Exception, what: str) -> com_error:
    """``error`` as the com_error a COM caller sees."""
    return com_error(hresult_of(error), f"{what}: {_described(error)}", error)


def _described(error: BaseException) -> str:
    if isinstance(error, FaxError):
        return f"{type(error).__name__}: {error}"
    if isinstance(error, KeyError | IndexError):
        return f"no item {error}"
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.strerror or type(error).__name__}: {error.filename}"
    return f"{type(error).__name__}: {error}"


def _is_client_object(value: object) -> bool:
    """Whether a COM caller sees ``value`` as an object: the client's, and the records of
    the wire it shows (a job's sender)."""
    module = type(value).__module__
    return module.startswith(("openfax.client", "openfax.model.records")) and not isinstance(
        value, BaseException
    )


def to_com(value: Any) -> Any:
    """A client value as a COM caller sees it: objects wrapped, lists as tuples."""
    if _is_client_object(value):
        return ComObject(value)
    if isinstance(value, list | tuple):
        return tuple(to_com(item) for item in value)
    return value


def from_com(value: Any) -> Any:
    """An argument from a COM caller as the client takes it: wrappers unwrapped."""
    if isinstance(value, ComObject):
        return value._target
    if isinstance(value, list | tuple):
        return type(value)(from_com(item) for item in value)
    return value


def _not_implemented(target: object, name: str) -> str | None:
    """Why ``name`` cannot work on ``target`` (a member listed in NOT_IMPLEMENTED), or None."""
    for cls in type(target).__mro__:
        reason = NOT_IMPLEMENTED.get((cls.__name__, name))
        if reason is not None:
            return reason
    return None


class ComObject:
    """A client object under its COM names: ``obj.DeviceName`` reads ``device_name``,
    ``obj.Save()`` calls ``save()``, ``obj.Description = x`` sets ``description``;
    ``obj(key)`` is ``obj.Item(key)`` (COM's default member)."""

    _target: Any

    def __init__(self, target: object) -> None:
        object.__setattr__(self, "_target", target)

    def __getattr__(self, name: str) -> Any:
        if not name[:1].isupper() and name != "_NewEnum":
            raise AttributeError(name)
        if name == "_NewEnum":
            return self.__iter__
        target = self._target
        what = f"{type(target).__name__}.{name}"
        reason = _not_implemented(target, name)
        if reason is not None:
            raise com_error(E_NOTIMPL, f"{what}: {reason}")
        try:
            value = getattr(target, snake_name(name))
        except AttributeError as exc:
            raise UnknownNameError(what, exc) from exc
        except Exception as exc:
            raise _failure(exc, what) from exc
        if inspect.ismethod(value):
            return _Method(value, what)
        return to_com(value)

    def __setattr__(self, name: str, value: Any) -> None:
        target = self._target
        snake = snake_name(name)
        what = f"{type(target).__name__}.{name}"
        reason = _not_implemented(target, name)
        if reason is not None:
            raise com_error(E_NOTIMPL, f"{what}: {reason}")
        found = inspect.getattr_static(target, snake, _ABSENT)
        if found is _ABSENT:
            raise UnknownNameError(what)
        if not _writable(target, snake):
            raise com_error(DISP_E_MEMBERNOTFOUND, f"{what}: read-only")
        _translated(lambda: setattr(target, snake, from_com(value)), what)

    def __call__(self, *args: Any) -> Any:
        """COM's default member: a collection's ``Item`` (``jobs(1)``, ``devices("name")``)."""
        if not hasattr(type(self._target), "item"):
            what = type(self._target).__name__
            raise com_error(DISP_E_MEMBERNOTFOUND, f"{what} has no default member (Item)")
        return self.__getattr__("Item")(*args)

    def __iter__(self) -> Iterator[Any]:
        """``For Each`` over a collection (COM ``_NewEnum``), each item wrapped."""
        what = type(self._target).__name__
        items = _translated(lambda: iter(self._target), what)
        while True:
            try:
                item = _translated(lambda: next(items), what)
            except StopIteration:
                return
            yield to_com(item)

    def __len__(self) -> int:
        return len(self._target)

    def __bool__(self) -> bool:
        """An object is true, even an empty collection (as pywin32's objects are)."""
        return True

    def __dir__(self) -> list[str]:
        names = [n for n in dir(self._target) if not n.startswith("_")]
        own = {member for cls, member in NOT_IMPLEMENTED if cls == type(self._target).__name__}
        return sorted({com_name(n) for n in names} | own)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ComObject) and other._target is self._target

    def __hash__(self) -> int:
        return id(self._target)

    def __repr__(self) -> str:
        return f"<COM {self._target!r}>"

    # --- events -----------------------------------------------------------------------------

    def _attach(self, sink: object) -> None:
        """Deliver this object's events (a FaxServer's or a FaxAccount's) to ``sink``'s
        methods when they are pumped."""
        sinks: list[object] | None = self.__dict__.get("_sinks")
        if sinks is None:
            sinks = []
            object.__setattr__(self, "_sinks", sinks)
            self._target.add_event_handler(lambda _, event: _post(self, event))
        sinks.append(sink)

    def _deliver(self, event: client.ServerEvent) -> None:
        """Call each sink's method named after ``event`` (a sink without one skips it)."""
        payload = event.payload
        if payload is None:
            _logger.warning("%s: an event this client cannot read, not delivered", event.name)
            return
        name = notification_of(payload)
        is_account = isinstance(self._target, client.FaxAccount)
        source: Any = self
        if is_account and name == "OnServerShutDown":
            source = ComObject(self._target._server)
        arguments = [_com(value) for value in com_arguments(payload, account=is_account)]
        for sink in self.__dict__.get("_sinks", ()):
            handler = getattr(sink, name, None)
            if handler is not None:
                handler(source, *arguments)


class _Method:
    """A client method called by its COM name: arguments unwrapped, the result wrapped,
    errors as com_error (a wrong number of arguments ``DISP_E_BADPARAMCOUNT``)."""

    def __init__(self, method: Callable[..., Any], what: str) -> None:
        self._method = method
        self._what = what

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        plain = [from_com(a) for a in args]
        named = {snake_name(k) if k[:1].isupper() else k: from_com(v) for k, v in kwargs.items()}
        try:
            inspect.signature(self._method).bind(*plain, **named)
        except TypeError as exc:
            raise com_error(DISP_E_BADPARAMCOUNT, f"{self._what}: {exc}", exc) from exc
        return to_com(_translated(lambda: self._method(*plain, **named), self._what))


def _writable(target: object, snake: str) -> bool:
    """Whether ``snake`` is a property the client lets a caller set."""
    found = inspect.getattr_static(type(target), snake, _ABSENT)
    if found is _ABSENT:
        return snake in getattr(target, "__dict__", {})
    if isinstance(found, property):
        return found.fset is not None
    if hasattr(type(found), "__get__"):
        return hasattr(type(found), "__set__")
    return True


_ABSENT = object()


class FaxServer(ComObject):
    """FAXCOMEX ``FaxServer`` (creatable): ``Connect("")`` reaches the local openfaxd."""

    def __init__(self) -> None:
        super().__init__(client.FaxServer())


class FaxDocument(ComObject):
    """FAXCOMEX ``FaxDocument`` (creatable): set ``Body``, ``Recipients.Add(...)``, then
    ``ConnectedSubmit(server)``."""

    def __init__(self) -> None:
        super().__init__(client.FaxDocument())


_PENDING: queue.SimpleQueue[tuple[ComObject, client.ServerEvent]] = queue.SimpleQueue()
"""Events received and not yet pumped, in the order they came."""
MAX_PENDING = 10_000
"""The most events kept for a script that does not pump them (as Windows caps a thread's
message queue at 10,000): later ones are dropped, with a warning, until it pumps again."""
_OVERFLOWING = threading.Event()
"""Set once events are being dropped (warned of once), cleared by the next pump."""
_logger = logging.getLogger(__name__)


def _post(source: ComObject, event: client.ServerEvent) -> None:
    """Keep ``event`` for the next pump (on the client's listener thread)."""
    if _PENDING.qsize() < MAX_PENDING:
        _PENDING.put((source, event))
    elif not _OVERFLOWING.is_set():
        _OVERFLOWING.set()
        _logger.warning(
            "%d events wait for PumpWaitingMessages: %s and those after it are dropped",
            MAX_PENDING,
            event.name,
        )


def _com(argument: Any) -> Any:
    """An event's argument as a sink gets it: a job status record as ``FaxJobStatus``."""
    if isinstance(argument, IncomingJobChanged | OutgoingJobChanged):
        return ComObject(FaxJobStatus.of(argument))
    return argument


def _class_of(prog_id: str) -> str:
    """The creatable class a ProgID or CLSID names; CO_E_CLASSSTRING for any other."""
    name = PROGIDS.get(str(prog_id).strip().lower())
    if name is None:
        raise com_error(CO_E_CLASSSTRING, f"Invalid class string: {prog_id!r}")
    return name


def Dispatch(prog_id: str, *_: Any, **__: Any) -> Any:
    """``CreateObject``: ``"FaxComEx.FaxServer"`` or ``"FaxComEx.FaxDocument"`` (with or
    without the version ``.1``, or their CLSIDs); win32com's further arguments are ignored."""
    return FaxServer() if _class_of(prog_id) == "FaxServer" else FaxDocument()


def WithEvents(source: Any, sink_class: type[Any]) -> Any:
    """A new ``sink_class()`` whose methods receive ``source``'s events, each when
    ``PumpWaitingMessages`` runs: a FaxServer's (``IFaxServerNotify2``, after
    ``ListenToServerEvents``) or a FaxAccount's (``IFaxAccountNotify``, after
    ``ListenToAccountEvents``)."""
    if not isinstance(source, ComObject) or not hasattr(source._target, "add_event_handler"):
        raise com_error(E_INVALIDARG, f"events come from a FaxServer or FaxAccount: {source!r}")
    sink = sink_class()
    source._attach(sink)
    return sink


def DispatchWithEvents(prog_id: str, sink_class: type[Any]) -> Any:
    """win32com's ``DispatchWithEvents``: a FaxServer that is its own sink, an instance of a
    class made from ``FaxServer`` and ``sink_class`` (whose ``__init__`` runs), so that its
    handlers' ``self`` is the server; attributes that are not COM properties are kept on it."""
    if _class_of(prog_id) != "FaxServer":
        raise com_error(CO_E_CLASSSTRING, f"no events from {prog_id!r}: only from a FaxServer")
    combined: type[FaxServer] = type(sink_class.__name__, (_ServerWithEvents, sink_class), {})
    server = combined.__new__(combined)
    FaxServer.__init__(server)
    if "__init__" in vars(sink_class):
        sink_class.__init__(server)
    server._attach(server)
    return server


class _ServerWithEvents(FaxServer):
    """The FaxServer part of ``DispatchWithEvents``' objects."""

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            super().__setattr__(name, value)
        except UnknownNameError:
            object.__setattr__(self, name, value)


def PumpWaitingMessages(timeout: float = 0.0) -> int:
    """Deliver the events that arrived to their sinks, on this thread, in order, waiting up
    to ``timeout`` seconds for the first; how many were delivered."""
    delivered = 0
    deadline = time.monotonic() + timeout
    _OVERFLOWING.clear()
    while True:
        wait = deadline - time.monotonic() if delivered == 0 else 0.0
        try:
            source, event = _PENDING.get(timeout=wait) if wait > 0 else _PENDING.get_nowait()
        except queue.Empty:
            return delivered
        source._deliver(event)
        delivered += 1


__all__ = [
    "ComObject",
    "Dispatch",
    "DispatchWithEvents",
    "FaxDocument",
    "FaxServer",
    "PumpWaitingMessages",
    "WithEvents",
    "com_error",
    "constants",
]
