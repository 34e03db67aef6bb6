"""The target set of an outgoing INVITE (RFC 3261 8.1.3.4), without I/O: which URIs a
redirection (3xx) adds, in which order they are tried, and when to stop following.

A 301/302 (or 300, 305) names where to call instead in its Contacts; the user agent tries
them one after the other, highest ``q`` first, each URI once (a loop ends when every
contact was tried already), and follows at most ``max_redirects`` redirections. A 380
Alternative Service describes other services in its body, not an address to call, so it is
never followed; nor are Contacts we cannot call (``tel:``, ``sips:``, malformed).
"""

from __future__ import annotations

from dataclasses import replace

from openfax.errors import SipParseError, SipTransactionError
from openfax.telephony.sip.headers import NameAddr, SipUri
from openfax.telephony.sip.message import Response

MAX_PENDING = 10
"""At most this many targets wait to be tried: a 3xx listing hundreds of Contacts must not
make a call last for hours."""


def _q(contact: NameAddr) -> float:
    """A Contact's preference (RFC 3261 20.10): 1.0 without ``q``, 0.0 when unreadable."""
    value = contact.params.get("q")
    if value is None:
        return 1.0
    try:
        return min(max(float(value), 0.0), 1.0)
    except ValueError:
        return 0.0


def _target(uri: str) -> str | None:
    """The Request-URI a Contact gives (8.1.3.4: without ``method`` and ``?headers``), or
    None for a URI we cannot call (not ``sip:``: TLS and ``tel:`` are not spoken here)."""
    try:
        parsed = SipUri.parse(uri)
    except SipParseError:
        return None
    if parsed.scheme != "sip":
        return None
    params = {name: value for name, value in parsed.params.items() if name.lower() != "method"}
    return str(replace(parsed, params=params, headers=None))


class TargetSet:
    """The URIs an outgoing INVITE was and will be sent to. ``current`` is the target of the
    INVITE in flight; :meth:`redirect` takes a 3xx to it, :meth:`next` moves on."""

    def __init__(self, target: str, *, max_redirects: int = 5) -> None:
        self.current = target
        self.max_redirects = max_redirects
        self.redirects = 0
        """Redirections taken so far."""
        self._seen = {_target(target) or target}
        self._pending: list[str] = []

    @property
    def pending(self) -> tuple[str, ...]:
        """The targets still to try, in order."""
        return tuple(self._pending)

    def redirect(self, response: Response) -> str | None:
        """Take a 3xx to the current target: its callable Contacts not tried yet go first in
        the set, highest ``q`` first (ties in their order). Returns None when a target is left
        to try, or why the redirection cannot be followed: a 380, more redirections than
        ``max_redirects``, no callable Contact, or only Contacts tried already (a loop)."""
        if not 300 <= response.status < 400:
            raise SipTransactionError(f"a {response.status} is not a redirection")
        why = self._refusal(response)
        if why is not None:
            return None if self._pending else why
        self.redirects += 1
        try:
            contacts = response.contacts
        except SipParseError as error:
            return None if self._pending else f"unreadable Contact ({error})"
        ordered = sorted(contacts, key=_q, reverse=True)
        fresh: list[str] = []
        looped: list[str] = []
        for contact in ordered:
            target = _target(contact.uri)
            if target is None:
                continue
            if target in self._seen:
                looped.append(target)
                continue
            self._seen.add(target)
            fresh.append(target)
        self._pending = [*fresh, *self._pending][:MAX_PENDING]
        if self._pending:
            return None
        if looped:
            return f"redirection loop ({', '.join(looped)} tried already)"
        return "no Contact we can call"

    def _refusal(self, response: Response) -> str | None:
        """Why a 3xx is not followed at all, before its Contacts are read."""
        if response.status == 380:
            return "380 Alternative Service is not followed"
        if self.redirects >= self.max_redirects:
            return f"more than {self.max_redirects} redirections"
        return None

    def next(self) -> str | None:
        """Move on to the next target (None when none is left)."""
        if not self._pending:
            return None
        self.current = self._pending.pop(0)
        return self.current
