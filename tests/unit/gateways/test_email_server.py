"""The e-mail gateway's small rules: a recipient's fax number, and the rate per sender."""

from __future__ import annotations

import pytest

from openfax.gateways.email.server import MAX_REPLY, SenderRate, fax_number, reply_line


@pytest.mark.parametrize(
    ("address", "number"),
    [
        ("+4930123456@fax.example.com", "+4930123456"),
        ('"+1 (555) 010-0000"@fax', "+1 (555) 010-0000"),
        ("1002", "1002"),
        ("sales@fax", "sales"),
    ],
)
def test_the_fax_number_is_the_local_part_unquoted(address: str, number: str) -> None:
    assert fax_number(address) == number


def test_a_sender_is_admitted_so_many_times_in_any_minute() -> None:
    now = [0.0]
    rate = SenderRate(2, clock=lambda: now[0])
    assert rate.admit("a@example.com")
    now[0] = 30.0
    assert rate.admit("a@example.com")
    assert not rate.admit("a@example.com")
    assert rate.admit("b@example.com")  # each sender has its own minute
    now[0] = 60.5  # the first is a minute old
    assert rate.admit("a@example.com")
    assert not rate.admit("a@example.com")


def test_a_reply_is_one_line_of_ascii_within_the_length_smtp_allows() -> None:
    assert reply_line("554 5.6.0 Grüße.pdf: bad\nxref") == "554 5.6.0 Gr??e.pdf: bad xref"
    long = reply_line("554 5.6.0 " + "why " * 200)
    assert len(long) == MAX_REPLY
    assert long.endswith("...")
