"""``[[modem.lines]]``: defaults, the quirks chosen from the probe and overridden, and a clear
error naming the key for every wrong value."""

from __future__ import annotations

from typing import Any

import pytest

from openfax.errors import ConfigError
from openfax.providers.modem.at import ModemInfo
from openfax.providers.modem.config import ModemLineConfig
from openfax.providers.modem.quirks import QuirkOverrides, Quirks, known_modem, quirks_for
from openfax.service.config_file import load_config


def lines(*tables: dict[str, Any]) -> tuple[ModemLineConfig, ...]:
    config = load_config(
        environ={}, data_dir="/tmp/ofx", overrides={"modem": {"lines": list(tables)}}
    )
    return config.modem.lines


def test_defaults() -> None:
    assert load_config(environ={}, data_dir="/tmp/ofx").modem.lines == ()
    (line,) = lines({"device": "/dev/serial/by-id/usb-modem"})
    assert line.speed == 115200
    assert line.flow_control == "rtscts"
    assert line.dial_mode == "tone"
    assert line.rings_before_answer == 1
    assert line.send
    assert line.receive
    assert line.device_name == "modem usb-modem"
    assert line.quirks == QuirkOverrides()


def test_every_key_is_read() -> None:
    (line,) = lines(
        {
            "device": "/dev/ttyACM0",
            "name": "fax 2",
            "number": "+49 30 123457",
            "ident": "ACME",
            "speed": 57600,
            "flow_control": "xonxoff",
            "init": "AT&F&D2M0",
            "dial_mode": "pulse",
            "dial_prefix": "0,",
            "rings_before_answer": 4,
            "send": False,
            "receive": True,
            "dial_timeout": 60,
            "quirks": {"silence_before_send": 9, "caller_id_command": "AT#CID=1"},
        }
    )
    assert line.device_name == "fax 2"
    assert (line.speed, line.flow_control, line.dial_prefix) == (57600, "xonxoff", "0,")
    assert line.quirks.silence_before_send == 9
    assert line.quirks.caller_id_command == "AT#CID=1"
    assert line.quirks.pause_between_carriers is None


@pytest.mark.parametrize(
    ("table", "key", "message"),
    [
        ({}, "modem.lines[0].device", "must name the modem's serial port"),
        ({"speed": 12345}, "modem.lines[0].speed", "must be one of"),
        ({"flow_control": "cts"}, "modem.lines[0].flow_control", "must be one of"),
        ({"init": "ATZ\rATH"}, "modem.lines[0].init", "must be one AT command line"),
        ({"init": "&F"}, "modem.lines[0].init", "must be one AT command line"),
        ({"dial_prefix": "9;"}, "modem.lines[0].dial_prefix", "must hold only"),
        ({"number": "fax"}, "modem.lines[0].number", "must be a phone number"),
        ({"ident": "x" * 21}, "modem.lines[0].ident", "at most 20 ASCII"),
        ({"rings_before_answer": -1}, "modem.lines[0].rings_before_answer", "not be negative"),
        ({"rings_before_answer": 100}, "modem.lines[0].rings_before_answer", "at most 99"),
        ({"dial_timeout": 0}, "modem.lines[0].dial_timeout", "greater than 0"),
        ({"quirks": {"abort_wait": -1}}, "modem.lines[0].quirks.abort_wait", "not be negative"),
        (
            {"quirks": {"silence_before_send": 256}},
            "modem.lines[0].quirks.silence_before_send",
            "at most 255",
        ),
        ({"quirks": {"reset_command": "Z"}}, "modem.lines[0].quirks.reset_command", "AT command"),
        ({"quirks": {"bogus": 1}}, "modem.lines[0].quirks.bogus", "unknown key"),
        ({"send": "yes"}, "modem.lines[0].send", "must be true or false"),
    ],
)
def test_wrong_values_name_the_key(table: dict[str, Any], key: str, message: str) -> None:
    if not key.endswith(".device"):
        table = {"device": "/dev/ttyACM0", **table}
    with pytest.raises(ConfigError) as caught:
        lines(table)
    assert key in str(caught.value)
    assert message in str(caught.value)


def test_quirks_of_a_known_modem_and_overrides() -> None:
    spandsp = ModemInfo(identity=("spandsp", "www.soft-switch.org"))
    assert known_modem(spandsp) is not None
    assert quirks_for(spandsp, QuirkOverrides()).reset_quiet == 0
    assert quirks_for(ModemInfo(identity=("Acme 56K",)), QuirkOverrides()) == Quirks()
    overridden = quirks_for(spandsp, QuirkOverrides(reset_quiet=1.5, silence_before_send=0))
    assert overridden.reset_quiet == 1.5
    assert overridden.silence_before_send == 0
    assert Quirks().flow_command("xonxoff") == "AT+IFC=1,1"
