"""The two ends of a call as their sans-I/O machines wired to each other with a hand-moved
clock, milliseconds each: answered, refused with each cause, cancelled, not answered in time,
crossing re-INVITEs, session refreshes. The user agent over real sockets:
tests/integration/telephony/test_sip_useragent.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from openfax.telephony.sdp import (
    LocalMedia,
    Origin,
    SessionDescription,
    make_answer,
    make_offer,
)
from openfax.telephony.sip import (
    Request,
    Response,
    Via,
)
from openfax.telephony.sip.call import (
    Acked,
    CallMachine,
    Cancelled,
    Connected,
    DialogRequest,
    Failed,
    IncomingCallMachine,
    IncomingInvite,
    Locate,
    OfferReceived,
    OfferTaken,
    Progress,
    RefreshDue,
    Respond,
    RetryDue,
    SendAck,
    SendCancel,
    SendInvite,
    SessionMachine,
    body_sdp,
    incoming_invite,
)
from openfax.telephony.sip.location import FailedTargets, Targets
from openfax.telephony.sip.transaction import TimerValues
from openfax.telephony.sip.transport import Peer as Address
from openfax.telephony.sip.useragent import (
    CallFailure,
    CallState,
    OfferHandler,
)

FAST = TimerValues(t1=0.05, t2=0.4, t4=0.5)
"""Short RFC timers so that a lost call or a missing ACK fails within seconds."""

CALLER_MEDIA = LocalMedia("127.0.0.1", 40000, 40002)
CALLEE_MEDIA = LocalMedia("127.0.0.1", 41000, 41002, prefer_t38=False)


def audio_offer(media: LocalMedia = CALLER_MEDIA, session_id: int = 1) -> SessionDescription:
    return make_offer(media, Origin(session_id=session_id, address="127.0.0.1"))


def t38_offer(media: LocalMedia, session_id: int) -> SessionDescription:
    origin = Origin(session_id=session_id, address="127.0.0.1")
    return make_offer(media, origin, audio=False, t38=True)


def accept_with(media: LocalMedia, session_id: int) -> OfferHandler:
    """An offer handler answering any offer the way ``make_answer`` does."""

    async def answer(offer: SessionDescription) -> SessionDescription:
        description, _ = make_answer(offer, media, Origin(session_id=session_id))
        return description

    return answer


# --- The two ends' machines wired to each other: no sockets, a hand-moved clock ----------------

A_HOST = Address("UDP", "192.0.2.1", 5060)
B_HOST = Address("UDP", "192.0.2.2", 5060)


def via_of(host: Address) -> Callable[[Address], Via]:
    return lambda peer: Via(peer.transport, host.host, host.port, {"rport": None})


def placing(
    offer: SessionDescription | None = None, ring_timeout: float | None = 60.0
) -> CallMachine:
    """The caller's machine, its INVITE not sent yet."""
    return CallMachine(
        f"sip:+15551234@{B_HOST.host}",
        audio_offer() if offer is None else offer,
        call_id="pair-1@openfax",
        local_tag="caller",
        from_=f"<sip:caller@{A_HOST.host}>;tag=caller",
        via=via_of(A_HOST),
        contact=lambda peer: f"sip:caller@{A_HOST.host}:5060",
        headers=(("Supported", "timer, 100rel"),),
        session_expires=1800,
        ring_timeout=ring_timeout,
        t1=FAST.t1,
    )


def invited(caller: CallMachine, now: float = 0.0) -> tuple[Request, IncomingCallMachine]:
    """Start the call: its INVITE and the callee's machine for it."""
    (locate,) = caller.start()
    assert isinstance(locate, Locate)
    targets = Targets(B_HOST.host, [B_HOST], FailedTargets())
    (send,) = caller.located(targets, now)
    assert isinstance(send, SendInvite)
    assert send.peer == B_HOST
    taken = incoming_invite(send.request, min_se=90)
    assert isinstance(taken, IncomingInvite)
    callee = IncomingCallMachine(
        send.request,
        taken,
        local_tag="callee",
        contact=f"sip:callee@{B_HOST.host}:5060",
        headers=[("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE")],
        t1=FAST.t1,
        t2=FAST.t2,
    )
    return send.request, callee


