"""An outgoing call's set-up driven by responses and a hand-moved clock: the INVITE to the
answer and its ACK, failures and their causes, the ring time-out and hanging up (CANCEL
once the far end responded, abandoned 64*T1 later), digest challenges, 422, fail-over to
the next server, redirections, forked 2xx, reliable provisional responses, delayed offer.
Then the confirmed dialog's timers: session refresh and expiry, our 2xx resent until its
ACK, the retry after a 491, the far end's answer to our re-INVITE, and its requests in the
dialog (BYE, OPTIONS, a re-INVITE, one crossing ours, one out of order). Last, what a new
INVITE starts or is refused with (420, 422), and the answer a delayed offer's ACK carries."""

from __future__ import annotations

from dataclasses import replace

import pytest

from openfax.errors import SdpNegotiationError, TelephonyError
from openfax.telephony.sdp import LocalMedia, Origin, SessionDescription, make_answer, make_offer
from openfax.telephony.sip import Request, Response, Via, response_to
from openfax.telephony.sip.call import (
    Abandon,
    Acked,
    ByeDone,
    ByeReceived,
    CallFailure,
    CallMachine,
    CallState,
    Cancelled,
    Connected,
    DialogRequest,
    Event,
    Failed,
    HangUp,
    IncomingCallMachine,
    IncomingInvite,
    Locate,
    Lost,
    NoAck,
    OfferReceived,
    OfferTaken,
    Progress,
    RefreshDue,
    ReinviteResult,
    Resend,
    Respond,
    RetryDue,
    SendAck,
    SendCancel,
    SendInvite,
    SendRequest,
    SessionExpired,
    SessionMachine,
    SessionTimer,
    answer_in_ack,
    incoming_invite,
    outside_dialog,
    versioned,
)
from openfax.telephony.sip.dialog import Dialog
from openfax.telephony.sip.digest import DigestChallenge, digest_response
from openfax.telephony.sip.location import FailedTargets, Targets
from openfax.telephony.sip.transport import Peer

TARGET = "sip:+15551234@pbx.example"
SERVER = Peer("UDP", "192.0.2.10", 5060)
BACKUP = Peer("UDP", "192.0.2.20", 5060)
OFFER = make_offer(LocalMedia("192.0.2.1", 40000, 40002), Origin(session_id=1))
CHALLENGE = ("WWW-Authenticate", 'Digest realm="pbx", nonce="n1", qop="auth"')


def via(peer: Peer) -> Via:
    return Via(peer.transport, "192.0.2.1", 5060, {"rport": None})


def authorize(request: Request, response: Response, nonce_count: int) -> tuple[str, str] | None:
    challenge = DigestChallenge.parse(response.required("WWW-Authenticate"))
    value = digest_response(
        challenge,
        method=request.method,
        uri=request.uri,
        username="fax",
        password="secret",
        nonce_count=nonce_count,
    )
    return ("Authorization", value)


def machine(
    offer: SessionDescription | None = OFFER, *, ring_timeout: float | None = 60.0
) -> CallMachine:
    return CallMachine(
        TARGET,
        offer,
        call_id="call-1@openfax",
        local_tag="ours",
        from_="<sip:fax@pbx.example>;tag=ours",
        via=via,
        contact=lambda peer: "sip:fax@192.0.2.1:5060",
        headers=(("User-Agent", "OpenFax"),),
        extra_headers=(("X-Job", "7"),),
        session_expires=1800,
        min_se=90,
        ring_timeout=ring_timeout,
        t1=0.5,
        authorize=authorize,
    )


def located(*peers: Peer) -> Targets:
    return Targets("pbx.example", peers or [SERVER], FailedTargets())


def invite_of(events: list[Event], peer: Peer = SERVER) -> Request:
    (sent,) = [event for event in events if isinstance(event, SendInvite)]
    assert sent.peer == peer
    return sent.request


def started(call: CallMachine, now: float = 0.0) -> Request:
    """Start the call, locate its target at SERVER: the INVITE sent."""
    assert call.start() == [Locate(TARGET)]
    return invite_of(call.located(located(), now))


def answer(
    invite: Request, status: int, reason: str, *headers: tuple[str, str], tag: str = "theirs"
) -> Response:
    return response_to(invite, status, reason, to_tag=tag, headers=list(headers))


def ok(invite: Request, tag: str = "theirs", body: bytes | None = None) -> Response:
    if body is None:
        media = LocalMedia("192.0.2.9", 50000, 50002)
        body = make_answer(OFFER, media, Origin(session_id=9))[0].to_bytes()
    headers = [("Contact", "<sip:callee@192.0.2.9>"), ("Content-Type", "application/sdp")]
    return response_to(invite, 200, "OK", to_tag=tag, headers=headers, body=body)


def failed(events: list[Event]) -> Failed:
    (failure,) = [event for event in events if isinstance(event, Failed)]
    return failure


