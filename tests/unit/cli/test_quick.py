"""The quick path of ``openfax send``, ``openfax jobs`` and ``openfax render`` without a
daemon: the command lines it declines (left to Click) and the numbers it writes out. Against
a real daemon: tests/integration/cli/test_quick.py."""

from __future__ import annotations

import pytest

from openfax.cli.quick import PRIORITY_NUMBERS, SERVER_COVER_PAGE, run_quick
from openfax.model import CoverPageType, Priority


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["render", "x"],
        ["render", "-o", "y"],
        ["render", "x", "-o", "y", "--workers", "0"],
        ["render", "x", "-o", "y", "--workers=two"],
        ["render", "x", "-o", "y", "--resolution", "high"],
        ["render", "x", "-o", "y", "--compression", "MMR"],
        ["render", "x", "-o", "y", "--help"],
        ["--verbose", "send", "f", "--to", "1"],
        ["send", "--help"],
        ["send", "-h"],
        ["send", "f", "--to", "1", "--wait"],
        ["send", "f", "--to"],
        ["send", "f", "--to", "--json"],
        ["send", "f", "--to", "1", "--json=yes"],
        ["jobs", "--wait"],
    ],
)
def test_the_quick_path_declines_what_it_does_not_read_exactly(argv: list[str]) -> None:
    assert run_quick(argv) is None


def test_the_numbers_written_out_are_the_enumerations() -> None:
    assert {member.name.lower(): int(member) for member in Priority} == PRIORITY_NUMBERS
    assert SERVER_COVER_PAGE == CoverPageType.SERVER
