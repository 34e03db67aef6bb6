"""Extension properties: blobs named by a GUID, server-wide (device 0) and per device, kept
across restarts; their owner is asked to check them, told when they change and told again
at start (the loopback provider's line faults are one)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openfax.errors import ConfigError, MessageNotFoundError
from openfax.model import ExtendedStatus, JobStatus
from openfax.providers import LineFaults
from openfax.providers.loopback import LOOPBACK_GUID
from openfax.service import FaxService, ManualClock
from openfax.store import queries as q

from .conftest import MakeConfig, job_reaches, request

pytestmark = pytest.mark.anyio

GUID = "{0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0}"


async def test_each_slot_keeps_its_bytes_across_a_restart(
    tmp_path: Path, clock: ManualClock, make_config: MakeConfig
) -> None:
    config = make_config(tmp_path / "data")
    async with FaxService(config, clock=clock) as service:
        device = (await service.devices.get_devices())[0].id
        assert await service.extension_properties.get(GUID) == b"", "never set: empty"
        await service.extension_properties.set(GUID, b"\x00server\xff", actor="admin")
        await service.extension_properties.set(GUID.strip("{}").upper(), b"line", device, "admin")
    async with FaxService(config, clock=clock) as service:
        assert await service.extension_properties.get(GUID) == b"\x00server\xff"
        assert await service.extension_properties.get(GUID, device) == b"line"
        trail = [(e.actor, e.object_id, e.details) for e in await service.options.get_audit()]
        assert trail == [
            ("admin", GUID, {"device_id": 0, "size": 8}),
            ("admin", GUID, {"device_id": device, "size": 4}),
        ], "that it changed, never the data"
        async with service.ctx.db.read() as conn:
            events = await q.read_events(conn, after=0)
        changes = [e.payload for e in events if "extension_property" in e.payload]
        assert changes == [
            {"extension_property": GUID},
            {"extension_property": GUID, "device_id": device},
        ]


async def test_a_bad_guid_device_or_size_is_refused(service: FaxService) -> None:
    with pytest.raises(ConfigError, match="not a GUID"):
        await service.extension_properties.set("printer settings", b"x")
    with pytest.raises(MessageNotFoundError):
        await service.extension_properties.set(GUID, b"x", 999)
    with pytest.raises(ConfigError, match="at most"):
        await service.extension_properties.set(GUID, bytes(2 << 20))
    assert await service.extension_properties.get(GUID) == b""


async def test_the_loopback_provider_is_told_its_faults(
    service: FaxService, two_pages: Path
) -> None:
    faults = {"1003": {"no_answer": True}, "1002": {"refuse_resolutions": ["superfine"]}}
    await service.extension_properties.set(LOOPBACK_GUID, json.dumps(faults).encode())
    assert service.providers.loopback.line("1003").faults == LineFaults(no_answer=True)
    await service.options.save_configuration({"retries": 0})
    (job_id,) = await service.outgoing_queue.submit(request(two_pages, "1003"))
    job = await job_reaches(service, job_id, JobStatus.RETRIES_EXCEEDED)
    assert job.extended_status == ExtendedStatus.NO_ANSWER
    await service.extension_properties.set(LOOPBACK_GUID, b"{}")
    assert service.providers.loopback.line("1003").faults == LineFaults()


@pytest.mark.parametrize(
    ("data", "device", "named"),
    [
        (b"not json", 0, "(data)"),
        (b'{"9999": {"busy": true}}', 0, "9999"),
        (b'{"1002": {"busy": "yes"}}', 0, "1002.busy"),
        (b'{"1002": {"colour": true}}', 0, "1002"),
        (b"{}", 1, "device_id"),
    ],
)
async def test_the_owner_refuses_data_it_cannot_use(
    service: FaxService, data: bytes, device: int, named: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        await service.extension_properties.set(LOOPBACK_GUID, data, device)
    assert raised.value.key == named
    assert await service.extension_properties.get(LOOPBACK_GUID) == b"", "nothing kept"


async def test_kept_faults_are_told_to_the_provider_at_start(
    tmp_path: Path, clock: ManualClock, make_config: MakeConfig
) -> None:
    config = make_config(tmp_path / "data")
    async with FaxService(config, clock=clock) as service:
        await service.extension_properties.set(LOOPBACK_GUID, b'{"1001": {"busy": true}}')
    async with FaxService(config, clock=clock) as service:
        assert service.providers.loopback.line("1001").faults == LineFaults(busy=True)