def test_the_invite_is_answered_acked_and_the_ack_sent_again_on_a_retransmitted_2xx() -> None:
    call = machine()
    invite = started(call)
    assert (invite.method, invite.uri, invite.cseq.number) == ("INVITE", TARGET, 1)
    assert invite.required("To") == f"<{TARGET}>"
    assert invite.required("Session-Expires") == "1800"
    assert invite.required("X-Job") == "7"
    assert invite.body == OFFER.to_bytes()
    assert call.receive(answer(invite, 100, "Trying"), 0.1) == []
    events = call.receive(answer(invite, 180, "Ringing"), 0.2)
    assert events == [Progress(180, None)]
    assert call.state is CallState.RINGING
    events = call.receive(ok(invite), 3.0)
    ack, connected = events
    assert isinstance(ack, SendAck)
    assert isinstance(connected, Connected)
    assert (ack.request.method, ack.request.cseq.number) == ("ACK", 1)
    assert ack.request.uri == "sip:callee@192.0.2.9"
    assert connected.answer is not None
    assert connected.answer.origin.session_id == 9
    assert call.state is CallState.CONNECTED
    assert call.dialog is not None
    assert call.next_timer() is None
    assert call.receive(ok(invite), 3.5) == [ack]


def test_a_refusal_fails_the_call_with_its_cause() -> None:
    for status, reason, cause in [
        (486, "Busy Here", CallFailure.BUSY),
        (404, "Not Found", CallFailure.NOT_FOUND),
        (488, "Not Acceptable Here", CallFailure.INCOMPATIBLE),
        (480, "Temporarily Unavailable", CallFailure.NO_ANSWER),
        (500, "Server Internal Error", CallFailure.FAILED),
    ]:
        call = machine()
        invite = started(call)
        events = call.receive(answer(invite, status, reason), 1.0)
        assert events == [Failed(cause, status, reason)]
        assert call.state is CallState.ENDED
        assert call.final is not None
        assert call.receive(answer(invite, status, reason), 1.5) == []


def test_the_ring_timeout_cancels_and_the_487_fails_the_call_as_no_answer() -> None:
    call = machine()
    invite = started(call, now=10.0)
    call.receive(answer(invite, 180, "Ringing"), 11.0)
    assert call.next_timer() == 70.0
    assert call.handle_timer(69.9) == []
    (cancel,) = call.handle_timer(70.0)
    assert isinstance(cancel, SendCancel)
    assert cancel.peer == SERVER
    assert cancel.request.method == "CANCEL"
    assert cancel.request.top_via.branch == invite.top_via.branch
    assert call.next_timer() == 70.0 + 32.0
    events = call.receive(answer(invite, 487, "Request Terminated"), 70.1)
    assert events == [Failed(CallFailure.NO_ANSWER, 487, "Request Terminated")]
    assert call.next_timer() is None


def test_a_cancelled_invite_without_a_final_response_is_abandoned_after_64_t1() -> None:
    call = machine(ring_timeout=30.0)
    invite = started(call)
    call.receive(answer(invite, 183, "Session Progress"), 1.0)
    call.handle_timer(30.0)
    assert call.handle_timer(61.9) == []
    events = call.handle_timer(62.0)
    assert events == [Abandon(invite), Failed(CallFailure.NO_ANSWER, 408, "Request Timeout")]
    assert call.next_timer() is None


def test_the_cancel_waits_for_the_far_end_to_respond() -> None:
    call = machine(ring_timeout=5.0)
    invite = started(call)
    assert call.handle_timer(5.0) == []  # nothing came back yet: no CANCEL (RFC 3261 9.1)
    events = call.receive(answer(invite, 100, "Trying"), 5.5)
    (cancel,) = events
    assert isinstance(cancel, SendCancel)


def test_hanging_up_fails_the_call_at_once_and_a_crossing_2xx_is_acked_and_hung_up() -> None:
    call = machine()
    invite = started(call)
    assert call.hang_up(0.5) == [Failed(CallFailure.CANCELLED, 487, "Request Terminated")]
    assert call.state is CallState.ENDED
    assert call.hang_up(0.6) == []
    (cancel,) = call.receive(answer(invite, 180, "Ringing"), 1.0)
    assert isinstance(cancel, SendCancel)
    ack, bye = call.receive(ok(invite), 1.1)
    assert isinstance(ack, SendAck)
    assert isinstance(bye, SendRequest)
    assert (bye.request.method, bye.request.cseq.number) == ("BYE", 2)
    assert call.receive(answer(invite, 487, "Request Terminated"), 1.2) == []


def test_hanging_up_while_the_target_is_located_sends_no_invite() -> None:
    call = machine()
    call.start()
    assert failed(call.hang_up(0.0)).cause is CallFailure.CANCELLED
    assert call.located(located(), 0.1) == []


def test_a_digest_challenge_is_answered_once() -> None:
    call = machine()
    invite = started(call)
    signed = invite_of(call.receive(answer(invite, 401, "Unauthorized", CHALLENGE), 0.1))
    assert signed.cseq.number == 2
    assert signed.top_via.branch != invite.top_via.branch
    assert 'username="fax"' in signed.required("Authorization")
    events = call.receive(answer(signed, 401, "Unauthorized", CHALLENGE), 0.2)
    assert events == [Failed(CallFailure.REJECTED, 401, "Unauthorized")]


def test_a_422_asks_again_with_the_far_ends_minimum() -> None:
    call = machine()
    invite = started(call)
    too_small = answer(invite, 422, "Session Interval Too Small", ("Min-SE", "3600"))
    again = invite_of(call.receive(too_small, 0.1))
    assert again.cseq.number == 2
    assert again.required("Session-Expires") == "3600"
    # The same 422 again (the interval did not grow) fails the call.
    events = call.receive(answer(again, 422, "Session Interval Too Small", ("Min-SE", "3600")), 1)
    assert failed(events).status == 422


