"""A registration driven by responses and a hand-moved clock: digest challenges (one
unsigned then one signed REGISTER an attempt), refresh at half the granted time, 423, the
back-off after refused credentials, and the failure of a REGISTER nobody answered."""

from __future__ import annotations

import pytest

from openfax.telephony.sip import Request, Response, Via, response_to
from openfax.telephony.sip.registration import (
    AttemptDue,
    Event,
    Registered,
    Registration,
    RegistrationFailed,
    RegistrationState,
    Send,
    StateChanged,
    Unregistered,
)
from tests.unit.telephony.test_sip_call import authorize

REGISTRAR = "sip:pbx.example"
VIA = Via("UDP", "192.0.2.1", 5060, {"rport": None})
CONTACT = "sip:openfax@192.0.2.1:5060"
CHALLENGE = ("WWW-Authenticate", 'Digest realm="pbx", nonce="n1", qop="auth"')


def registration(*, password: bool = True, expires: int = 3600) -> Registration:
    return Registration(
        registrar=REGISTRAR,
        aor="<sip:openfax@pbx.example>",
        expires=expires,
        retry=30.0,
        backoff_max=900.0,
        authorize=authorize if password else None,
    )


def answer(request: Request, status: int, reason: str, *headers: tuple[str, str]) -> Response:
    return response_to(request, status, reason, to_tag="reg1", headers=list(headers))


def sent(events: list[Event]) -> Request:
    (request,) = [event.request for event in events if isinstance(event, Send)]
    return request


def failure(events: list[Event]) -> RegistrationFailed:
    (failed,) = [event for event in events if isinstance(event, RegistrationFailed)]
    return failed


def attempt(reg: Registration) -> Request:
    """Begin an attempt and give its first REGISTER (what the user agent does at AttemptDue)."""
    reg.begin()
    return reg.request(VIA, CONTACT)


def test_a_challenge_is_answered_once_and_the_binding_refreshed_at_half_its_time() -> None:
    reg = registration()
    first = attempt(reg)
    assert first.method == "REGISTER"
    assert first.uri == REGISTRAR
    assert first.headers.get("Authorization") is None
    assert first.required("Expires") == "3600"
    assert first.required("Contact") == f"<{CONTACT}>"
    signed = sent(reg.receive(answer(first, 401, "Unauthorized", CHALLENGE), 0.1))
    assert signed.headers.get("Authorization") is not None
    assert signed.cseq.number == first.cseq.number + 1
    assert signed.call_id == first.call_id
    events = reg.receive(answer(signed, 200, "OK", ("Expires", "120")), 0.2)
    assert Registered(120, renewal=False) in events
    assert StateChanged(RegistrationState.REGISTERED, "") in events
    assert (reg.state, reg.registered, reg.granted) == (RegistrationState.REGISTERED, True, 120)
    assert reg.next_timer() == pytest.approx(60.2)
    assert reg.handle_timer(60.0) == []
    assert reg.handle_timer(60.2) == [AttemptDue()]
    assert reg.next_timer() is None

    # The refresh answers the same challenge again with the next nonce count, unchallenged.
    refresh = attempt(reg)
    assert "nc=00000002" in refresh.required("Authorization")
    events = reg.receive(answer(refresh, 200, "OK", ("Expires", "120")), 60.3)
    assert events == [Registered(120, renewal=True)]
    assert (reg.refreshes, reg.renewed_at) == (1, 60.3)


def test_refused_credentials_are_sent_once_an_attempt_and_backed_off_doubling() -> None:
    reg = registration()
    now = 0.0
    delays: list[float] = []
    for _ in range(7):
        first = attempt(reg)
        assert first.headers.get("Authorization") is None
        signed = sent(reg.receive(answer(first, 401, "Unauthorized", CHALLENGE), now))
        assert signed.headers.get("Authorization") is not None
        events = reg.receive(answer(signed, 401, "Unauthorized", CHALLENGE), now)
        assert not [event for event in events if isinstance(event, Send)]
        failed = failure(events)
        assert failed.credentials_rejected
        assert failed.status == 401
        assert "the credentials were refused" in failed.reason
        assert failed.retry_at is not None
        delays.append(failed.retry_at - now)
        now = failed.retry_at
        assert reg.handle_timer(now) == [AttemptDue()]
    assert delays == [30.0, 60.0, 120.0, 240.0, 480.0, 900.0, 900.0]
    assert (reg.state, reg.rejections) == (RegistrationState.FAILED, 7)


