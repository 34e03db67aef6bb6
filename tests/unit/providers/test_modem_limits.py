"""What a modem line offers in T.30: only the image modems its modem lists for the
direction of the call (``+FTM=?`` sending, ``+FRM=?`` receiving, or the quirks' override),
and the driver settings its quirks give. The line is made, not started: no port."""

from __future__ import annotations

import pytest

from openfax.engine import ALL_MODEMS, Modem, SessionOptions
from openfax.providers.modem.at import ModemInfo
from openfax.providers.modem.config import ModemLineConfig
from openfax.providers.modem.provider import ModemLine, ModemProvider
from openfax.providers.modem.quirks import QuirkOverrides, quirks_for

SPANDSP = ModemInfo(
    identity=("spandsp",),
    classes=("0", "1", "1.0"),
    transmit=(24, 48, 72, 73, 74, 96, 97, 98, 121, 122, 145, 146),
    receive=(24, 48, 72, 96),
)


def probed(info: ModemInfo, quirks: QuirkOverrides | None = None) -> ModemLine:
    config = ModemLineConfig(device="/dev/null", quirks=quirks or QuirkOverrides())
    (line,) = ModemProvider([config]).devices
    line.info = info
    line.quirks = quirks_for(info, config.quirks)
    return line


@pytest.mark.parametrize(
    ("sending", "offered"),
    [(True, ALL_MODEMS), (False, Modem.V27TER | Modem.V29)],
    ids=["sending: +FTM=? has V.17", "receiving: +FRM=? has not"],
)
def test_the_line_offers_what_the_modem_has_for_the_direction(
    sending: bool, offered: Modem
) -> None:
    line = probed(SPANDSP)
    options = line._within_modem(SessionOptions(), sending=sending)
    assert options.modems == offered


def test_the_override_replaces_the_probe_and_the_job_limits_further() -> None:
    line = probed(SPANDSP, QuirkOverrides(transmit_modulations=(24, 48)))
    assert line._within_modem(SessionOptions(), sending=True).modems == Modem.V27TER
    line = probed(SPANDSP)
    asked = SessionOptions(modems=Modem.V29 | Modem.V17)
    assert line._within_modem(asked, sending=False).modems == Modem.V29


def test_a_modem_without_what_the_job_asks_is_used_with_what_it_has() -> None:
    line = probed(SPANDSP)
    asked = SessionOptions(modems=Modem.V17)
    assert line._within_modem(asked, sending=False).modems == Modem.V27TER | Modem.V29


def test_a_probe_without_known_codes_limits_nothing() -> None:
    line = probed(ModemInfo(identity=("Acme",), transmit=(), receive=(3, 300)))
    assert line._within_modem(SessionOptions(), sending=True).modems == ALL_MODEMS
    assert line._within_modem(SessionOptions(), sending=False).modems == ALL_MODEMS


def test_the_driver_gets_the_modems_quirks() -> None:
    line = probed(SPANDSP, QuirkOverrides(connect_delay=0.25, has_frs=False))
    settings = line.quirks.class1_settings(SPANDSP)
    assert settings.connect_delay == 0.25
    assert not settings.has_frs
    assert settings.adaptive_receive, "spandsp's known quirk: AT+FAR=1"
    assert 145 in settings.transmit_codes