def test_a_503_or_a_timeout_goes_to_the_next_server_and_the_last_one_fails_the_call() -> None:
    call = machine()
    call.start()
    invite = invite_of(call.located(located(SERVER, BACKUP), 0.0))
    again = invite_of(call.receive(answer(invite, 503, "Service Unavailable"), 0.1), BACKUP)
    assert again.cseq.number == invite.cseq.number
    assert call.peer == BACKUP
    timeout = response_to(again, 408, "Request Timeout")
    events = call.receive(timeout, 32.1, local="timeout")
    assert events == [Failed(CallFailure.UNREACHABLE, 408, "Request Timeout (timeout)")]


def test_a_redirection_calls_the_contacts_keeping_the_to_of_the_target() -> None:
    call = machine()
    invite = started(call)
    moved = answer(
        invite,
        302,
        "Moved Temporarily",
        ("Contact", "<sip:low@192.0.2.30>;q=0.1, <sip:high@192.0.2.40>;q=0.9"),
    )
    assert call.receive(moved, 0.1) == [Locate("sip:high@192.0.2.40")]
    high = Peer("UDP", "192.0.2.40", 5060)
    there = invite_of(call.located(located(high), 0.2), high)
    assert (there.uri, there.required("To"), there.cseq.number) == (
        "sip:high@192.0.2.40",
        f"<{TARGET}>",
        2,
    )
    # A 404 there moves on to the next contact; a 6xx would end it at once.
    assert call.receive(answer(there, 404, "Not Found"), 0.3) == [Locate("sip:low@192.0.2.30")]
    second = Peer("UDP", "192.0.2.30", 5060)
    low = invite_of(call.located(located(second), 0.4), second)
    events = call.receive(answer(low, 380, "Alternative Service"), 0.5)
    assert failed(events).cause is CallFailure.REDIRECTED


def test_a_host_that_cannot_be_located_fails_the_call_as_unreachable() -> None:
    call = machine()
    call.start()
    events = call.locate_failed("cannot locate SIP host 'pbx.example'", 0.0)
    assert events == [Failed(CallFailure.UNREACHABLE, 503, "cannot locate SIP host 'pbx.example'")]


def test_the_2xx_of_another_branch_is_acked_and_its_dialog_hung_up() -> None:
    call = machine()
    invite = started(call)
    call.receive(ok(invite, tag="first"), 1.0)
    ack, bye = call.receive(ok(invite, tag="second"), 1.1)
    assert isinstance(ack, SendAck)
    assert isinstance(bye, SendRequest)
    assert ack.request.to.tag == bye.request.to.tag == "second"
    assert call.dialog is not None
    assert call.dialog.remote_tag == "first"
    assert call.receive(ok(invite, tag="second"), 1.2) == [ack]


def test_a_reliable_provisional_response_is_pracked_once() -> None:
    call = machine()
    invite = started(call)
    reliable = answer(
        invite,
        183,
        "Session Progress",
        ("Require", "100rel"),
        ("RSeq", "1"),
        ("Contact", "<sip:callee@192.0.2.9>"),
    )
    prack, progress = call.receive(reliable, 0.5)
    assert isinstance(prack, SendRequest)
    assert progress == Progress(183, None)
    assert prack.request.method == "PRACK"
    assert prack.request.required("RAck") == "1 1 INVITE"
    assert call.receive(reliable, 0.6) == []  # a retransmission
    ack, _ = call.receive(ok(invite), 1.0)
    assert isinstance(ack, SendAck)
    assert ack.request.cseq.number == 1
    assert call.dialog is not None
    assert call.dialog.local_seq == 2  # the PRACK's


def test_a_2xx_without_a_usable_answer_is_acked_hung_up_and_fails() -> None:
    call = machine()
    invite = started(call)
    ack, bye, failure = call.receive(ok(invite, body=b"v=0\r\nnot sdp\r\n"), 1.0)
    assert isinstance(ack, SendAck)
    assert isinstance(bye, SendRequest)
    assert isinstance(failure, Failed)
    assert failure.cause is CallFailure.INCOMPATIBLE


def test_a_delayed_offer_sends_no_body_and_takes_the_offer_of_the_2xx() -> None:
    call = machine(offer=None)
    invite = started(call)
    assert invite.body == b""
    assert invite.headers.get("Content-Type") is None
    _, connected = call.receive(ok(invite), 1.0)
    assert isinstance(connected, Connected)
    assert connected.answer is not None


# --- The confirmed dialog's time ---------------------------------------------------------------


def test_the_session_is_refreshed_at_half_its_interval_when_we_refresh() -> None:
    session = SessionMachine(t1=0.5, t2=4.0)
    session.timer = SessionTimer(1800, we_refresh=True)
    session.arm(100.0)
    assert session.next_timer() == 1000.0
    assert session.handle_timer(999.9) == []
    assert session.handle_timer(1000.0) == [RefreshDue()]
    assert session.next_timer() is None
    # Refused (or another re-INVITE under way): tried again a little later.
    session.refresh_later(1000.5, 4.0)
    assert session.handle_timer(1004.5) == [RefreshDue()]


def test_a_session_the_far_end_stops_refreshing_expires_before_its_interval_ends() -> None:
    session = SessionMachine()
    session.timer = SessionTimer(90, we_refresh=False)
    session.arm(0.0)
    assert session.next_timer() == 60.0  # a third of 90 s before the end (at most 32 s)
    session.timer = SessionTimer(1800, we_refresh=False)  # the far end refreshed
    session.arm(10.0)
    assert session.next_timer() == 10.0 + 1800 - 32
    assert session.handle_timer(1778.0) == [SessionExpired()]
    session.timer = SessionTimer(None)
    session.arm(2000.0)
    assert session.next_timer() is None


