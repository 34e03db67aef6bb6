"""Every FAXCOMEX enumeration with its exact numeric value.

A member's name is the FAXCOMEX name without its lower-case prefix (``fjsRETRIES_EXCEEDED`` is
``JobStatus.RETRIES_EXCEEDED``), so numbers in logs, databases and on the wire match the Windows
documentation, and a COM-named facade can map names mechanically. Bit masks are ``IntFlag``.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag, StrEnum

DEFAULT_PREFETCH_SIZE = 100
"""``lDEFAULT_PREFETCH_SIZE``: messages an archive iterator reads ahead by default."""

MAX_PAGE_SIZE = 1000
"""The most items one page of a listing holds on the wire (the API refuses a larger limit)."""

GROUP_NAME_ALL_DEVICES = "<All Devices>"
"""``bstrGROUPNAME_ALLDEVICES``: the outbound routing group that holds every device."""


class ServerEvents(IntFlag):
    """FAX_SERVER_EVENTS_TYPE_ENUM: the kinds of server events a client subscribes to."""

    NONE = 0x000
    IN_QUEUE = 0x001
    OUT_QUEUE = 0x002
    CONFIG = 0x004
    ACTIVITY = 0x008
    QUEUE_STATE = 0x010
    IN_ARCHIVE = 0x020
    OUT_ARCHIVE = 0x040
    FXSSVC_ENDED = 0x080
    DEVICE_STATUS = 0x100
    INCOMING_CALL = 0x200


class AccountEvents(IntFlag):
    """FAX_ACCOUNT_EVENTS_TYPE_ENUM: the server events scoped to one account."""

    NONE = 0x00
    IN_QUEUE = 0x01
    OUT_QUEUE = 0x02
    IN_ARCHIVE = 0x04
    OUT_ARCHIVE = 0x08
    FXSSVC_ENDED = 0x10


class JobStatus(IntFlag):
    """FAX_JOB_STATUS_ENUM: one base state, optionally OR-ed with the PAUSED or NOLINE modifier."""

    PENDING = 0x001
    INPROGRESS = 0x002
    FAILED = 0x008
    PAUSED = 0x010
    NOLINE = 0x020
    RETRYING = 0x040
    RETRIES_EXCEEDED = 0x080
    COMPLETED = 0x100
    CANCELED = 0x200
    CANCELING = 0x400
    ROUTING = 0x800

    @property
    def names(self) -> str:
        """``"PENDING|PAUSED"``: the FAXCOMEX names of the status's bits, as shown to people."""
        return "|".join(flag.name or "" for flag in self)


class ExtendedStatus(IntEnum):
    """FAX_JOB_EXTENDED_STATUS_ENUM: provider-level detail of a job's status.

    Providers may report codes outside this list; those travel as plain ints with a text.
    """

    NONE = 0
    DISCONNECTED = 1
    INITIALIZING = 2
    DIALING = 3
    TRANSMITTING = 4
    ANSWERED = 5
    RECEIVING = 6
    LINE_UNAVAILABLE = 7
    BUSY = 8
    NO_ANSWER = 9
    BAD_ADDRESS = 10
    NO_DIAL_TONE = 11
    FATAL_ERROR = 12
    CALL_DELAYED = 13
    CALL_BLACKLISTED = 14
    NOT_FAX_CALL = 15
    PARTIALLY_RECEIVED = 16
    HANDLED = 17
    CALL_COMPLETED = 18
    CALL_ABORTED = 19
    PROPRIETARY = 0x01000000


class JobOperations(IntFlag):
    """FAX_JOB_OPERATIONS_ENUM: the operations legal on a job now (access rights not included)."""

    VIEW = 0x01
    PAUSE = 0x02
    RESUME = 0x04
    RESTART = 0x08
    DELETE = 0x10
    RECIPIENT_INFO = 0x20
    SENDER_INFO = 0x40


class JobType(IntEnum):
    """FAX_JOB_TYPE_ENUM: sending, receiving on a line, or routing a received fax."""

    SEND = 0
    RECEIVE = 1
    ROUTING = 2


class Priority(IntEnum):
    """FAX_PRIORITY_TYPE_ENUM: higher priorities are always dequeued first."""

    LOW = 0
    NORMAL = 1
    HIGH = 2


class ScheduleType(IntEnum):
    """FAX_SCHEDULE_TYPE_ENUM: when a job may be sent."""

    NOW = 0
    SPECIFIC_TIME = 1
    DISCOUNT_PERIOD = 2


