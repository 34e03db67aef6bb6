"""Every FAXCOMEX enumeration constant under its COM name, as ``win32com.client.constants``
gives them once the type library is loaded: ``constants.fptHIGH``, ``constants.frtMAIL``,
``constants.fjsINPROGRESS``, ``constants.far2SUBMIT_LOW``, and the two module constants
``lDEFAULT_PREFETCH_SIZE`` and ``bstrGROUPNAME_ALLDEVICES``.

The values are the members of :mod:`openfax.model`'s enums (ints with the Windows values,
which combine with ``|`` as the masks do), named with each enumeration's COM prefix, so no
number is written twice.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

from openfax.model import DEFAULT_PREFETCH_SIZE, GROUP_NAME_ALL_DEVICES, enums

ENUMERATIONS: dict[str, tuple[str, type[IntEnum] | type[IntFlag]]] = {
    "FAX_ACCESS_RIGHTS_ENUM": ("far", enums.AccessRights),
    "FAX_ACCESS_RIGHTS_ENUM_2": ("far2", enums.AccessRights2),
    "FAX_ACCOUNT_EVENTS_TYPE_ENUM": ("faet", enums.AccountEvents),
    "FAX_COVERPAGE_TYPE_ENUM": ("fcpt", enums.CoverPageType),
    "FAX_DEVICE_RECEIVE_MODE_ENUM": ("fdrm", enums.ReceiveMode),
    "FAX_GROUP_STATUS_ENUM": ("fgs", enums.GroupStatus),
    "FAX_JOB_EXTENDED_STATUS_ENUM": ("fjes", enums.ExtendedStatus),
    "FAX_JOB_OPERATIONS_ENUM": ("fjo", enums.JobOperations),
    "FAX_JOB_STATUS_ENUM": ("fjs", enums.JobStatus),
    "FAX_JOB_TYPE_ENUM": ("fjt", enums.JobType),
    "FAX_LOG_LEVEL_ENUM": ("fll", enums.LogLevel),
    "FAX_PRIORITY_TYPE_ENUM": ("fpt", enums.Priority),
    "FAX_PROVIDER_STATUS_ENUM": ("fps", enums.ProviderStatus),
    "FAX_RECEIPT_TYPE_ENUM": ("frt", enums.ReceiptType),
    "FAX_ROUTING_RULE_CODE_ENUM": ("frrc", enums.RoutingRuleCode),
    "FAX_RULE_STATUS_ENUM": ("frs", enums.RuleStatus),
    "FAX_SCHEDULE_TYPE_ENUM": ("fst", enums.ScheduleType),
    "FAX_SERVER_APIVERSION_ENUM": ("fs", enums.ServerApiVersion),
    "FAX_SERVER_EVENTS_TYPE_ENUM": ("fset", enums.ServerEvents),
    "FAX_SMTP_AUTHENTICATION_TYPE_ENUM": ("fsat", enums.SmtpAuthenticationType),
}
"""The twenty FAXCOMEX enumerations: each one's COM prefix and the model's enum."""

VALUES: dict[str, int | str] = {
    prefix + name: member
    for prefix, enum in ENUMERATIONS.values()
    for name, member in enum.__members__.items()
}
VALUES["lDEFAULT_PREFETCH_SIZE"] = DEFAULT_PREFETCH_SIZE
VALUES["bstrGROUPNAME_ALLDEVICES"] = GROUP_NAME_ALL_DEVICES


def __getattr__(name: str) -> int | str:
    """``constants.fptHIGH``: the constant of that COM name; AttributeError for any other,
    as ``win32com.client.constants`` raises."""
    try:
        return VALUES[name]
    except KeyError:
        raise AttributeError(name) from None


def __dir__() -> list[str]:
    return sorted(VALUES)