def test_our_2xx_is_resent_doubling_up_to_t2_until_its_ack() -> None:
    session = SessionMachine(t1=0.5, t2=4.0)
    invite = started(machine())
    two_hundred = response_to(invite, 200, "OK", to_tag="ours")
    session.sent_2xx(two_hundred, SERVER, 0.0)
    resent = []
    now = 0.0
    while (due := session.next_timer()) is not None and due < 20.0:
        now = due
        assert session.handle_timer(now) == [Resend(two_hundred, SERVER)]
        resent.append(now)
    assert resent == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5]
    ack = Request(method="ACK", uri=invite.uri, headers=two_hundred.headers)
    assert session.acked(ack) == [Acked(ack)]
    assert session.next_timer() is None
    assert session.acked(ack) == []  # a repeated ACK is nothing new


def test_the_ack_of_our_2xx_holding_the_offer_gives_the_far_ends_answer() -> None:
    session = SessionMachine(t1=0.5, t2=4.0)
    invite = started(machine())
    two_hundred = response_to(invite, 200, "OK", to_tag="ours")
    ack = Request(method="ACK", uri=invite.uri, headers=two_hundred.headers)
    answered = replace(ack, body=OFFER.to_bytes())
    # A 2xx that held no offer: the ACK's body is not an answer.
    session.sent_2xx(two_hundred, SERVER, 0.0)
    assert session.acked(answered) == [Acked(answered)]
    assert session.remote_sdp is None
    # One that held our offer (the re-INVITE had none): the answer, once.
    assert session.remote_sdp is None
    session.sent_2xx(two_hundred, SERVER, 1.0, offer=True)
    assert session.acked(answered) == [Acked(answered)]
    assert session.remote_sdp == OFFER
    assert session.acked(answered) == []
    # No answer, or a bad one: the ACK still ends the resends; the session stays as it was.
    session.sent_2xx(two_hundred, SERVER, 2.0, offer=True)
    assert session.acked(ack) == [Acked(ack)]
    bad = replace(ack, body=b"v=0\r\nnonsense\r\n")
    session.sent_2xx(two_hundred, SERVER, 3.0, offer=True)
    assert session.acked(bad) == [Acked(bad)]
    assert session.next_timer() is None
    assert session.remote_sdp == OFFER


def test_without_an_ack_the_2xx_is_given_up_after_64_t1() -> None:
    session = SessionMachine(t1=0.5, t2=4.0)
    invite = started(machine())
    two_hundred = response_to(invite, 200, "OK", to_tag="ours")
    session.sent_2xx(two_hundred, replace(SERVER, transport="TCP"), 0.0)  # the wait alone
    assert session.next_timer() == 32.0
    assert session.handle_timer(31.9) == []
    assert session.handle_timer(32.0) == [NoAck(1)]
    assert session.next_timer() is None
    # An ACK after the wait is given up is nothing: the call is already being hung up.
    ack = Request(method="ACK", uri=invite.uri, headers=two_hundred.headers)
    assert session.acked(ack) == []


def test_a_reinvite_refused_with_491_is_retried_after_the_delay_and_stop_ends_it_all() -> None:
    session = SessionMachine()
    session.retry_after(2.5, 10.0)
    assert session.handle_timer(12.4) == []
    assert session.handle_timer(12.5) == [RetryDue()]
    session.retry_after(1.0, 20.0)
    session.timer = SessionTimer(600, we_refresh=True)
    session.arm(20.0)
    session.stop()
    assert session.next_timer() is None
    assert session.handle_timer(10_000.0) == []


def test_a_refresh_falling_due_as_our_reinvite_goes_waits_and_is_not_sent_once_it_refreshed() -> (
    None
):
    session = SessionMachine(t1=0.5, t2=4.0)
    session.timer = SessionTimer(1800, we_refresh=True)
    session.arm(0.0)
    assert session.handle_timer(900.0) == [RefreshDue()]
    # The user's re-INVITE takes the call before the refresh begins, and is accepted.
    session.begin_offer()
    session.arm(900.2)
    session.end_offer()
    assert session.start_refresh(900.3) is None  # the re-INVITE refreshed the session
    assert not session.offering
    assert session.next_timer() == 1800.2
    # The refresh begins while a re-INVITE is under way: a second later, unless that
    # re-INVITE is accepted first (it re-arms the timer).
    assert session.handle_timer(1800.2) == [RefreshDue()]
    session.begin_offer()
    assert session.start_refresh(1800.3) is None
    assert session.next_timer() == 1801.3
    session.arm(1800.5)
    session.end_offer()
    assert session.next_timer() == 2700.5
    assert session.start_refresh(1801.3) is None
    # Under way again, and refused this time: the refresh goes a second later, once.
    assert session.handle_timer(2700.5) == [RefreshDue()]
    session.begin_offer()
    assert session.start_refresh(2700.6) is None
    session.end_offer()
    assert session.handle_timer(2701.6) == [RefreshDue()]
    assert session.start_refresh(2701.6) == "INVITE"
    assert session.offering
    assert session.start_refresh(2701.7) is None
    session.stop()
    assert not session.offering