class ReceiptType(IntFlag):
    """FAX_RECEIPT_TYPE_ENUM: how the sender is told the outcome."""

    NONE = 0x0
    MAIL = 0x1
    MSGBOX = 0x4


class CoverPageType(IntEnum):
    """FAX_COVERPAGE_TYPE_ENUM: no cover page, the sender's own, or one of the server's."""

    NONE = 0
    LOCAL = 1
    SERVER = 2


class AccessRights(IntFlag):
    """FAX_ACCESS_RIGHTS_ENUM: the XP/2003 rights model."""

    SUBMIT_LOW = 0x001
    SUBMIT_NORMAL = 0x002
    SUBMIT_HIGH = 0x004
    QUERY_JOBS = 0x008
    MANAGE_JOBS = 0x010
    QUERY_CONFIG = 0x020
    MANAGE_CONFIG = 0x040
    QUERY_IN_ARCHIVE = 0x080
    MANAGE_IN_ARCHIVE = 0x100
    QUERY_OUT_ARCHIVE = 0x200
    MANAGE_OUT_ARCHIVE = 0x400


class AccessRights2(IntFlag):
    """FAX_ACCESS_RIGHTS_ENUM_2: the Vista account rights model."""

    SUBMIT_LOW = 0x001
    SUBMIT_NORMAL = 0x002
    SUBMIT_HIGH = 0x004
    QUERY_OUT_JOBS = 0x008
    MANAGE_OUT_JOBS = 0x010
    QUERY_CONFIG = 0x020
    MANAGE_CONFIG = 0x040
    QUERY_ARCHIVES = 0x080
    MANAGE_ARCHIVES = 0x100
    MANAGE_RECEIVE_FOLDER = 0x200


class ReceiveMode(IntEnum):
    """FAX_DEVICE_RECEIVE_MODE_ENUM: whether and how a device answers calls."""

    NO_ANSWER = 0
    AUTO_ANSWER = 1
    MANUAL_ANSWER = 2


class ProviderStatus(IntEnum):
    """FAX_PROVIDER_STATUS_ENUM: the load outcome of a device provider or routing extension."""

    SUCCESS = 0
    SERVER_ERROR = 1
    BAD_GUID = 2
    BAD_VERSION = 3
    CANT_LOAD = 4
    CANT_LINK = 5
    CANT_INIT = 6


class RoutingRuleCode(IntEnum):
    """FAX_ROUTING_RULE_CODE_ENUM: the wildcard country or area code of an outbound rule."""

    ANY_CODE = 0


class RuleStatus(IntEnum):
    """FAX_RULE_STATUS_ENUM: whether an outbound routing rule can be used."""

    VALID = 0
    EMPTY_GROUP = 1
    ALL_GROUP_DEV_NOT_VALID = 2
    SOME_GROUP_DEV_NOT_VALID = 3
    BAD_DEVICE = 4


class GroupStatus(IntEnum):
    """FAX_GROUP_STATUS_ENUM: whether the devices of an outbound routing group are usable."""

    ALL_DEV_VALID = 0
    EMPTY = 1
    ALL_DEV_NOT_VALID = 2
    SOME_DEV_NOT_VALID = 3


class SmtpAuthenticationType(IntEnum):
    """FAX_SMTP_AUTHENTICATION_TYPE_ENUM: how receipts log in to the mail server."""

    ANONYMOUS = 0
    BASIC = 1
    NTLM = 2


class LogLevel(IntEnum):
    """FAX_LOG_LEVEL_ENUM: how much the event log records."""

    NONE = 0
    MIN = 1
    MED = 2
    MAX = 3


class ServerApiVersion(IntEnum):
    """FAX_SERVER_APIVERSION_ENUM: the API level a server reports."""

    API_VERSION_0 = 0x00000
    API_VERSION_1 = 0x10000
    API_VERSION_2 = 0x20000
    API_VERSION_3 = 0x30000


class Direction(StrEnum):
    """Which way a fax went, and so which archive it is in."""

    IN = "in"
    OUT = "out"


class DeliveryStatus(StrEnum):
    """Where one piece of work that is retried stands: a routing method's delivery of a
    received fax, a receipt's e-mail."""

    PENDING = "pending"
    """Not yet run, or failed and waiting for its next attempt."""
    DONE = "done"
    FAILED = "failed"
    """Failed for good (no retry left, or a failure a retry cannot mend)."""