def responded(events: list[Any]) -> Response:
    (respond,) = [event for event in events if isinstance(event, Respond)]
    assert isinstance(respond, Respond)
    return respond.response


def test_machines_a_call_is_rung_answered_and_acked() -> None:
    caller = placing()
    invite, callee = invited(caller)
    assert callee.request.call_id == invite.call_id
    assert callee.offer is not None
    assert caller.receive(responded(callee.ring()), 0.01) == [Progress(180, None)]
    assert caller.state is CallState.RINGING
    assert callee.state is CallState.RINGING
    answer, _ = make_answer(callee.offer, CALLEE_MEDIA, Origin(session_id=2))
    ok = responded(callee.answer(answer))
    ack, connected = caller.receive(ok, 0.02)
    assert isinstance(ack, SendAck)
    assert connected == Connected(answer, ok)
    assert callee.acked(ack.request) is None
    assert caller.state is callee.state is CallState.CONNECTED
    assert caller.dialog is not None
    assert callee.dialog is not None
    assert (caller.dialog.local_tag, caller.dialog.remote_tag) == ("caller", "callee")
    assert (callee.dialog.local_tag, callee.dialog.remote_tag) == ("callee", "caller")
    # RFC 4028: the caller said it can refresh, so it does, at half the interval.
    assert (caller.timer.interval, caller.timer.we_refresh) == (1800, True)
    assert (callee.timer.interval, callee.timer.we_refresh) == (1800, False)
    assert caller.next_timer() is None


@pytest.mark.parametrize(
    ("status", "reason", "cause"),
    [
        (486, "Busy Here", CallFailure.BUSY),
        (600, "Busy Everywhere", CallFailure.BUSY),
        (404, "Not Found", CallFailure.NOT_FOUND),
        (484, "Address Incomplete", CallFailure.NOT_FOUND),
        (603, "Decline", CallFailure.REJECTED),
        (480, "Temporarily Unavailable", CallFailure.NO_ANSWER),
        (503, "Service Unavailable", CallFailure.UNREACHABLE),
    ],
)
def test_machines_a_refused_call_fails_with_its_cause(
    status: int, reason: str, cause: CallFailure
) -> None:
    caller = placing()
    _, callee = invited(caller)
    refusal = responded(callee.reject(status, reason))
    assert caller.receive(refusal, 0.01) == [Failed(cause, status, reason)]
    assert caller.state is callee.state is CallState.ENDED
    assert caller.final == refusal
    assert caller.next_timer() is None


def test_machines_a_call_cancelled_while_ringing_ends_at_both_ends() -> None:
    caller = placing()
    _, callee = invited(caller)
    caller.receive(responded(callee.ring()), 0.01)
    failed, cancel = caller.hang_up(0.02)
    assert failed == Failed(CallFailure.CANCELLED, 487, "Request Terminated")
    assert isinstance(cancel, SendCancel)
    assert cancel.request.method == "CANCEL"
    terminated, cancelled = callee.receive(cancel.request, 0.03)
    assert isinstance(terminated, Respond)
    assert terminated.response.status == 487
    assert cancelled == Cancelled()
    assert callee.state is CallState.ENDED
    assert caller.receive(terminated.response, 0.04) == []  # failed once already
    assert caller.next_timer() is None
    assert callee.answer(audio_offer(CALLEE_MEDIA, 2))[0] == failed