def test_each_offer_exchange_of_ours_has_its_own_491_retries() -> None:
    session = SessionMachine(glare_retries=2)
    dialog = confirmed_dialog()
    session.begin_offer()
    assert session.glare(491, dialog, 10.0)
    assert not session.glare(488, dialog, 10.0)  # another refusal stands
    assert session.glare(491, dialog, 20.0)
    assert not session.glare(491, dialog, 30.0)  # none left
    session.end_offer()
    session.begin_offer()
    assert session.glare(491, dialog, 40.0)


def test_our_exchange_says_what_each_request_carries_and_what_follows_it() -> None:
    session = SessionMachine(t1=0.5, t2=4.0, glare_retries=1)
    dialog = confirmed_dialog()
    session.local_sdp = OFFER
    t38 = make_offer(LocalMedia("192.0.2.1", 40010, 40012), Origin(session_id=1))
    pending = ReinviteResult(491, "Request Pending")
    # The user's re-INVITE carries its offer as the next version of ours (RFC 3264 8); a
    # 491 sends it again once the random wait is over, while retries are left.
    session.begin_offer(t38)
    sent = session.offer_now("INVITE")
    assert sent == replace(t38, origin=OFFER.origin.next_version())
    assert not session.retrying
    assert session.offer_done("INVITE", pending, dialog, 10.0) == "INVITE"
    assert session.retrying
    due = session.next_timer()
    assert due is not None
    assert 10.0 <= due <= 14.0
    assert session.handle_timer(due) == [RetryDue()]
    assert not session.retrying
    assert session.offer_now("INVITE") == sent
    assert session.offer_done("INVITE", pending, dialog, due) is None  # none left
    assert not session.retrying
    session.end_offer()
    # A refresh carries our session unchanged (nothing in an UPDATE); a refused UPDATE is
    # followed by a re-INVITE, a refused re-INVITE tried again T2 later, an accepted one
    # counted.
    session.peer_allows_update = True
    session.begin_offer()
    assert session.offer_now("UPDATE") is None
    assert session.offer_now("INVITE") == OFFER
    refused = ReinviteResult(488, "Not Acceptable Here")
    assert session.offer_done("UPDATE", refused, dialog, 20.0) == "INVITE"
    assert not session.peer_allows_update
    assert session.offer_done("INVITE", refused, dialog, 20.5) is None
    assert session.next_timer() == 24.5
    accepted = ReinviteResult(200, "OK", OFFER)
    assert session.offer_done("INVITE", accepted, dialog, 21.0) is None
    assert session.refreshes == 1
    session.end_offer()
    # The call's end drops the user's offer with the rest.
    session.begin_offer(t38)
    session.stop()
    assert not session.offering
    assert session.offer_now("INVITE") == OFFER


def test_the_answer_to_our_reinvite_is_taken_refused_or_loses_the_call() -> None:
    session = SessionMachine()
    invite = started(machine())
    session.timer = timer = SessionTimer(1800, we_refresh=True)
    session.local_sdp = before = make_offer(
        LocalMedia("192.0.2.1", 40000, 40002), Origin(session_id=7)
    )
    accepted = response_to(
        invite,
        200,
        "OK",
        to_tag="theirs",
        headers=[("Session-Expires", "900;refresher=uac"), ("Allow", "INVITE, UPDATE")],
        body=ok(invite).body,
    )
    result, events = session.offer_answered("INVITE", OFFER, accepted, None)
    assert result.accepted
    assert result.answer is not None
    assert events == []
    assert (timer.interval, timer.we_refresh, session.peer_allows_update) == (900, True, True)
    assert before != OFFER
    assert (session.local_sdp, session.remote_sdp) == (OFFER, result.answer)  # in force now
    session.local_sdp = before
    refused = answer(invite, 488, "Not Acceptable Here")
    assert session.offer_answered("INVITE", OFFER, refused, None) == (
        ReinviteResult(488, "Not Acceptable Here"),
        [],
    )
    result, events = session.offer_answered("INVITE", OFFER, answer(invite, 200, "OK"), None)
    assert (result.status, events) == (488, [HangUp()])  # no SDP answer to our offer
    assert session.local_sdp == before  # neither refusal changed the session
    gone = answer(invite, 481, "Call/Transaction Does Not Exist")
    _, events = session.offer_answered("INVITE", OFFER, gone, None)
    assert events == [Lost("481 Call/Transaction Does Not Exist", bye=False)]
    timeout = response_to(invite, 408, "Request Timeout")
    result, events = session.offer_answered("UPDATE", None, timeout, "timeout")
    assert not result.accepted
    assert events == [Lost("408 Request Timeout (timeout)", bye=True)]