def test_a_stale_nonce_is_answered_again_within_the_attempt() -> None:
    reg = registration()
    first = attempt(reg)
    signed = sent(reg.receive(answer(first, 401, "Unauthorized", CHALLENGE), 0.0))
    stale = ("WWW-Authenticate", 'Digest realm="pbx", nonce="n2", qop="auth", stale=true')
    again = sent(reg.receive(answer(signed, 401, "Unauthorized", stale), 0.0))
    assert 'nonce="n2"' in again.required("Authorization")
    assert Registered(3600, renewal=False) in reg.receive(answer(again, 200, "OK"), 0.0)


def test_without_a_password_a_challenge_fails_saying_so() -> None:
    reg = registration(password=False)
    first = attempt(reg)
    failed = failure(reg.receive(answer(first, 407, "Proxy Authentication Required"), 1.0))
    assert failed.credentials_rejected
    assert "no password is configured" in failed.reason
    assert failed.retry_at == 31.0


def test_a_423_asks_again_for_the_registrars_minimum() -> None:
    reg = registration(expires=60)
    first = attempt(reg)
    again = sent(reg.receive(answer(first, 423, "Interval Too Brief", ("Min-Expires", "300")), 0))
    assert again.required("Expires") == "300"
    assert reg.expires == 300
    assert Registered(300, renewal=False) in reg.receive(answer(again, 200, "OK"), 0.0)
    assert reg.next_timer() == 150.0


def test_a_register_nobody_answered_fails_and_is_retried_without_backing_off() -> None:
    reg = registration(expires=40)
    attempt(reg)
    events = reg.fail(32.0, "registrar sip:pbx.example: timeout")
    failed = failure(events)
    assert (failed.status, failed.credentials_rejected) == (None, False)
    assert failed.retry_at == 52.0  # the retry, at most half the time asked
    assert StateChanged(RegistrationState.FAILED, failed.reason) in events
    assert (reg.registered, reg.rejections, reg.renewed_at) == (False, 0, 32.0)
    # The same error again changes nothing to show; a server error fails the same way.
    second = attempt(reg)
    events = reg.fail(84.0, "registrar sip:pbx.example: timeout")
    assert not [event for event in events if isinstance(event, StateChanged)]
    third = attempt(reg)
    assert third.cseq.number > second.cseq.number
    failed = failure(reg.receive(answer(third, 500, "Server Error"), 104.0))
    assert (failed.status, failed.reason) == (
        500,
        "registrar sip:pbx.example answered 500 Server Error",
    )


def test_unregistering_removes_the_binding_and_sets_no_timer() -> None:
    reg = registration()
    first = attempt(reg)
    reg.receive(answer(first, 200, "OK"), 0.0)
    reg.stop()
    reg.begin(unregister=True)
    goodbye = reg.request(VIA, CONTACT)
    assert goodbye.required("Expires") == "0"
    assert reg.receive(answer(goodbye, 200, "OK"), 1.0) == [Unregistered()]
    assert (reg.registered, reg.next_timer()) == (False, None)
    assert reg.state is RegistrationState.REGISTERED  # what the display showed stays


def test_a_granted_time_in_the_contact_wins_over_the_expires_header() -> None:
    reg = registration()
    first = attempt(reg)
    contact = ("Contact", f"<{CONTACT}>;expires=90")
    reg.receive(answer(first, 200, "OK", contact, ("Expires", "3600")), 0.0)
    assert reg.granted == 90
    assert reg.next_timer() == 45.0
