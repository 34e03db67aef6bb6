"""``openfax tls self-signed`` as a user runs it: the files it writes, their modes, and what
it refuses. (A daemon serving with its output: tests/integration/hostile/test_tls.py.)"""

from __future__ import annotations

import json
import socket
from pathlib import Path

from cryptography import x509

from tests.integration.cli.test_cli import openfax


def names_of(certificate: Path) -> list[str]:
    made = x509.load_pem_x509_certificate(certificate.read_bytes())
    alternative = made.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(name.value) for name in alternative]


def test_it_writes_a_private_key_and_a_certificate_for_this_machine(tmp_path: Path) -> None:
    done = openfax("tls", "self-signed", "--folder", tmp_path)
    assert done.returncode == 0, done.stderr
    certificate, key = tmp_path / "openfax.crt", tmp_path / "openfax.key"
    assert f'tls_certificate = "{certificate}"' in done.stdout
    assert f'tls_key = "{key}"' in done.stdout
    assert f"OPENFAX_CA_FILE={certificate}" in done.stdout
    assert key.stat().st_mode & 0o777 == 0o600
    assert names_of(certificate) == ["localhost", "127.0.0.1", socket.gethostname()]


def test_existing_files_are_kept_unless_forced(tmp_path: Path) -> None:
    key = tmp_path / "openfax.key"
    key.write_text("an older key\n")
    key.chmod(0o644)
    kept = openfax("tls", "self-signed", "--folder", tmp_path)
    assert kept.returncode == 1
    assert f"{key} exists (--force replaces it)" in kept.stderr
    assert key.read_text() == "an older key\n"
    assert not (tmp_path / "openfax.crt").exists()
    forced = openfax("tls", "self-signed", "--folder", tmp_path, "--force", "--name", "fax.lan")
    assert forced.returncode == 0, forced.stderr
    assert key.stat().st_mode & 0o777 == 0o600
    assert "PRIVATE KEY" in key.read_text()
    assert names_of(tmp_path / "openfax.crt") == ["fax.lan"]


def test_a_name_that_is_no_host_is_refused(tmp_path: Path) -> None:
    done = openfax("tls", "self-signed", "--folder", tmp_path, "--name", "fax server")
    assert done.returncode == 2
    assert "'fax server' is neither an IP address nor a host name" in done.stderr
    assert not list(tmp_path.iterdir())


def test_json_names_the_files_written(tmp_path: Path) -> None:
    done = openfax("tls", "self-signed", "--folder", tmp_path, "--name", "fax.lan", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "certificate": str(tmp_path / "openfax.crt"),
        "key": str(tmp_path / "openfax.key"),
        "names": ["fax.lan"],
    }