def test_the_far_ends_requests_in_the_dialog_are_answered_by_its_rules() -> None:
    call = machine()
    invite = started(call)
    call.receive(ok(invite), 1.0)
    dialog = call.dialog
    assert dialog is not None
    session = SessionMachine()

    def theirs(method: str, cseq: int) -> Request:
        # The far end's request: its From is our To, and the other way round.
        ours = dialog.request("INFO", via(SERVER))
        headers = ours.headers.replace("From", str(dialog.remote)).replace("To", str(dialog.local))
        headers = headers.replace("CSeq", f"{cseq} {method}")
        return Request(method=method, uri="sip:fax@192.0.2.1:5060", headers=headers)

    (options,) = session.request_received(dialog, theirs("OPTIONS", 10), [("Allow", "INVITE")])
    assert isinstance(options, Respond)
    assert options.response.status == 200
    assert options.response.required("Accept") == "application/sdp"
    (older,) = session.request_received(dialog, theirs("INFO", 9), [])
    assert isinstance(older, Respond)
    assert older.response.status == 500  # CSeq out of order
    reinvite = theirs("INVITE", 11)
    assert session.request_received(dialog, reinvite, []) == [OfferReceived(reinvite)]
    (refer,) = session.request_received(dialog, theirs("REFER", 12), [])
    assert isinstance(refer, Respond)
    assert refer.response.status == 405
    dialog.answered(response_to(reinvite, 200, "OK"))
    dialog.request("INVITE", via(SERVER))  # ours, crossing theirs: glare
    (glare,) = session.request_received(dialog, theirs("INVITE", 13), [])
    assert isinstance(glare, Respond)
    assert glare.response.status == 491
    bye, ended = session.request_received(dialog, theirs("BYE", 14), [])
    assert isinstance(bye, Respond)
    assert bye.response.status == 200
    assert ended == ByeReceived()


# --- An incoming call ---------------------------------------------------------------------------


def incoming(*headers: tuple[str, str], body: bytes = OFFER.to_bytes()) -> Request:
    invite = started(machine())
    fields = invite.headers.without("Session-Expires").without("Min-SE")
    for name, value in headers:
        fields = fields.add(name, value)
    return Request(method="INVITE", uri=invite.uri, headers=fields, body=body)


def test_a_new_invite_rings_with_its_offer_and_the_session_timer_it_asks_for() -> None:
    taken = incoming_invite(
        incoming(("Session-Expires", "1800"), ("Supported", "timer")), min_se=90
    )
    assert isinstance(taken, IncomingInvite)
    assert taken.provisional
    assert taken.offer == OFFER
    assert (taken.timer.interval, taken.timer.we_refresh) == (1800, False)  # it can refresh
    delayed = incoming_invite(incoming(body=b""), min_se=90)
    assert isinstance(delayed, IncomingInvite)
    assert delayed.offer is None
    assert delayed.timer.interval is None
    reliable = incoming_invite(incoming(("Require", "100rel")), min_se=90)
    assert isinstance(reliable, IncomingInvite)
    assert not reliable.provisional


def test_a_new_invite_asking_what_we_cannot_give_is_refused_at_once() -> None:
    unknown = incoming_invite(incoming(("Require", "100rel, precondition")), min_se=90)
    assert isinstance(unknown, Response)
    assert unknown.status == 420
    assert unknown.required("Unsupported") == "precondition"
    short = incoming_invite(incoming(("Session-Expires", "60")), min_se=90)
    assert isinstance(short, Response)
    assert short.status == 422
    assert short.required("Min-SE") == "90"


def test_the_ack_of_a_delayed_offer_must_carry_the_answer() -> None:
    invite = incoming(body=b"")
    ack = Request(method="ACK", uri=invite.uri, headers=invite.headers, body=OFFER.to_bytes())
    assert answer_in_ack(ack) == OFFER
    with pytest.raises(TelephonyError, match="no SDP answer"):
        answer_in_ack(replace(ack, body=b""))


def test_the_far_ends_reinvite_is_a_refresh_a_new_offer_or_refused() -> None:
    session = SessionMachine()
    their_offer = make_offer(LocalMedia("192.0.2.9", 50000, 50002), Origin(session_id=9))
    session.remote_sdp = their_offer
    bare = incoming(("Session-Expires", "1800;refresher=uac"), body=b"")
    taken = session.offer_received(bare, min_se=90, connected=True)
    assert isinstance(taken, OfferTaken)
    assert taken.refresh
    assert taken.offer is None
    assert (taken.timer.interval, taken.timer.we_refresh) == (1800, False)
    same = incoming(body=their_offer.to_bytes())
    taken = session.offer_received(same, min_se=90, connected=True)
    assert isinstance(taken, OfferTaken)
    assert taken.refresh  # the session in force again
    changed = incoming(body=OFFER.to_bytes())
    taken = session.offer_received(changed, min_se=90, connected=True)
    assert isinstance(taken, OfferTaken)
    assert not taken.refresh
    assert taken.offer == OFFER
    for request, connected, status in [
        (incoming(("Session-Expires", "30")), True, 422),
        (incoming(("Content-Type", "text/plain"), body=b"hello"), True, 400),
        (changed, False, 481),
    ]:
        refused = session.offer_received(request, min_se=90, connected=connected)
        assert isinstance(refused, Response)
        assert refused.status == status


def test_the_200_to_their_reinvite_carries_our_session_and_the_timer() -> None:
    session = SessionMachine()
    request = incoming(("Allow", "INVITE, ACK, BYE"))
    their_offer = make_offer(LocalMedia("192.0.2.9", 50000, 50002), Origin(session_id=9))
    ours, _ = make_answer(their_offer, LocalMedia("192.0.2.1", 40000, 40002), Origin(session_id=1))
    taken = OfferTaken(their_offer, SessionTimer(1800, we_refresh=False), refresh=False)

    def accepted(request: Request, answer: SessionDescription | None = None) -> Response:
        return session.offer_accepted(
            request,
            taken,
            contact="sip:fax@192.0.2.1",
            headers=[("User-Agent", "OpenFax")],
            answer=answer,
        )

    response = accepted(request, ours)
    assert (response.status, response.body) == (200, ours.to_bytes())
    assert (session.local_sdp, session.remote_sdp) == (ours, their_offer)  # in force now
    assert response.required("Session-Expires") == "1800;refresher=uac"
    assert response.required("Require") == "timer"
    assert session.timer is taken.timer
    assert not session.peer_allows_update
    # A refresh is answered with the session in force, which it leaves alone.
    assert accepted(request).body == ours.to_bytes()
    assert (session.local_sdp, session.remote_sdp) == (ours, their_offer)
    bare = accepted(replace(request, method="UPDATE", body=b""))
    assert bare.body == b""
    assert bare.headers.get("Content-Type") is None


