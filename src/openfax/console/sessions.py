"""The console's signed-in browsers: a session id in a cookie, the account behind it.

A session is made only by a successful sign-in, with a fresh random id (an id a browser
brings from before is never taken over: no fixation), and ends at sign-out, after
``session_idle_minutes`` without a request, after ``session_hours`` in all, or when the
store holds ``max_sessions`` and a newer sign-in ends the one idle longest. Each session
carries its own CSRF token, which every form sends back. Sessions live in the daemon's
memory: a restart signs everyone out (``docs/design/console.md``).
"""

from __future__ import annotations

import hmac
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field

from openfax.service.config_file import ConsoleConfig

COOKIE = "openfax_session"
"""The session cookie's name."""
SIGN_IN_COOKIE = "openfax_sign_in"
"""The cookie of a browser not signed in: the CSRF token its sign-in form sends back."""
TOKEN_BYTES = 32
"""Random bytes in a session id and a CSRF token."""


def new_token() -> str:
    """A random, URL-safe token (a session id, a CSRF token)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def same_token(given: str | None, expected: str) -> bool:
    """Whether ``given`` is ``expected``, compared in constant time."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


@dataclass
class Session:
    """One signed-in browser: the account's name and id, its CSRF token, and when it
    started and was last used (monotonic seconds)."""

    account: str
    account_id: int
    started: float
    seen: float
    csrf: str = field(default_factory=new_token)


class Sessions:
    """The sessions of the running console, by id, the least recently used first."""

    def __init__(self, config: ConsoleConfig) -> None:
        self.idle_seconds = config.session_idle_minutes * 60
        self.longest_seconds = config.session_hours * 3600
        self.most = config.max_sessions
        self._by_id: OrderedDict[str, Session] = OrderedDict()

    def start(self, account: str, account_id: int, now: float) -> tuple[str, Session]:
        """A new session for the account that just signed in, under a new id."""
        while len(self._by_id) >= self.most:
            self._by_id.popitem(last=False)
        session_id = new_token()
        session = Session(account, account_id, started=now, seen=now)
        self._by_id[session_id] = session
        return session_id, session

    def find(self, session_id: str | None, now: float) -> Session | None:
        """The session of this id, still in force (its use noted), or None."""
        if not session_id:
            return None
        session = self._by_id.get(session_id)
        if session is None:
            return None
        if self._expired(session, now):
            del self._by_id[session_id]
            return None
        session.seen = now
        self._by_id.move_to_end(session_id)
        return session

    def holds(self, session_id: str, now: float) -> bool:
        """Whether the session of this id is still in force, without counting this as its
        use (what a long answer, an event stream, asks as it goes on)."""
        session = self._by_id.get(session_id)
        return session is not None and not self._expired(session, now)

    def _expired(self, session: Session, now: float) -> bool:
        return (
            now - session.seen > self.idle_seconds or now - session.started > self.longest_seconds
        )

    def end(self, session_id: str | None) -> None:
        """Sign-out: the session of this id ends (if there is one)."""
        if session_id:
            self._by_id.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._by_id)
