"""Fax ids: 63-bit positive numbers written as 16 lower-case hex digits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openfax.errors import InvalidIdError
from openfax.model import MAX_ID, format_id, new_id, new_ids, parse_id


@given(st.integers(min_value=1, max_value=MAX_ID))
def test_ids_round_trip_through_their_text(value: int) -> None:
    text = format_id(value)
    assert len(text) == 16
    assert text == text.lower()
    assert parse_id(text) == value


def test_new_ids_are_positive_63_bit_numbers() -> None:
    ids = {new_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(1 <= value <= MAX_ID for value in ids)


def test_ids_made_at_once_are_positive_63_bit_numbers_too() -> None:
    ids = new_ids(1000)
    assert len(set(ids)) == 1000
    assert all(1 <= value <= MAX_ID for value in ids)
    assert max(ids) > 2**62, "the top bit of the 63 is used"


def test_upper_case_is_accepted() -> None:
    assert parse_id("00000000000000FF") == 255


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ff",
        "00000000000000fg",
        "0000000000000000",
        "8000000000000000",
        " 00000000000000ff",
        "0x000000000000ff",
        "000000000000000ff",
    ],
)
def test_bad_ids_are_refused_naming_the_value(text: str) -> None:
    with pytest.raises(InvalidIdError, match=repr(text).replace("(", r"\(")) as raised:
        parse_id(text)
    assert isinstance(raised.value, ValueError)
    assert raised.value.hresult == 0x80070057


@pytest.mark.parametrize("value", [0, -1, MAX_ID + 1, True])
def test_numbers_outside_the_range_cannot_be_formatted(value: int) -> None:
    with pytest.raises(InvalidIdError, match=str(value)):
        format_id(value)
