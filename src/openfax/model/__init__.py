"""The vocabulary shared by the service and the client: FAXCOMEX enumerations and fax ids.

It holds no behaviour beyond formatting and parsing, so either side can import it.
"""

from openfax.model.enums import (
    DEFAULT_PREFETCH_SIZE,
    GROUP_NAME_ALL_DEVICES,
    AccessRights,
    AccessRights2,
    AccountEvents,
    CoverPageType,
    ExtendedStatus,
    GroupStatus,
    JobOperations,
    JobStatus,
    JobType,
    LogLevel,
    Priority,
    ProviderStatus,
    ReceiptType,
    ReceiveMode,
    RoutingRuleCode,
    RuleStatus,
    ScheduleType,
    ServerApiVersion,
    ServerEvents,
    SmtpAuthenticationType,
)
from openfax.model.ids import MAX_ID, format_id, new_id, parse_id

__all__ = [
    "DEFAULT_PREFETCH_SIZE",
    "GROUP_NAME_ALL_DEVICES",
    "MAX_ID",
    "AccessRights",
    "AccessRights2",
    "AccountEvents",
    "CoverPageType",
    "ExtendedStatus",
    "GroupStatus",
    "JobOperations",
    "JobStatus",
    "JobType",
    "LogLevel",
    "Priority",
    "ProviderStatus",
    "ReceiptType",
    "ReceiveMode",
    "RoutingRuleCode",
    "RuleStatus",
    "ScheduleType",
    "ServerApiVersion",
    "ServerEvents",
    "SmtpAuthenticationType",
    "format_id",
    "new_id",
    "parse_id",
]
