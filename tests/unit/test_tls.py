"""The API listener's TLS context from its files, and the self-signed certificate of a quick
start, checked with real handshakes in memory (no socket)."""

from __future__ import annotations

import logging
import socket
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from openfax.errors import ConfigError
from openfax.tls import self_signed, server_context


def files(folder: Path, certificate: bytes, key: bytes) -> tuple[Path, Path]:
    (folder / "api.crt").write_bytes(certificate)
    (folder / "api.key").write_bytes(key)
    return folder / "api.crt", folder / "api.key"


def handshake(server: ssl.SSLContext, client: ssl.SSLContext, name: str) -> None:
    """A TLS handshake between the two contexts through memory buffers; the client checks
    the certificate for ``name``. Raises what the client's verification raises."""
    client_in, client_out, server_in, server_out = (ssl.MemoryBIO() for _ in range(4))
    near = client.wrap_bio(client_in, client_out, server_hostname=name)
    far = server.wrap_bio(server_in, server_out, server_side=True)
    done = {near: False, far: False}
    for _ in range(10):
        for end in (near, far):
            if not done[end]:
                try:
                    end.do_handshake()
                    done[end] = True
                except ssl.SSLWantReadError:
                    pass
        server_in.write(client_out.read())
        client_in.write(server_out.read())
        if all(done.values()):
            return
    raise AssertionError("the handshake did not finish")


def test_a_self_signed_certificate_is_trusted_for_its_names_only(tmp_path: Path) -> None:
    host = socket.gethostname()
    certificate, key = files(tmp_path, *self_signed(["localhost", "127.0.0.1", host]))
    server = server_context("openfaxd.toml", certificate, key)
    client = ssl.create_default_context(cafile=certificate)
    for name in ("localhost", "127.0.0.1", host):
        handshake(server, client, name)
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        handshake(server, client, "fax.example.com")
    with pytest.raises(ssl.SSLCertVerificationError, match="self-signed"):
        handshake(server, ssl.create_default_context(), "localhost")


def test_a_self_signed_certificate_is_no_ca(tmp_path: Path) -> None:
    """Trusting it as a CA file vouches for this server alone."""
    made = x509.load_pem_x509_certificate(self_signed(["localhost"])[0])
    assert not made.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


@pytest.mark.parametrize("name", ["", "bad host", "host_name", "-x.example", "fäx.example"])
def test_names_that_are_neither_hosts_nor_addresses_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="neither an IP address nor a host name"):
        self_signed([name])


def test_an_encrypted_or_missing_key_is_named(tmp_path: Path) -> None:
    certificate_pem, key_pem = self_signed(["localhost"])
    key = serialization.load_pem_private_key(key_pem, password=None)
    locked = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    certificate, key_path = files(tmp_path, certificate_pem, locked)
    with pytest.raises(ConfigError, match=f"{key_path} holds no unencrypted PEM private key"):
        server_context("openfaxd.toml", certificate, key_path)
    with pytest.raises(ConfigError) as missing:
        server_context("openfaxd.toml", certificate, tmp_path / "none.key")
    assert missing.value.key == "api.tls_key"
    assert f"{tmp_path / 'none.key'} cannot be read" in missing.value.reason


def test_a_key_every_user_may_read_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    certificate, key = files(tmp_path, *self_signed(["localhost"]))
    for mode, logged in ((0o640, False), (0o644, True)):
        key.chmod(mode)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="openfax.tls"):
            server_context("openfaxd.toml", certificate, key)
        assert (f"private key {key} is readable by every user" in caplog.text) == logged


def test_an_expired_certificate_is_logged_not_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "old")])
    long_ago = datetime.now(UTC) - timedelta(days=30)
    expired = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(long_ago)
        .not_valid_after(long_ago + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    certificate, key_path = files(
        tmp_path, expired.public_bytes(serialization.Encoding.PEM), key_pem
    )
    with caplog.at_level(logging.WARNING, logger="openfax.tls"):
        assert server_context("openfaxd.toml", certificate, key_path) is not None
    assert f"certificate {certificate} is valid from" in caplog.text
