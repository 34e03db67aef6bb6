"""SIP dialogs: route sets, requests inside a dialog, the re-INVITE rules, and a whole fax
call (INVITE, re-INVITE to T.38, BYE) between two ends wired in memory."""

from __future__ import annotations

import random

import pytest

from openfax.errors import SipParseError, SipTransactionError
from openfax.telephony.sdp import (
    LocalMedia,
    Origin,
    StreamKind,
    make_answer,
    make_offer,
    parse_sdp,
    read_answer,
)
from openfax.telephony.sip import Request, Response, Via, parse_message, response_to
from openfax.telephony.sip.dialog import Dialog, DialogState, Refusal, new_tag, requires
from openfax.telephony.sip.transaction import (
    ClientInviteTransaction,
    ClientTransaction,
    ResponseReceived,
    ServerInviteTransaction,
    ServerTransaction,
    Transmit,
)

CALLER_VIA = Via("UDP", "192.0.2.10", 5060)
CALLEE_VIA = Via("UDP", "198.51.100.20", 5060)


def invite(body: bytes = b"") -> Request:
    message = parse_message(
        (
            "INVITE sip:+15551234@carrier.example.com SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK74bf9;rport\r\n"
            "Max-Forwards: 70\r\n"
            "From: <sip:fax@192.0.2.10>;tag=9fxced76sl\r\n"
            "To: <sip:+15551234@carrier.example.com>\r\n"
            "Call-ID: 3848276298220188511@192.0.2.10\r\n"
            "CSeq: 1 INVITE\r\n"
            "Contact: <sip:fax@192.0.2.10:5060>\r\n"
            "Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
            "Content-Type: application/sdp\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
    )
    assert isinstance(message, Request)
    return message


def ok_from_callee(request: Request, body: bytes = b"") -> Response:
    return response_to(
        request,
        200,
        "OK",
        to_tag="314159",
        headers=[
            ("Record-Route", "<sip:p1.example.com;lr>, <sip:p2.example.com;lr>"),
            ("Contact", "<sip:gw@198.51.100.20:5060>"),
        ],
        body=body,
    )


def test_uac_dialog_reverses_the_record_route_and_targets_the_contact() -> None:
    request = invite()
    dialog = Dialog.as_uac(request, ok_from_callee(request))
    assert dialog.state is DialogState.CONFIRMED
    assert dialog.id == ("3848276298220188511@192.0.2.10", "9fxced76sl", "314159")
    assert dialog.route_set == ("sip:p2.example.com;lr", "sip:p1.example.com;lr")
    bye = dialog.request("BYE", CALLER_VIA)
    assert bye.uri == "sip:gw@198.51.100.20:5060"
    assert bye.headers.get_all("Route") == ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
    assert (str(bye.cseq), bye.from_.tag, bye.to.tag) == ("2 BYE", "9fxced76sl", "314159")
    assert bye.top_via.branch is not None
    assert bye.top_via.branch.startswith("z9hG4bK")
    assert bye.top_via.branch != dialog.request("OPTIONS", CALLER_VIA).top_via.branch
    assert parse_message(bye.to_bytes()) == bye


def test_uas_dialog_keeps_the_record_route_order_and_sends_its_contact_on_reinvite() -> None:
    tag = new_tag()
    assert len(tag) == 12
    assert tag != new_tag()
    dialog = Dialog.as_uas(invite(), local_tag=tag, local_contact="sip:gw@198.51.100.20")
    assert dialog.route_set == ("sip:p1.example.com;lr", "sip:p2.example.com;lr")
    reinvite = dialog.request("INVITE", CALLEE_VIA)
    assert reinvite.uri == "sip:fax@192.0.2.10:5060"
    assert reinvite.from_.tag == tag
    assert reinvite.to.tag == "9fxced76sl"
    assert reinvite.contacts[0].uri == "sip:gw@198.51.100.20"
    assert reinvite.cseq.number == dialog.local_seq


def test_a_strict_router_first_becomes_the_request_uri() -> None:
    request = invite()
    ok = ok_from_callee(request).headers.replace("Record-Route", "<sip:strict.example.com>")
    dialog = Dialog.as_uac(request, Response(status=200, reason="OK", headers=ok))
    bye = dialog.request("BYE", CALLER_VIA)
    assert bye.uri == "sip:strict.example.com"
    assert bye.headers.get_all("Route") == ["<sip:gw@198.51.100.20:5060>"]


def test_ack_of_a_2xx_takes_the_invites_cseq() -> None:
    request = invite()
    dialog = Dialog.as_uac(request, ok_from_callee(request))
    assert str(dialog.request("ACK", CALLER_VIA, cseq=1).cseq) == "1 ACK"
    assert dialog.local_seq == 1
    with pytest.raises(SipTransactionError, match="needs the CSeq"):
        dialog.request("ACK", CALLER_VIA)


def test_early_dialog_from_a_ringing_and_none_from_a_failure() -> None:
    request = invite()
    ringing = response_to(request, 180, "Ringing", to_tag="314159")
    dialog = Dialog.as_uac(request, ringing)
    assert dialog.state is DialogState.EARLY
    dialog.confirm(ok_from_callee(request))
    assert dialog.state is DialogState.CONFIRMED
    assert dialog.remote_target == "sip:gw@198.51.100.20:5060"
    with pytest.raises(SipTransactionError, match="486 response creates no dialog"):
        Dialog.as_uac(request, response_to(request, 486, "Busy Here", to_tag="x"))
    with pytest.raises(SipParseError, match="without a To tag"):
        Dialog.as_uac(request, response_to(request, 180, "Ringing"))


def test_a_forked_invite_answered_twice_gives_each_branch_its_ack_and_bye() -> None:
    """RFC 3261 13.2.2.4: the INVITE transaction passes up the 2xx of every branch (and
    their retransmissions) while Accepted; each 2xx makes its own dialog, so the ACK and
    the BYE of the branch not kept carry its To tag and go to its Contact."""
    request = invite()
    transaction = ClientInviteTransaction(request)
    transaction.start(0.0)
    kept = ok_from_callee(request)
    other = response_to(
        request, 200, "OK", to_tag="271828", headers=[("Contact", "<sip:gw2@203.0.113.7>")]
    )
    passed = [
        event.response
        for response in (kept, other, other)
        for event in transaction.receive(response, 0.1)
        if isinstance(event, ResponseReceived)
    ]
    assert passed == [kept, other, other]
    first, second = Dialog.as_uac(request, kept), Dialog.as_uac(request, other)
    assert first.id != second.id
    ack = second.request("ACK", CALLER_VIA, cseq=request.cseq.number)
    bye = second.request("BYE", CALLER_VIA)
    assert (ack.uri, ack.to.tag, ack.cseq.number) == ("sip:gw2@203.0.113.7", "271828", 1)
    assert (bye.uri, bye.to.tag, bye.cseq.number) == ("sip:gw2@203.0.113.7", "271828", 2)
    assert first.remote_target == "sip:gw@198.51.100.20:5060"


def reliable(request: Request, status: int, rseq: str) -> Response:
    return response_to(
        request,
        status,
        "Ringing",
        to_tag="314159",
        headers=[
            ("Record-Route", "<sip:p1.example.com;lr>, <sip:p2.example.com;lr>"),
            ("Contact", "<sip:early@198.51.100.20>"),
            ("Require", "100rel"),
            ("RSeq", rseq),
        ],
    )


def test_reliable_provisionals_are_pracked_in_order_and_once() -> None:
    """RFC 3262: each new RSeq gets a PRACK with RAck (RSeq, CSeq number, method) in the
    early dialog; a retransmission, a gap or a bad RSeq gets none."""
    request = invite()
    ringing = reliable(request, 180, "7")
    assert requires(ringing, "100rel")
    assert not requires(request, "100rel")
    dialog = Dialog.as_uac(request, ringing)
    assert dialog.state is DialogState.EARLY
    first = dialog.prack(ringing, CALLER_VIA)
    assert first is not None
    assert (first.method, first.uri, first.required("RAck")) == (
        "PRACK",
        "sip:early@198.51.100.20",
        "7 1 INVITE",
    )
    assert (first.cseq.number, first.to.tag) == (2, "314159")
    assert first.headers.get_all("Route") == ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
    assert dialog.prack(ringing, CALLER_VIA) is None  # a retransmission
    assert dialog.prack(reliable(request, 183, "9"), CALLER_VIA) is None  # 8 is missing
    for bad in ("0", "x", str(2**31)):
        assert dialog.prack(reliable(request, 183, bad), CALLER_VIA) is None
    second = dialog.prack(reliable(request, 183, "8"), CALLER_VIA)
    assert second is not None
    assert second.required("RAck") == "8 1 INVITE"
    assert second.cseq.number == 3
    # The 2xx confirms the same dialog: its Contact and Record-Route now, the CSeq goes on.
    answer = response_to(
        request,
        200,
        "OK",
        to_tag="314159",
        headers=[("Contact", "<sip:gw@198.51.100.20>"), ("Record-Route", "<sip:p3.example;lr>")],
    )
    dialog.confirm(answer)
    bye = dialog.request("BYE", CALLER_VIA)
    assert dialog.state is DialogState.CONFIRMED
    assert (bye.uri, bye.cseq.number) == ("sip:gw@198.51.100.20", 4)
    assert bye.headers.get_all("Route") == ["<sip:p3.example;lr>"]


def test_reinvites_crossing_are_refused_with_491_and_retried_after_the_rfc_delay() -> None:
    request = invite()
    caller = Dialog.as_uac(request, ok_from_callee(request))
    callee = Dialog.as_uas(request, local_tag="314159", local_contact="sip:gw@198.51.100.20")
    ours = caller.request("INVITE", CALLER_VIA)
    theirs = callee.request("INVITE", CALLEE_VIA)
    assert caller.receive(theirs) == Refusal(491, "Request Pending")
    assert callee.receive(ours) == Refusal(491, "Request Pending")
    with pytest.raises(SipTransactionError, match="already in progress"):
        caller.request("INVITE", CALLER_VIA)
    rng = random.Random(1)
    assert all(2.1 <= caller.glare_retry_delay(rng) <= 4.0 for _ in range(50))
    assert all(0.0 <= callee.glare_retry_delay(rng) <= 2.0 for _ in range(50))
    caller.invite_finished(response_to(ours, 491, "Request Pending"))
    callee.invite_finished(response_to(theirs, 491, "Request Pending"))
    assert caller.receive(callee.request("INVITE", CALLEE_VIA)) is None


def test_a_second_reinvite_before_the_first_is_answered_gets_500_with_retry_after() -> None:
    request = invite()
    callee = Dialog.as_uas(request, local_tag="314159", local_contact="sip:gw@198.51.100.20")
    caller = Dialog.as_uac(request, ok_from_callee(request))
    first = caller.request("INVITE", CALLER_VIA)
    assert callee.receive(first) is None
    caller.invite_finished(response_to(first, 200, "OK"))
    second = caller.request("INVITE", CALLER_VIA)
    refusal = callee.receive(second)
    assert refusal is not None
    assert refusal.status == 500
    assert refusal.retry_after is not None
    assert 0 <= refusal.retry_after <= 10
    callee.answered(response_to(first, 200, "OK"))
    assert callee.receive(second) is None


def test_out_of_order_cseq_is_refused_and_bye_ends_the_dialog() -> None:
    request = invite()
    callee = Dialog.as_uas(request, local_tag="314159", local_contact="sip:gw@198.51.100.20")
    caller = Dialog.as_uac(request, ok_from_callee(request))
    options = caller.request("OPTIONS", CALLER_VIA)
    bye = caller.request("BYE", CALLER_VIA)
    assert callee.receive(bye) is None
    assert callee.state is DialogState.TERMINATED
    refusal = callee.receive(options)
    assert refusal is not None
    assert refusal.status == 500
    with pytest.raises(SipTransactionError, match="terminated dialog"):
        callee.request("BYE", CALLEE_VIA)


def test_a_whole_fax_call_with_a_reinvite_to_t38_between_two_ends_in_memory() -> None:
    caller_media = LocalMedia("192.0.2.10", 20000, t38_port=20002, prefer_t38=False)
    callee_media = LocalMedia("198.51.100.20", 30000, t38_port=30002, prefer_t38=False)
    caller_origin, callee_origin = Origin("caller", 1, 1), Origin("callee", 2, 1)

    # INVITE with a G.711 offer; the callee rings, then answers with audio.
    offer = make_offer(caller_media, caller_origin)
    outgoing = invite(offer.to_bytes())
    uac = ClientInviteTransaction(outgoing)
    (sent,) = [event.message for event in uac.start(0.0) if isinstance(event, Transmit)]
    assert isinstance(sent, Request)
    arrived = parse_message(sent.to_bytes())
    assert isinstance(arrived, Request)
    uas = ServerInviteTransaction(arrived)
    uas.start(0.0)
    answer, callee_stream = make_answer(parse_sdp(arrived.body), callee_media, callee_origin)
    assert callee_stream.kind is StreamKind.AUDIO
    ok = ok_from_callee(arrived, answer.to_bytes())
    (delivered,) = [event.message for event in uas.respond(ok, 0.1) if isinstance(event, Transmit)]
    assert isinstance(delivered, Response)
    got = [e.response for e in uac.receive(delivered, 0.2) if isinstance(e, ResponseReceived)]
    assert [response.status for response in got] == [200]
    caller_stream = read_answer(offer, parse_sdp(got[0].body))
    assert (caller_stream.kind, caller_stream.remote_port) == (StreamKind.AUDIO, 30000)
    caller = Dialog.as_uac(outgoing, got[0])
    callee = Dialog.as_uas(arrived, local_tag="314159", local_contact="sip:gw@198.51.100.20")
    ack = caller.request("ACK", CALLER_VIA, cseq=outgoing.cseq.number)
    assert callee.receive(ack) is None
    assert ack.cseq.number == 1

    # The callee detects fax tones and re-INVITEs to T.38; the caller accepts.
    t38_offer = make_offer(callee_media, callee_origin.next_version(), audio=False, t38=True)
    reinvite = callee.request("INVITE", CALLEE_VIA, body=t38_offer.to_bytes())
    assert caller.receive(reinvite) is None
    t38_answer, stream = make_answer(
        parse_sdp(reinvite.body), caller_media, caller_origin.next_version()
    )
    assert (stream.kind, stream.remote_port) == (StreamKind.T38, 30002)
    reinvite_ok = response_to(
        reinvite,
        200,
        "OK",
        headers=[("Contact", "<sip:fax@192.0.2.10:5060>")],
        body=t38_answer.to_bytes(),
    )
    caller.answered(reinvite_ok)
    callee.invite_finished(reinvite_ok)
    agreed = read_answer(t38_offer, parse_sdp(reinvite_ok.body))
    assert (agreed.kind, agreed.remote_port) == (StreamKind.T38, 20002)

    # The fax is done: the caller hangs up with BYE in its own transaction.
    bye = caller.request("BYE", CALLER_VIA)
    client = ClientTransaction(bye)
    client.start(10.0)
    assert callee.receive(bye) is None
    assert callee.state is DialogState.TERMINATED
    server = ServerTransaction(bye)
    (bye_ok,) = [
        event.message
        for event in server.respond(response_to(bye, 200, "OK"), 10.1)
        if isinstance(event, Transmit)
    ]
    assert isinstance(bye_ok, Response)
    assert client.receive(bye_ok, 10.2) == [ResponseReceived(bye_ok)]
    caller.terminate()
    assert (caller.state, str(bye.cseq)) == (DialogState.TERMINATED, "2 BYE")
