"""The CUPS backend's reading of what CUPS hands it: options, device URI, the number, and
whom a job is faxed as (the end-to-end run with cupsd is tests/integration/gateways)."""

from __future__ import annotations

import io
import os
import pwd
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from openfax.gateways.cups import ipp
from openfax.gateways.cups.backend import (
    SYSTEM_SOCKET,
    BackendStatus,
    PrintJob,
    PrintJobError,
    parse_options,
    printing_user,
    run,
    socket_of,
)
from openfax.gateways.cups.install import CupsSetupError, check_trusted, device_uri
from openfax.gateways.cups.ipp import encode_attribute

ROOT_USER = pwd.getpwuid(0).pw_name
AUTHENTICATED = {"AUTH_USERNAME": ROOT_USER, "AUTH_UID": "0", "AUTH_INFO_REQUIRED": "none"}


def job(options: str = "phone=1002", user: str = ROOT_USER, **environ: str) -> PrintJob:
    argv = ["openfax", "7", user, "Letter", "1", options, "/nonexistent"]
    return PrintJob.from_cups(argv, {"DEVICE_URI": "openfax:/run/x.sock", **environ})


def test_options_are_read_as_cups_writes_them() -> None:
    text = "phone=1002 job-uuid=urn:uuid:1 fax-number='+1 555 0100' landscape noduplex"
    options = parse_options(text)
    assert options["phone"] == "1002"
    assert options["fax-number"] == "+1 555 0100"
    assert options["landscape"] == "true"
    with pytest.raises(PrintJobError, match="cannot be read"):
        parse_options("phone='1002")


def test_the_number_is_the_phone_option_else_fax_number_else_faxout_destinations() -> None:
    def destinations(found: list[str]) -> Callable[[Mapping[str, str], int], list[str]]:
        return lambda environ, job_id: found

    asked = destinations(["1003", "+1 555 0100"])
    assert job("phone=1002 fax-number=1003").numbers(asked) == ["1002"]
    assert job("fax-number=1003").numbers(asked) == ["1003"]
    assert job("copies=1").numbers(asked) == ["1003", "+1 555 0100"]
    with pytest.raises(PrintJobError, match="no fax number: print with") as refused:
        job("copies=1 phone=").numbers(destinations([]))
    assert refused.value.status is BackendStatus.CANCEL


def test_device_uris_name_a_local_socket() -> None:
    assert socket_of("openfax:/run/fax/openfaxd.sock") == Path("/run/fax/openfaxd.sock")
    assert socket_of("openfax:///tmp/a%20b.sock") == Path("/tmp/a b.sock")
    assert socket_of("openfax://localhost") == SYSTEM_SOCKET
    assert socket_of(device_uri(Path("/tmp/a b.sock"))) == Path("/tmp/a b.sock")
    for uri in ("openfax://fax.example.com/x.sock", "ipp://localhost/x", "openfax:"):
        with pytest.raises(PrintJobError) as refused:
            socket_of(uri)
        assert refused.value.status is BackendStatus.STOP


def test_a_job_is_faxed_as_the_user_cups_authenticated_only() -> None:
    assert printing_user(job(**AUTHENTICATED)).pw_uid == 0
    unauthenticated = job()  # what a queue without an authenticating policy hands over
    named_by_client = job(**{**AUTHENTICATED, "AUTH_INFO_REQUIRED": "username,password"})
    other_uid = job(**{**AUTHENTICATED, "AUTH_UID": "65534"})
    for refused in (unauthenticated, named_by_client, other_uid):
        with pytest.raises(PrintJobError) as error:
            printing_user(refused)
        assert error.value.status is BackendStatus.CANCEL
    stranger = job(user="no-such-user-here", AUTH_USERNAME="no-such-user-here")
    with pytest.raises(PrintJobError, match="not a user of this machine"):
        printing_user(stranger)


def test_cups_hears_errors_in_its_protocol_and_the_exit_status() -> None:
    out = io.StringIO()
    argv = ["openfax", "7", ROOT_USER, "Letter", "1", "phone=1002", "/nonexistent"]
    assert run(argv, {"DEVICE_URI": "openfax://fax.example.com"}, out) is BackendStatus.STOP
    assert out.getvalue().startswith("ERROR: openfax://fax.example.com: the openfax backend")
    assert run(["openfax", "1"], {}, out) is BackendStatus.FAILED  # not as CUPS runs it


def test_python_that_others_may_change_is_not_run_as_root(tmp_path: Path) -> None:
    script = tmp_path / "module.py"
    script.write_text("")
    script.chmod(0o666)
    if os.geteuid() == 0:
        with pytest.raises(CupsSetupError, match="writable by others"):
            check_trusted([script])
        script.chmod(0o644)
        check_trusted([script])  # root's, and below folders only root may change
    else:
        with pytest.raises(CupsSetupError, match=f"uid {os.geteuid()}'s"):
            check_trusted([script])


def test_faxout_destinations_are_read_from_cupsds_answer() -> None:
    def value(tag: int, data: str, name: str = "") -> bytes:
        return encode_attribute(tag, name, data.encode())

    def destination(uri: str, name: str = "") -> bytes:
        return (
            value(ipp.BEGIN_COLLECTION, "", name)
            + value(ipp.MEMBER_NAME, "destination-uri")
            + value(ipp.URI, uri)
            + value(ipp.MEMBER_NAME, "print-quality")
            + encode_attribute(0x23, "", (5).to_bytes(4, "big"))
            + value(ipp.END_COLLECTION, "")
        )

    answer = (
        b"\x02\x00\x00\x00\x00\x00\x00\x01\x01"
        + value(ipp.CHARSET, "utf-8", "attributes-charset")
        + b"\x02"  # the job's group
        + destination("tel:+1-405-555-1212;phone-context=example.com", "destination-uris")
        + destination("ipp://11.22.33.44/ipp/print")
        + b"\x03"
    )
    status, attributes = ipp.parse_answer(answer)
    assert status == 0
    assert attributes["destination-uris"] == [
        {"destination-uri": "tel:+1-405-555-1212;phone-context=example.com", "print-quality": 5},
        {"destination-uri": "ipp://11.22.33.44/ipp/print", "print-quality": 5},
    ]
    for broken in (answer[:-9], answer[:5], answer.replace(b"\x4a", b"\x45", 1)):
        with pytest.raises(ipp.IppError):
            ipp.parse_answer(broken)
