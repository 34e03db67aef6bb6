"""The target set of an outgoing INVITE (RFC 3261 8.1.3.4): Contacts of a 3xx in q order,
each URI once, the hop limit, and the redirections that cannot be followed."""

from __future__ import annotations

import pytest

from openfax.errors import SipTransactionError
from openfax.telephony.sip import Request, Response, parse_message, response_to
from openfax.telephony.sip.redirect import MAX_PENDING, TargetSet

TARGET = "sip:+15551234@carrier.example.com"


def invite() -> Request:
    message = parse_message(
        (
            f"INVITE {TARGET} SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK74bf9\r\n"
            "From: <sip:fax@192.0.2.10>;tag=9fxced76sl\r\n"
            f"To: <{TARGET}>\r\n"
            "Call-ID: 3848276298220188511@192.0.2.10\r\n"
            "CSeq: 1 INVITE\r\n\r\n"
        ).encode()
    )
    assert isinstance(message, Request)
    return message


def redirect(status: int, *contacts: str) -> Response:
    headers = [("Contact", contact) for contact in contacts]
    return response_to(invite(), status, "Moved Temporarily", to_tag="r1", headers=headers)


def test_contacts_are_tried_highest_q_first_each_once() -> None:
    targets = TargetSet(TARGET)
    response = redirect(
        302,
        "<sip:b@192.0.2.2>;q=0.5",
        "<sip:a@192.0.2.1>;q=0.9, <sip:c@192.0.2.3>",
        "<sip:d@192.0.2.4>;q=0.5",
    )
    assert targets.redirect(response) is None
    assert targets.pending == (
        "sip:c@192.0.2.3",
        "sip:a@192.0.2.1",
        "sip:b@192.0.2.2",
        "sip:d@192.0.2.4",
    )
    assert targets.next() == "sip:c@192.0.2.3"
    assert targets.current == "sip:c@192.0.2.3"
    # The next hop's redirection goes first, before the targets still waiting.
    assert targets.redirect(redirect(301, "<sip:e@192.0.2.5>", "<sip:a@192.0.2.1>")) is None
    assert targets.pending == (
        "sip:e@192.0.2.5",
        "sip:a@192.0.2.1",
        "sip:b@192.0.2.2",
        "sip:d@192.0.2.4",
    )
    assert targets.redirects == 2


def test_uri_headers_and_method_are_dropped_and_other_parameters_kept() -> None:
    targets = TargetSet(TARGET)
    contact = "<sip:a@192.0.2.1:5080;transport=tcp;method=INVITE?Subject=x>;expires=60"
    assert targets.redirect(redirect(302, contact)) is None
    assert targets.next() == "sip:a@192.0.2.1:5080;transport=tcp"


def test_a_redirection_back_to_a_tried_target_is_a_loop() -> None:
    targets = TargetSet(TARGET)
    assert targets.redirect(redirect(302, "<sip:a@192.0.2.1>")) is None
    assert targets.next() == "sip:a@192.0.2.1"
    why = targets.redirect(redirect(302, f"<{TARGET}>", "<sip:a@192.0.2.1>"))
    assert why is not None
    assert why.startswith("redirection loop")
    assert TARGET in why
    assert targets.next() is None


def test_the_hop_limit_stops_following() -> None:
    targets = TargetSet(TARGET, max_redirects=2)
    for hop in range(2):
        assert targets.redirect(redirect(302, f"<sip:hop{hop}@192.0.2.1>")) is None
        assert targets.next() == f"sip:hop{hop}@192.0.2.1"
    assert targets.redirect(redirect(302, "<sip:hop2@192.0.2.1>")) == "more than 2 redirections"
    assert targets.next() is None


@pytest.mark.parametrize(
    ("status", "contacts", "why"),
    [
        (380, ("<sip:a@192.0.2.1>",), "380 Alternative Service is not followed"),
        (302, (), "no Contact we can call"),
        (302, ("<tel:+15551234>", "<sips:a@192.0.2.1>"), "no Contact we can call"),
        (302, ("<sip:a@192.0.2.1;q=0.5",), None),
    ],
)
def test_redirections_without_a_target_to_call(
    status: int, contacts: tuple[str, ...], why: str | None
) -> None:
    targets = TargetSet(TARGET)
    answer = targets.redirect(redirect(status, *contacts))
    if why is None:
        assert answer is not None
        assert answer.startswith("unreadable Contact")
    else:
        assert answer == why
    assert targets.next() is None


def test_a_refused_redirection_leaves_the_targets_still_waiting() -> None:
    targets = TargetSet(TARGET)
    assert targets.redirect(redirect(302, "<sip:a@192.0.2.1>", "<sip:b@192.0.2.2>")) is None
    assert targets.next() == "sip:a@192.0.2.1"
    assert targets.redirect(redirect(380)) is None
    assert targets.next() == "sip:b@192.0.2.2"


def test_a_long_contact_list_is_cut() -> None:
    targets = TargetSet(TARGET)
    contacts = [f"<sip:a{n}@192.0.2.1>" for n in range(MAX_PENDING * 3)]
    assert targets.redirect(redirect(300, *contacts)) is None
    assert len(targets.pending) == MAX_PENDING


def test_only_a_3xx_redirects() -> None:
    with pytest.raises(SipTransactionError, match="404"):
        TargetSet(TARGET).redirect(response_to(invite(), 404, "Not Found"))
