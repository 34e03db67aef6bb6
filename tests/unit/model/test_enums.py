"""FAXCOMEX enumerations keep their exact numbers (spot checks against the reference)."""

from __future__ import annotations

import pytest

from openfax.model import enums
from openfax.model.enums import (
    AccessRights,
    AccessRights2,
    CoverPageType,
    ExtendedStatus,
    JobOperations,
    JobStatus,
    Priority,
    ReceiptType,
    ReceiveMode,
    ScheduleType,
    ServerApiVersion,
    ServerEvents,
)


@pytest.mark.parametrize(
    ("member", "value"),
    [
        (ServerEvents.OUT_QUEUE, 0x002),
        (ServerEvents.INCOMING_CALL, 0x200),
        (JobStatus.PENDING, 0x001),
        (JobStatus.PAUSED, 0x010),
        (JobStatus.RETRIES_EXCEEDED, 0x080),
        (JobStatus.ROUTING, 0x800),
        (ExtendedStatus.BUSY, 8),
        (ExtendedStatus.PARTIALLY_RECEIVED, 16),
        (ExtendedStatus.CALL_ABORTED, 19),
        (ExtendedStatus.PROPRIETARY, 0x01000000),
        (JobOperations.PAUSE, 0x02),
        (JobOperations.SENDER_INFO, 0x40),
        (Priority.HIGH, 2),
        (ScheduleType.DISCOUNT_PERIOD, 2),
        (ReceiptType.MSGBOX, 0x4),
        (CoverPageType.SERVER, 2),
        (AccessRights.MANAGE_OUT_ARCHIVE, 0x400),
        (AccessRights2.MANAGE_RECEIVE_FOLDER, 0x200),
        (ReceiveMode.MANUAL_ANSWER, 2),
        (ServerApiVersion.API_VERSION_3, 0x30000),
    ],
)
def test_members_have_the_faxcomex_values(member: int, value: int) -> None:
    assert member == value


def test_job_status_modifiers_combine_with_a_base_state() -> None:
    paused = JobStatus(0x011)
    assert paused == JobStatus.PENDING | JobStatus.PAUSED
    assert JobStatus.PAUSED in paused
    assert JobStatus.RETRYING not in paused
    assert paused & ~JobStatus.PAUSED is JobStatus.PENDING


def test_no_enum_has_two_members_with_one_value() -> None:
    for name in enums.__dict__:
        enum = getattr(enums, name)
        if isinstance(enum, type) and issubclass(enum, int) and enum is not int:
            assert len(enum.__members__) == len({int(m) for m in enum.__members__.values()}), name
