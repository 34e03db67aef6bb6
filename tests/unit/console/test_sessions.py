"""The console's sessions: a new id at each sign-in, ended by sign-out, idleness, age, or a
full store (the one idle longest goes first)."""

from __future__ import annotations

from openfax.console.sessions import Sessions, same_token
from openfax.service.config_file import ConsoleConfig

CONFIG = ConsoleConfig(session_idle_minutes=10, session_hours=1, max_sessions=2)


def test_each_sign_in_has_a_new_id_and_its_own_csrf_token() -> None:
    sessions = Sessions(CONFIG)
    first_id, first = sessions.start("nurse", 7, now=0)
    second_id, second = sessions.start("nurse", 7, now=0)
    assert first_id != second_id
    assert first.csrf != second.csrf
    assert sessions.find(first_id, now=1) is first
    assert sessions.find("an id never given", now=1) is None
    assert sessions.find(None, now=1) is None


def test_a_session_ends_at_sign_out_when_idle_and_when_old() -> None:
    sessions = Sessions(CONFIG)
    ended, _ = sessions.start("nurse", 7, now=0)
    sessions.end(ended)
    assert sessions.find(ended, now=0) is None
    idle, _ = sessions.start("nurse", 7, now=0)
    assert sessions.holds(idle, now=599)
    assert not sessions.holds(idle, now=601)  # asking does not keep it alive
    assert sessions.find(idle, now=599) is not None
    assert sessions.find(idle, now=599 + 601) is None
    busy, _ = sessions.start("nurse", 7, now=0)
    for minute in range(1, 60):
        assert sessions.find(busy, now=minute * 60) is not None
    assert sessions.find(busy, now=3601) is None
    assert len(sessions) == 0


def test_a_full_store_ends_the_session_idle_longest() -> None:
    sessions = Sessions(CONFIG)
    older, _ = sessions.start("nurse", 7, now=0)
    newer, _ = sessions.start("clerk", 8, now=1)
    assert sessions.find(older, now=2) is not None  # used: now newer is idle longest
    third, _ = sessions.start("admin", 9, now=3)
    assert len(sessions) == 2
    assert sessions.find(newer, now=4) is None
    assert sessions.find(older, now=4) is not None
    assert sessions.find(third, now=4) is not None


def test_tokens_are_compared_whole() -> None:
    assert same_token("abc", "abc")
    assert not same_token("ab", "abc")
    assert not same_token(None, "abc")
    assert not same_token("", "abc")
