"""The CUPS backend's reading of what CUPS hands it: options, device URI, the number, and
whom a job is faxed as (the end-to-end run with cupsd is tests/integration/gateways)."""

from __future__ import annotations

import io
import os
import pwd
from pathlib import Path

import pytest

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


def test_the_number_is_the_phone_option_else_fax_number() -> None:
    assert job("phone=1002 fax-number=1003").number == "1002"
    assert job("fax-number=1003").number == "1003"
    with pytest.raises(PrintJobError, match="no fax number: print with") as refused:
        job("copies=1 phone=").number  # noqa: B018
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
    argv = ["openfax", "7", ROOT_USER, "Letter", "1", "copies=1", "/nonexistent"]
    assert run(argv, {"DEVICE_URI": "openfax:/run/x.sock"}, out) is BackendStatus.CANCEL
    assert out.getvalue().startswith("ERROR: no fax number")
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
