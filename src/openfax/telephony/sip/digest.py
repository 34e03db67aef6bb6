"""HTTP digest authentication for SIP (RFC 3261 22, RFC 7616, RFC 8760): reading a
challenge and computing the Authorization or Proxy-Authorization that answers it.

MD5 and SHA-256 (and their ``-sess`` forms) with ``qop=auth``, or without qop for old
servers (RFC 2069). ``auth-int`` is not offered: when a server allows only it, that is said.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from openfax.errors import SipParseError, TelephonyError
from openfax.telephony.sip._grammar import TOKEN, quote, split_outside_quotes, unquote
from openfax.telephony.sip.message import Response

_HASHES = {"MD5": "md5", "SHA-256": "sha256"}


@dataclass(frozen=True)
class DigestChallenge:
    """A ``WWW-Authenticate`` or ``Proxy-Authenticate`` Digest challenge."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False

    @classmethod
    def parse(cls, value: str) -> DigestChallenge:
        """Parse the header value; another scheme or a missing realm/nonce is a parse error."""
        scheme, _, rest = value.strip().partition(" ")
        if scheme.lower() != "digest":
            raise SipParseError(f"authentication scheme {scheme!r} is not Digest")
        params: dict[str, str] = {}
        for piece in split_outside_quotes(rest, ","):
            if not piece.strip():
                continue
            name, equals, raw = piece.partition("=")
            name = name.strip().lower()
            if not equals or not TOKEN.fullmatch(name):
                raise SipParseError(f"Digest challenge: bad parameter {piece.strip()!r}")
            raw = raw.strip()
            params[name] = unquote(raw) if raw.startswith('"') else raw
        for required in ("realm", "nonce"):
            if required not in params:
                raise SipParseError(f"Digest challenge without {required}")
        algorithm = params.get("algorithm", "MD5").upper()
        if algorithm.removesuffix("-SESS") not in _HASHES:
            raise SipParseError(f"Digest algorithm {algorithm} is not MD5 or SHA-256")
        qop = tuple(
            item.strip().lower() for item in params.get("qop", "").split(",") if item.strip()
        )
        return cls(
            realm=params["realm"],
            nonce=params["nonce"],
            algorithm=algorithm,
            qop=qop,
            opaque=params.get("opaque"),
            stale=params.get("stale", "").lower() == "true",
        )


def _hash(algorithm: str, text: str) -> str:
    return hashlib.new(_HASHES[algorithm.removesuffix("-SESS")], text.encode()).hexdigest()


def digest_response(
    challenge: DigestChallenge,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str | None = None,
    nonce_count: int = 1,
) -> str:
    """The value of the Authorization (or Proxy-Authorization) header answering
    ``challenge`` for a request of ``method`` to ``uri``.

    ``cnonce`` is drawn at random unless given; ``nonce_count`` counts the requests made with
    the same nonce (the caller keeps it).
    """
    if challenge.qop and "auth" not in challenge.qop:
        raise TelephonyError(
            f"Digest challenge allows only qop {challenge.qop}; auth-int is not supported"
        )
    algorithm = challenge.algorithm
    ha1 = _hash(algorithm, f"{username}:{challenge.realm}:{password}")
    cnonce = cnonce if cnonce is not None else secrets.token_hex(8)
    if algorithm.endswith("-SESS"):
        ha1 = _hash(algorithm, f"{ha1}:{challenge.nonce}:{cnonce}")
    ha2 = _hash(algorithm, f"{method}:{uri}")
    nc = f"{nonce_count:08x}"
    if challenge.qop:
        response = _hash(algorithm, f"{ha1}:{challenge.nonce}:{nc}:{cnonce}:auth:{ha2}")
    else:
        response = _hash(algorithm, f"{ha1}:{challenge.nonce}:{ha2}")
    fields = [
        f"username={quote(username)}",
        f"realm={quote(challenge.realm)}",
        f"nonce={quote(challenge.nonce)}",
        f"uri={quote(uri)}",
        f"response={quote(response)}",
        f"algorithm={algorithm}",
    ]
    if challenge.qop or algorithm.endswith("-SESS"):
        fields.append(f"cnonce={quote(cnonce)}")
    if challenge.qop:
        fields += ["qop=auth", f"nc={nc}"]
    if challenge.opaque is not None:
        fields.append(f"opaque={quote(challenge.opaque)}")
    return "Digest " + ", ".join(fields)


def stale_nonce(response: Response) -> bool:
    """True when a 401/407 says our nonce was only stale, not our credentials wrong."""
    for name in ("WWW-Authenticate", "Proxy-Authenticate"):
        for value in response.headers.get_all(name):
            try:
                if DigestChallenge.parse(value).stale:
                    return True
            except SipParseError:
                continue
    return False
