"""A network call's outcome names its media in words that the metrics read back."""

from __future__ import annotations

import pytest

from openfax.providers import carried_by
from openfax.providers.base import NetworkMedia, carried_over


@pytest.mark.parametrize("media", ["t38", "g711"])
def test_the_media_named_in_an_outcome_is_read_back(media: NetworkMedia) -> None:
    detail = f"hung up: fax sent {carried_over(media)}"
    assert carried_by(detail) == media


def test_an_outcome_that_names_no_media_has_none() -> None:
    assert carried_by("busy") is None
    assert carried_by("over T.38 without the brackets") is None