def test_machines_no_answer_within_the_ring_timeout_cancels_the_call() -> None:
    caller = placing(ring_timeout=0.3)
    _, callee = invited(caller)
    caller.receive(responded(callee.ring()), 0.01)
    assert caller.next_timer() == 0.3
    assert caller.handle_timer(0.29) == []
    (cancel,) = caller.handle_timer(0.3)
    assert isinstance(cancel, SendCancel)
    terminated, cancelled = callee.receive(cancel.request, 0.31)
    assert cancelled == Cancelled()  # the callee's call ends as cancelled
    assert isinstance(terminated, Respond)
    (failed,) = caller.receive(terminated.response, 0.32)
    assert isinstance(failed, Failed)
    assert failed.cause is CallFailure.NO_ANSWER
    assert callee.state is CallState.ENDED


def connected_pair() -> tuple[CallMachine, IncomingCallMachine]:
    caller = placing()
    _, callee = invited(caller)
    assert callee.offer is not None
    answer, _ = make_answer(callee.offer, CALLEE_MEDIA, Origin(session_id=2))
    ack, _ = caller.receive(responded(callee.answer(answer)), 0.0)
    assert isinstance(ack, SendAck)
    callee.acked(ack.request)
    return caller, callee


def t38_answer(offer: SessionDescription, media: LocalMedia, session_id: int) -> SessionDescription:
    description, _ = make_answer(offer, media, Origin(session_id=session_id))
    return description


def test_machines_crossing_reinvites_are_resolved_by_491_and_a_retry() -> None:
    caller, callee = connected_pair()
    assert caller.dialog is not None
    assert callee.dialog is not None
    ours = SessionMachine(t1=FAST.t1, t2=FAST.t2, glare_retries=1)
    ours.remote_sdp, ours.timer = callee.offer, caller.timer
    theirs = callee.session
    ours.begin_offer()
    theirs.begin_offer()
    my_offer, their_offer = t38_offer(CALLER_MEDIA, 1), t38_offer(CALLEE_MEDIA, 2)
    mine = DialogRequest(caller.dialog, "INVITE", via_of(A_HOST)(B_HOST), body=my_offer.to_bytes())
    their = DialogRequest(
        callee.dialog, "INVITE", via_of(B_HOST)(A_HOST), body=their_offer.to_bytes()
    )
    mine_sent, their_sent = mine.start(), their.start()
    (glare_here,) = ours.request_received(caller.dialog, their_sent, [])
    (glare_there,) = theirs.request_received(callee.dialog, mine_sent, [])
    assert isinstance(glare_here, Respond)
    assert isinstance(glare_there, Respond)
    assert glare_here.response.status == glare_there.response.status == 491
    assert mine.receive(glare_there.response) is None
    assert their.receive(glare_here.response) is None
    # RFC 3261 14.1: the owner of the Call-ID waits 2.1-4 s, the other end 0-2 s.
    assert ours.glare(491, caller.dialog, 1.0)
    assert theirs.glare(491, callee.dialog, 1.0)
    mine_due, their_due = ours.next_timer(), theirs.next_timer()
    assert mine_due is not None
    assert their_due is not None
    mine_wait, their_wait = mine_due - 1.0, their_due - 1.0
    assert 0.0 <= their_wait <= 2.0 < 2.1 <= mine_wait <= 4.0
    # No retries left (ours had one), or another refusal: the answer stands.
    assert not ours.glare(491, caller.dialog, 1.0)
    assert not theirs.glare(488, callee.dialog, 1.0)
    # Theirs falls due first, is taken and answered: accepted.
    assert theirs.handle_timer(their_due) == [RetryDue()]
    retried = their.start()
    (taken,) = ours.request_received(caller.dialog, retried, [])
    assert isinstance(taken, OfferReceived)
    offered = ours.offer_received(retried, min_se=90, connected=True)
    assert isinstance(offered, OfferTaken)
    assert (offered.offer, offered.refresh) == (their_offer, False)
    # Our answer (other ports) differs from the offer ours will retry with.
    our_answer = t38_answer(their_offer, LocalMedia("127.0.0.1", 40000, 40004), 3)
    ok = ours.offer_accepted(
        retried, offered, contact=f"sip:caller@{A_HOST.host}", headers=[], answer=our_answer
    )
    caller.dialog.answered(ok)
    assert their.receive(ok) is None
    result, events = theirs.offer_answered("INVITE", their_offer, ok, None)
    assert (result.accepted, result.answer, events) == (True, our_answer, [])
    assert (ours.local_sdp, ours.remote_sdp) == (our_answer, their_offer)
    assert (theirs.local_sdp, theirs.remote_sdp) == (their_offer, our_answer)
    # Ours falls due after theirs was answered: taken and accepted too.
    assert ours.handle_timer(mine_due) == [RetryDue()]
    again = mine.start()
    (taken,) = theirs.request_received(callee.dialog, again, [])
    assert isinstance(taken, OfferReceived)
    offered = theirs.offer_received(again, min_se=90, connected=True)
    assert isinstance(offered, OfferTaken)
    assert (offered.offer, offered.refresh) == (my_offer, False)
    ok = theirs.offer_accepted(
        again,
        offered,
        contact=callee.contact,
        headers=[],
        answer=t38_answer(my_offer, CALLEE_MEDIA, 2),
    )
    # Their answer repeats their session in force: that one, its version kept (RFC 3264 8).
    their_answer = theirs.local_sdp
    assert their_answer is their_offer
    callee.dialog.answered(ok)
    theirs.sent_2xx(ok, A_HOST, mine_due)
    assert theirs.next_timer() == mine_due + FAST.t1  # resent until our ACK
    assert mine.receive(ok) is None
    result, events = ours.offer_answered("INVITE", my_offer, ok, None)
    assert (result.accepted, result.answer, events) == (True, their_answer, [])
    assert (ours.local_sdp, ours.remote_sdp) == (my_offer, their_answer)
    assert (theirs.local_sdp, theirs.remote_sdp) == (their_answer, my_offer)
    # Its 2xx is ACKed, and a retransmission of it with the same ACK to the same hop.
    assert ours.ack_again(ok) is None
    ack, hop = ours.ack_2xx(caller.dialog, ok, via_of(A_HOST)(B_HOST), B_HOST)
    assert (ack.method, ack.cseq.number, hop) == ("ACK", again.cseq.number, B_HOST)
    assert ours.ack_again(ok) == ours.ack_2xx(caller.dialog, ok, via_of(A_HOST)(B_HOST), A_HOST)
    assert ours.ack_again(ok) == (ack, B_HOST)
    assert theirs.acked(ack) == [Acked(ack)]
    assert theirs.next_timer() is None
    assert caller.state is callee.state is CallState.CONNECTED
    assert ours.next_timer() is None


