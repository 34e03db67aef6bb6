"""TLS of the API's TCP listener: the server's context made from its certificate and key
files (``[api] tls_certificate`` and ``tls_key``), and a self-signed certificate for a quick
start (``openfax tls self-signed``).

The files are read with ``cryptography`` first, so that a wrong one is named in the error
(OpenSSL's own message does not say which of the two it could not use).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import ssl
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from openfax.errors import ConfigError

if TYPE_CHECKING:
    from cryptography import x509

_logger = logging.getLogger(__name__)
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
"""One label of a host name (RFC 1123)."""

SELF_SIGNED_DAYS = 365
"""How long a certificate made by ``openfax tls self-signed`` is valid by default."""


def server_context(source: str, certificate: Path, key: Path, table: str = "api") -> ssl.SSLContext:
    """A server-side context presenting ``certificate`` (PEM, its chain after it) with its
    private ``key`` (PEM, not encrypted), TLS 1.2 at least; ConfigError naming the file
    (``source`` is the configuration's, ``table`` the table of its keys) that is missing,
    unreadable or not what it should be. A certificate outside its validity period, or a
    key every user may read, is logged, not refused: the clients will say so, and a key may
    be meant to be shared."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    chain = _read(source, f"{table}.tls_certificate", certificate)
    try:
        leaf = x509.load_pem_x509_certificates(chain)[0]
    except ValueError as exc:
        raise ConfigError(
            source, f"{table}.tls_certificate", f"{certificate} holds no PEM certificate ({exc})"
        ) from None
    try:
        load_pem_private_key(_read(source, f"{table}.tls_key", key), password=None)
    except (ValueError, TypeError) as exc:  # TypeError: the key is encrypted
        reason = f"{key} holds no unencrypted PEM private key ({exc})"
        raise ConfigError(source, f"{table}.tls_key", reason) from None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certificate, key)
    except (ssl.SSLError, OSError) as exc:
        reason = f"{key} is not the private key of {certificate} ({exc})"
        raise ConfigError(source, f"{table}.tls_key", reason) from None
    if key.stat().st_mode & 0o004:
        _logger.warning(
            "the [%s] private key %s is readable by every user: chmod o-r it", table, key
        )
    now = datetime.now(UTC)
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        _logger.warning(
            "the [%s] certificate %s is valid from %s to %s only: clients will refuse it",
            table,
            certificate,
            leaf.not_valid_before_utc,
            leaf.not_valid_after_utc,
        )
    return context


def _read(source: str, key: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(source, key, f"{path} cannot be read: {exc.strerror or exc}") from None


def self_signed(names: Sequence[str], days: int = SELF_SIGNED_DAYS) -> tuple[bytes, bytes]:
    """A certificate for the host ``names`` (DNS names or IP addresses), signed by its own
    key, and that key (P-256), both PEM. Clients trust it by taking the certificate as their
    CA file; it is no CA itself, so it vouches for nothing else."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "openfaxd")])
    now = datetime.now(UTC)
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def _general_name(name: str) -> x509.GeneralName:
    """An IP address or a DNS name as a subjectAltName entry; ValueError for neither."""
    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        pass
    labels = name.rstrip(".").split(".")
    if not name.isascii() or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"{name!r} is neither an IP address nor a host name")
    return x509.DNSName(name.rstrip("."))
