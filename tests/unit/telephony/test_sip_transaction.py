"""SIP transactions driven by messages and a hand-moved clock: timers A-M as RFC 3261 and
RFC 6026 set them, and client and server wired together over a lossy link."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openfax.errors import SipTransactionError
from openfax.telephony.sip import Request, Response, parse_message, response_to
from openfax.telephony.sip.transaction import (
    AckReceived,
    ClientInviteTransaction,
    ClientTransaction,
    Event,
    ResponseReceived,
    ServerInviteTransaction,
    ServerTransaction,
    State,
    Terminated,
    Timeout,
    Transmit,
    client_key,
    make_cancel,
    server_key,
)


def request(method: str = "INVITE", branch: str = "z9hG4bK776asdhds") -> Request:
    message = parse_message(
        (
            f"{method} sip:bob@biloxi.example.com SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch={branch}\r\n"
            "Route: <sip:proxy.atlanta.example.com;lr>\r\n"
            "Max-Forwards: 70\r\n"
            "To: Bob <sip:bob@biloxi.example.com>\r\n"
            "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
            "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
            f"CSeq: 314159 {method}\r\n\r\n"
        ).encode()
    )
    assert isinstance(message, Request)
    return message


def answer(status: int, reason: str, to: Request | None = None) -> Response:
    return response_to(to or request(), status, reason, to_tag="a6c85cf")


def transmitted(events: list[Event]) -> list[object]:
    return [event.message for event in events if isinstance(event, Transmit)]


Transaction = (
    ClientInviteTransaction | ClientTransaction | ServerInviteTransaction | ServerTransaction
)


def run_timers(transaction: Transaction, until: float) -> list[tuple[float, Event]]:
    """Fire every timer up to ``until``; the events with the time each happened."""
    happened: list[tuple[float, Event]] = []
    while (deadline := transaction.next_timer()) is not None and deadline <= until:
        happened += [(deadline, event) for event in transaction.handle_timer(deadline)]
    return happened


def test_unanswered_invite_is_resent_with_doubling_intervals_until_timer_b() -> None:
    invite = ClientInviteTransaction(request())
    assert transmitted(invite.start(0.0)) == [invite.request]
    happened = run_timers(invite, 100.0)
    resent = [time for time, event in happened if isinstance(event, Transmit)]
    assert resent == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert [event for _, event in happened[-2:]] == [Timeout("B"), Terminated()]
    assert happened[-1][0] == 32.0
    assert invite.terminated


def test_a_proceeding_invite_waits_until_abandoned() -> None:
    invite = ClientInviteTransaction(request())
    invite.start(0.0)
    invite.receive(answer(183, "Session Progress"), 1.0)
    assert run_timers(invite, 1000.0) == []
    assert invite.state is State.PROCEEDING
    assert invite.abandon() == [Terminated()]
    assert invite.terminated
    assert invite.abandon() == []


def test_invite_over_tcp_is_never_resent() -> None:
    invite = ClientInviteTransaction(request(), reliable=True)
    invite.start(0.0)
    happened = run_timers(invite, 100.0)
    assert [event for _, event in happened] == [Timeout("B"), Terminated()]


def test_busy_invite_is_acked_by_the_transaction_and_retransmissions_are_acked_again() -> None:
    invite = ClientInviteTransaction(request())
    invite.start(0.0)
    ringing = answer(180, "Ringing")
    assert invite.receive(ringing, 0.2) == [ResponseReceived(ringing)]
    assert invite.state is State.PROCEEDING
    assert invite.next_timer() == 32.0  # A stopped
    busy = answer(486, "Busy Here")
    events = invite.receive(busy, 1.0)
    assert events[0] == ResponseReceived(busy)
    (ack,) = transmitted(events)
    assert isinstance(ack, Request)
    assert ack.method == "ACK"
    assert ack.uri == invite.request.uri
    assert ack.top_via == invite.request.top_via
    assert ack.to.tag == "a6c85cf"
    assert str(ack.cseq) == "314159 ACK"
    assert ack.headers.get_all("Route") == ["<sip:proxy.atlanta.example.com;lr>"]
    assert transmitted(invite.receive(busy, 2.0)) == [ack]  # not passed up again
    assert invite.receive(answer(180, "Ringing"), 2.5) == []
    assert run_timers(invite, 100.0) == [(33.0, Terminated())]  # timer D: 32 s


def test_invite_2xx_moves_to_accepted_and_passes_retransmissions_up() -> None:
    invite = ClientInviteTransaction(request())
    invite.start(0.0)
    ok = answer(200, "OK")
    assert invite.receive(ok, 0.1) == [ResponseReceived(ok)]
    assert invite.state is State.ACCEPTED
    assert invite.receive(ok, 0.6) == [ResponseReceived(ok)]
    assert run_timers(invite, 100.0) == [(32.1, Terminated())]  # timer M: 64*T1


def test_non_invite_retransmits_up_to_t2_and_times_out_with_timer_f() -> None:
    options = ClientTransaction(request("OPTIONS"))
    options.start(0.0)
    happened = run_timers(options, 100.0)
    resent = [time for time, event in happened if isinstance(event, Transmit)]
    assert resent[:6] == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5]
    assert [event for _, event in happened[-2:]] == [Timeout("F"), Terminated()]


def test_non_invite_after_a_provisional_retransmits_every_t2_then_completes() -> None:
    bye = ClientTransaction(request("BYE"))
    bye.start(0.0)
    trying = answer(100, "Trying", request("BYE"))
    bye.receive(trying, 0.1)
    resent = [time for time, event in run_timers(bye, 8.6) if isinstance(event, Transmit)]
    assert resent == [0.5, 4.5, 8.5]
    ok = answer(200, "OK", request("BYE"))
    assert bye.receive(ok, 9.0) == [ResponseReceived(ok)]
    assert bye.receive(ok, 9.1) == []
    assert run_timers(bye, 100.0) == [(14.0, Terminated())]  # timer K: T4


def test_server_invite_sends_trying_and_resends_the_last_response() -> None:
    invite = request()
    server = ServerInviteTransaction(invite)
    (trying,) = transmitted(server.start(0.0))
    assert isinstance(trying, Response)
    assert trying.status == 100
    assert transmitted(server.receive(invite, 0.5)) == [trying]
    ringing = answer(180, "Ringing")
    server.respond(ringing, 0.6)
    assert transmitted(server.receive(invite, 1.0)) == [ringing]


def test_server_invite_resends_a_failure_until_the_ack_then_waits_t4() -> None:
    invite = request()
    server = ServerInviteTransaction(invite)
    server.start(0.0)
    busy = answer(486, "Busy Here")
    server.respond(busy, 0.0)
    happened = run_timers(server, 8.0)
    assert [time for time, _ in happened] == [0.5, 1.5, 3.5, 7.5]
    ack = ClientInviteTransaction(invite).ack_for(busy)
    assert server.receive(ack, 8.0) == []
    assert server.state is State.CONFIRMED
    assert run_timers(server, 100.0) == [(13.0, Terminated())]  # timer I: T4


def test_server_invite_without_ack_times_out_with_timer_h() -> None:
    server = ServerInviteTransaction(request(), reliable=True)
    server.start(0.0)
    server.respond(answer(603, "Decline"), 0.0)
    assert [event for _, event in run_timers(server, 100.0)] == [Timeout("H"), Terminated()]


def test_server_invite_accepted_passes_the_2xx_ack_up_and_refuses_a_late_1xx() -> None:
    server = ServerInviteTransaction(request())
    server.start(0.0)
    ok = answer(200, "OK")
    server.respond(ok, 1.0)
    assert transmitted(server.respond(ok, 1.5)) == [ok]  # the UAS core's 2xx retransmission
    ack = request("ACK")
    assert server.receive(ack, 2.0) == [AckReceived(ack)]
    with pytest.raises(SipTransactionError, match="cannot send a 180 in state Accepted"):
        server.respond(answer(180, "Ringing"), 2.5)
    assert server.terminated


def test_server_non_invite_answers_retransmissions_and_ends_after_timer_j() -> None:
    options = request("OPTIONS")
    server = ServerTransaction(options)
    assert server.receive(options, 0.1) == []
    ok = answer(200, "OK", options)
    server.respond(ok, 0.2)
    assert transmitted(server.receive(options, 1.0)) == [ok]
    with pytest.raises(SipTransactionError, match="in state Completed"):
        server.respond(ok, 1.1)
    tcp = ServerTransaction(options, reliable=True)
    tcp.respond(ok, 0.0)
    assert tcp.handle_timer(0.0) == [Terminated()]


def test_transactions_refuse_the_wrong_method() -> None:
    with pytest.raises(SipTransactionError, match="cannot send OPTIONS"):
        ClientInviteTransaction(request("OPTIONS"))
    with pytest.raises(SipTransactionError, match="cannot send INVITE"):
        ClientTransaction(request())


def test_keys_match_responses_acks_and_cancels_to_their_transactions() -> None:
    invite = request()
    cancel = make_cancel(invite)
    assert (cancel.method, str(cancel.cseq), cancel.uri) == ("CANCEL", "314159 CANCEL", invite.uri)
    assert cancel.top_via.branch == invite.top_via.branch
    assert parse_message(cancel.to_bytes()) == cancel
    assert client_key(answer(180, "Ringing")) == ("z9hG4bK776asdhds", "INVITE")
    assert server_key(request("ACK")) == server_key(invite)
    assert server_key(cancel) != server_key(invite)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from([("INVITE", 486), ("INVITE", 404), ("OPTIONS", 200), ("OPTIONS", 404)]),
    st.sets(st.integers(0, 11), max_size=3),
)
def test_client_and_server_agree_over_a_link_that_drops_messages(
    call: tuple[str, int], dropped: set[int]
) -> None:
    """The link drops the messages whose place in the order of sending is in ``dropped``:
    retransmissions must still bring the final response to the client exactly once."""
    method, status = call
    outgoing = request(method)
    client: ClientInviteTransaction | ClientTransaction = (
        ClientInviteTransaction(outgoing) if method == "INVITE" else ClientTransaction(outgoing)
    )
    server: ServerInviteTransaction | ServerTransaction | None = None
    final = answer(status, "Final", outgoing)
    link: list[tuple[bool, object]] = []
    sent = 0

    def send(events: list[Event], to_server: bool) -> None:
        nonlocal sent
        for message in transmitted(events):
            if sent not in dropped:
                link.append((to_server, message))
            sent += 1

    received: list[Response] = []
    send(client.start(0.0), True)
    now = 0.0
    for _ in range(500):
        while link:
            to_server, message = link.pop(0)
            if not to_server:
                assert isinstance(message, Response)
                events = client.receive(message, now)
                received += [
                    event.response for event in events if isinstance(event, ResponseReceived)
                ]
                send(events, True)
            elif server is None:
                assert isinstance(message, Request)
                if message.method == "INVITE":
                    server = ServerInviteTransaction(message)
                    send(server.start(now), False)
                else:
                    server = ServerTransaction(message)
                send(server.respond(final, now), False)
            else:
                assert isinstance(message, Request)
                send(server.receive(message, now), False)
        deadlines = [client.next_timer(), server.next_timer() if server else None]
        if all(deadline is None for deadline in deadlines):
            break
        now = min(deadline for deadline in deadlines if deadline is not None)
        send(client.handle_timer(now), True)
        if server is not None:
            send(server.handle_timer(now), False)
    assert [response for response in received if response.status >= 200] == [final]
    assert client.terminated
    assert server is not None
    assert server.terminated


client_actions = st.lists(
    st.one_of(
        st.tuples(st.just("response"), st.integers(100, 699)),
        st.tuples(st.just("time"), st.floats(0.0, 40.0)),
    ),
    max_size=20,
)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["INVITE", "BYE"]), client_actions)
def test_client_transactions_survive_any_response_sequence_and_always_end(
    method: str, actions: list[tuple[str, float]]
) -> None:
    outgoing = request(method)
    client: ClientInviteTransaction | ClientTransaction = (
        ClientInviteTransaction(outgoing) if method == "INVITE" else ClientTransaction(outgoing)
    )
    client.start(0.0)
    now = 0.0
    passed_up: list[Response] = []
    for kind, value in actions:
        if kind == "time":
            now += value
            events = client.handle_timer(now)
        else:
            events = client.receive(answer(int(value), "Any", outgoing), now)
        passed_up += [event.response for event in events if isinstance(event, ResponseReceived)]
    run_timers(client, now + 1000.0)
    if isinstance(client, ClientInviteTransaction) and client.state is State.PROCEEDING:
        # A proceeding INVITE waits for its final response until the user abandons it.
        assert client.next_timer() is None
        assert client.abandon() == [Terminated()]
    assert client.terminated
    assert client.next_timer() is None
    finals = [response.status for response in passed_up if response.status >= 200]
    failures = [status for status in finals if status >= 300]
    assert len(failures) <= 1  # a failure is passed up once, its retransmissions are not
    if method != "INVITE":
        assert len(finals) <= 1


server_actions = st.lists(
    st.one_of(
        st.tuples(st.just("request"), st.just(0)),
        st.tuples(st.just("ack"), st.just(0)),
        st.tuples(st.just("respond"), st.integers(100, 699)),
        st.tuples(st.just("time"), st.integers(0, 40)),
    ),
    max_size=20,
)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["INVITE", "OPTIONS"]), server_actions)
def test_server_transactions_refuse_misuse_by_ending_and_never_fail_on_peer_input(
    method: str, actions: list[tuple[str, int]]
) -> None:
    incoming = request(method)
    server: ServerInviteTransaction | ServerTransaction = (
        ServerInviteTransaction(incoming) if method == "INVITE" else ServerTransaction(incoming)
    )
    now = 0.0
    for kind, value in actions:
        if kind == "time":
            now += value
            server.handle_timer(now)
        elif kind == "request":
            server.receive(incoming, now)
        elif kind == "ack":
            server.receive(request("ACK"), now)
        else:
            try:
                server.respond(answer(value, "Any", incoming), now)
            except SipTransactionError:
                assert server.terminated
    deadline = server.next_timer()
    if deadline is not None:
        run_timers(server, deadline + 1000.0)
        assert server.terminated