def refresh(
    ours: SessionMachine,
    caller: CallMachine,
    callee: IncomingCallMachine,
    method: str,
    session: tuple[SessionDescription, SessionDescription],
    now: float,
) -> None:
    """One session refresh by ``method`` from the caller (whose session is ``session``,
    ours and theirs), answered by the callee: accepted, the media left alone."""
    assert caller.dialog is not None
    assert callee.dialog is not None
    local, remote = session
    offer = None if method == "UPDATE" else local
    body = b"" if offer is None else offer.to_bytes()
    exchange = DialogRequest(caller.dialog, method, via_of(A_HOST)(B_HOST), body=body)
    request = exchange.start()
    (taken,) = callee.session.request_received(callee.dialog, request, [])
    assert isinstance(taken, OfferReceived)
    assert (callee.session.local_sdp, callee.session.remote_sdp) == (remote, local)
    offered = callee.session.offer_received(request, min_se=90, connected=True)
    assert isinstance(offered, OfferTaken)
    assert offered.refresh  # never an offer for the user to answer
    ok = callee.session.offer_accepted(request, offered, contact=callee.contact, headers=[])
    assert ok.status == 200
    if method == "INVITE":
        callee.dialog.answered(ok)
        assert body_sdp(ok) == remote  # the session the far end has, unchanged
    else:
        assert ok.body == b""
    assert exchange.receive(ok) is None
    result, events = ours.offer_answered(method, offer, ok, None)
    assert (result.accepted, events) == (True, [])
    assert result.answer in (None, remote)
    assert (ours.local_sdp, ours.remote_sdp) == session  # the media left alone
    assert (callee.session.local_sdp, callee.session.remote_sdp) == (remote, local)
    assert ours.refreshed(method, result.accepted, now) is None