def ringing(*headers: tuple[str, str], body: bytes = OFFER.to_bytes()) -> IncomingCallMachine:
    invite = incoming(*headers, body=body)
    taken = incoming_invite(invite, min_se=90)
    assert isinstance(taken, IncomingInvite)
    ours = [("User-Agent", "OpenFax")]
    return IncomingCallMachine(
        invite, taken, local_tag="ours", contact="sip:fax@192.0.2.1:5060", headers=ours
    )


def test_an_incoming_call_rings_answers_and_takes_the_ack() -> None:
    call = ringing(("Record-Route", "<sip:proxy.example;lr>"))
    (ring,) = call.ring()
    assert isinstance(ring, Respond)
    assert ring.response.status == 180
    assert ring.response.to.tag == "ours"
    assert call.state is CallState.RINGING
    assert ring.response.headers.get_all("Record-Route") == ["<sip:proxy.example;lr>"]
    answer, _ = make_answer(OFFER, LocalMedia("192.0.2.9", 50000, 50002), Origin(session_id=9))
    (ok,) = call.answer(answer)
    assert isinstance(ok, Respond)
    assert ok.response.status == 200
    assert ok.response.body == answer.to_bytes()
    assert ok.response.required("Contact") == "<sip:fax@192.0.2.1:5060>"
    assert call.state is CallState.CONNECTED
    assert call.dialog is not None
    assert call.dialog.route_set == ("sip:proxy.example;lr",)
    # Neither a refusal, a CANCEL nor a second answer undoes it.
    assert call.reject(486, "Busy Here") == []
    assert call.receive(replace(call.request, method="CANCEL"), 1.0) == []
    assert call.answer(answer) == [Failed(CallFailure.CANCELLED, 487, "Request Terminated")]
    ack = Request(method="ACK", uri=call.request.uri, headers=ok.response.headers)
    assert call.acked(ack) is None  # the INVITE had the offer
    assert call.next_timer() is None
    assert (call.session.local_sdp, call.session.remote_sdp) == (answer, OFFER)
    assert call.session.timer is call.timer


def test_our_200_is_resent_by_the_incoming_calls_timers_until_the_ack() -> None:
    call = ringing()
    answer, _ = make_answer(OFFER, LocalMedia("192.0.2.9", 50000, 50002), Origin(session_id=9))
    (ok,) = call.answer(answer)
    assert isinstance(ok, Respond)
    call.session.sent_2xx(ok.response, SERVER, 0.0)
    assert call.next_timer() == 0.5
    assert call.handle_timer(0.5) == [Resend(ok.response, SERVER)]
    ack = Request(method="ACK", uri=call.request.uri, headers=ok.response.headers)
    call.acked(ack)
    assert call.next_timer() is None


def test_a_caller_requiring_100rel_hears_no_ringing() -> None:
    call = ringing(("Require", "100rel"))
    assert call.ring() == []
    assert call.ring(183, "Session Progress") == []
    assert call.state is CallState.RINGING


def test_a_cancel_before_the_answer_is_answered_487_and_ends_the_call() -> None:
    call = ringing()
    call.ring()
    cancel = replace(call.request, method="CANCEL")
    (refused, cancelled) = call.receive(cancel, 1.0)
    assert isinstance(refused, Respond)
    assert refused.response.status == 487
    assert refused.response.cseq.method == "INVITE"
    assert cancelled == Cancelled()
    assert call.state is CallState.ENDED
    assert call.receive(cancel, 1.1) == []
    assert call.ring() == []
    assert call.reject(486, "") == []
    assert call.answer(OFFER) == [Failed(CallFailure.CANCELLED, 487, "Request Terminated")]


def test_a_rejected_call_answers_once_with_the_headers_given() -> None:
    call = ringing()
    (busy,) = call.reject(488, "Not Acceptable Here", [("Warning", '304 openfax "no T.38"')])
    assert isinstance(busy, Respond)
    assert busy.response.status == 488
    assert busy.response.required("Warning") == '304 openfax "no T.38"'
    assert call.state is CallState.ENDED
    assert call.reject(486, "Busy Here") == []


def test_a_delayed_offers_ack_gives_the_far_ends_answer() -> None:
    call = ringing(body=b"")
    (ok,) = call.answer(OFFER)
    assert isinstance(ok, Respond)
    ack = Request(method="ACK", uri=call.request.uri, headers=ok.response.headers, body=b"")
    with pytest.raises(TelephonyError, match="no SDP answer"):
        call.acked(ack)
    assert call.session.remote_sdp is None
    assert call.acked(replace(ack, body=OFFER.to_bytes())) == OFFER
    assert (call.session.local_sdp, call.session.remote_sdp) == (OFFER, OFFER)