def test_machines_session_refreshes_leave_the_t38_session_alone() -> None:
    caller, callee = connected_pair()
    assert caller.dialog is not None
    assert callee.dialog is not None
    ours = SessionMachine(t1=FAST.t1, t2=FAST.t2)
    ours.timer = caller.timer
    # The receiving end switched the call to T.38 first.
    t38 = t38_offer(CALLEE_MEDIA, 2)
    switch = DialogRequest(
        callee.dialog,
        "INVITE",
        via_of(B_HOST)(A_HOST),
        headers=(("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE"),),
        body=t38.to_bytes(),
    )
    request = switch.start()
    assert ours.request_received(caller.dialog, request, []) == [OfferReceived(request)]
    offered = ours.offer_received(request, min_se=90, connected=True)
    assert isinstance(offered, OfferTaken)
    assert offered.offer == t38
    answer = t38_answer(t38, CALLER_MEDIA, 1)
    ok = ours.offer_accepted(
        request, offered, contact="sip:caller@192.0.2.1", headers=[], answer=answer
    )
    caller.dialog.answered(ok)
    assert switch.receive(ok) is None
    result, _ = callee.session.offer_answered("INVITE", t38, ok, None)
    assert result.accepted
    session = (answer, t38)  # the caller's session and the callee's
    assert (ours.local_sdp, ours.remote_sdp) == session
    assert (ours.refreshes, callee.session.refreshes) == (0, 0)
    # The caller refreshes at half the interval: by UPDATE, which the far end allows (its
    # re-INVITE said so), then by re-INVITE once a refused UPDATE taught it otherwise.
    assert ours.peer_allows_update
    ours.arm(0.0)
    for now in (900.0, 1800.0):
        assert ours.next_timer() == now
        assert ours.handle_timer(now) == [RefreshDue()]
        assert ours.refresh_method() == "UPDATE"
        refresh(ours, caller, callee, "UPDATE", session, now)
        ours.arm(now)
    assert ours.refreshed("UPDATE", False, now) == "INVITE"
    assert ours.refresh_method() == "INVITE"
    refresh(ours, caller, callee, "INVITE", session, now)
    assert ours.refreshes >= 2
    assert callee.session.refreshes >= 2
    assert caller.state is callee.state is CallState.CONNECTED


def test_machines_a_session_refresh_by_update_leaves_the_media_alone() -> None:
    caller, callee = connected_pair()
    assert caller.dialog is not None
    assert callee.dialog is not None
    ours = SessionMachine()
    ours.timer = caller.timer
    ours.arm(0.0)
    assert ours.next_timer() == 900.0
    assert ours.handle_timer(900.0) == [RefreshDue()]
    update = DialogRequest(caller.dialog, "UPDATE", via_of(A_HOST)(B_HOST))
    request = update.start()
    (taken,) = callee.session.request_received(callee.dialog, request, [])
    assert isinstance(taken, OfferReceived)
    offer = callee.session.offer_received(request, min_se=90, connected=True)
    assert isinstance(offer, OfferTaken)
    assert offer.refresh
    assert offer.offer is None
    ok = callee.session.offer_accepted(request, offer, contact=callee.contact, headers=[])
    assert ok.status == 200
    assert ok.body == b""
    assert update.receive(ok) is None
    result, events = ours.offer_answered("UPDATE", None, ok, None)
    assert (result.accepted, result.answer, events) == (True, None, [])
    assert ours.local_sdp is ours.remote_sdp is None  # nothing offered, nothing changed


# --- Two user agents over real sockets on 127.0.0.1 -------------------------------------------