def test_our_bye_is_done_with_at_its_answer_or_after_4_t1() -> None:
    session = SessionMachine(t1=0.5)
    session.bye_sent(10.0)
    assert session.next_timer() == 12.0
    assert session.handle_timer(11.9) == []
    assert session.handle_timer(12.0) == [ByeDone()]
    assert session.bye_answered() == []
    assert session.next_timer() is None
    session.bye_sent(20.0)
    assert session.bye_answered() == [ByeDone()]
    assert session.handle_timer(22.0) == []
    assert session.next_timer() is None


def confirmed_dialog() -> Dialog:
    call = machine()
    invite = started(call)
    ok = response_to(invite, 200, "OK", to_tag="far", headers=[("Contact", "<sip:b@192.0.2.10>")])
    return Dialog.as_uac(invite, ok)


def test_a_request_in_the_dialog_answers_one_digest_challenge() -> None:
    bye = DialogRequest(confirmed_dialog(), "BYE", via(SERVER), authorize=authorize)
    first = bye.start()
    assert first.method == "BYE"
    assert first.headers.get("Authorization") is None
    again = bye.receive(response_to(first, 401, "Unauthorized", headers=[CHALLENGE]))
    assert again is not None
    assert again.cseq.number == first.cseq.number + 1
    assert 'username="fax"' in again.required("Authorization")
    assert bye.receive(response_to(again, 401, "Unauthorized", headers=[CHALLENGE])) is None
    plain = DialogRequest(confirmed_dialog(), "BYE", via(SERVER))  # no password
    request = plain.start()
    assert plain.receive(response_to(request, 407, "Proxy Authentication Required")) is None


def test_a_reinvite_in_the_dialog_carries_its_sdp_and_refreshes_the_target() -> None:
    dialog = confirmed_dialog()
    reinvite = DialogRequest(dialog, "INVITE", via(SERVER), body=OFFER.to_bytes())
    request = reinvite.start()
    assert request.content_type == "application/sdp"
    assert request.body == OFFER.to_bytes()
    moved = [("Contact", "<sip:b@192.0.2.99>")]
    assert reinvite.receive(response_to(request, 200, "OK", headers=moved)) is None
    assert dialog.remote_target == "sip:b@192.0.2.99"


def test_a_refused_update_refresh_is_followed_by_a_reinvite_and_a_refused_one_later() -> None:
    session = SessionMachine(t1=0.5, t2=4.0)
    assert session.refresh_method() == "INVITE"
    session.note_allow(response_to(incoming(), 200, "OK", headers=[("Allow", "INVITE, UPDATE")]))
    assert session.refresh_method() == "UPDATE"
    assert session.refreshed("UPDATE", True, 10.0) is None
    assert session.next_timer() is None
    assert session.refreshed("UPDATE", False, 10.0) == "INVITE"
    assert session.refresh_method() == "INVITE"  # the far end refused it once
    assert session.refreshed("INVITE", False, 10.0) is None
    assert session.next_timer() == 14.0
    assert session.handle_timer(14.0) == [RefreshDue()]


def test_a_request_no_dialog_takes_is_answered_by_its_method() -> None:
    invite = incoming()
    assert outside_dialog(invite, []) is None
    assert outside_dialog(replace(invite, method="CANCEL"), []) is None
    ours = [("User-Agent", "OpenFax")]
    options = outside_dialog(replace(invite, method="OPTIONS"), ours)
    assert options is not None
    assert options.status == 200
    assert options.required("Accept") == "application/sdp"
    assert options.required("User-Agent") == "OpenFax"
    assert options.to.tag is not None
    for method, status in [("BYE", 481), ("MESSAGE", 405)]:
        answer = outside_dialog(replace(invite, method=method), ours)
        assert answer is not None
        assert answer.status == status
    tagged = replace(invite, headers=invite.headers.replace("To", f"<{TARGET}>;tag=gone"))
    answer = outside_dialog(tagged, ours)
    assert answer is not None
    assert answer.status == 481


def test_our_description_keeps_its_origin_unless_it_changes() -> None:
    assert versioned(OFFER, None) is OFFER
    renamed = replace(OFFER, origin=replace(OFFER.origin, version=7))
    assert versioned(renamed, OFFER) is OFFER  # the same session: the version in force
    t38 = make_offer(
        LocalMedia("192.0.2.1", 40000, 40002), Origin(session_id=5), audio=False, t38=True
    )
    changed = versioned(t38, OFFER)
    assert changed.origin == OFFER.origin.next_version()  # RFC 3264 8: one version up
    assert replace(changed, origin=t38.origin) == t38
    ahead = replace(t38, origin=replace(OFFER.origin, version=OFFER.origin.version + 5))
    assert versioned(ahead, OFFER) is ahead


def test_an_offer_refused_keeps_the_warnings_and_a_failed_handler_answers_500() -> None:
    session = SessionMachine()
    reinvite = incoming()
    refusal = SdpNegotiationError("T.38 is off", warnings=((305, "T.38 is off"),))
    refused = session.offer_refused(reinvite, refusal)
    assert (refused.status, refused.reason) == (488, "Not Acceptable Here")
    assert refused.headers.get_all("Warning") == ['305 openfax "T.38 is off"']
    unsupported = SdpNegotiationError("no SDP", status=415)
    assert session.offer_refused(reinvite, unsupported).reason == "Unsupported Media"
    failed = session.offer_refused(reinvite, None)
    assert (failed.status, failed.reason) == (500, "Server Internal Error")
