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
        ({"quirks": {"connect_delay": 6}}, "modem.lines[0].quirks.connect_delay", "at most 5"),
        (
            {"quirks": {"silence_before_receive": 256}},
            "modem.lines[0].quirks.silence_before_receive",
            "at most 255",
        ),
        ({"quirks": {"connect_delay": -0.1}}, "modem.lines[0].quirks.connect_delay", "negative"),
        ({"quirks": {"abort_wait": 5.5}}, "modem.lines[0].quirks.abort_wait", "at most 5"),
        ({"quirks": {"abort_answered": 0}}, "modem.lines[0].quirks.abort_answered", "true or"),
        ({"quirks": {"fcs_in_frames": "no"}}, "modem.lines[0].quirks.fcs_in_frames", "true or"),
        (
            {"quirks": {"adaptive_receive_command": "+FAR=1"}},
            "modem.lines[0].quirks.adaptive_receive_command",
            "must be one AT command line",
        ),
        (
            {"quirks": {"class_command": "+FCLASS=1.0"}},
            "modem.lines[0].quirks.class_command",
            "must be one AT command line",
        ),
        (
            {"quirks": {"adaptive_answer_command": "AT+FAA=1\rATA"}},
            "modem.lines[0].quirks.adaptive_answer_command",
            "must be one AT command line",
        ),
        (
            {"quirks": {"receive_modulations": [24, 48, 100]}},
            "modem.lines[0].quirks.receive_modulations",
            "must be T.31 modulation codes (24, 48, 72, 96, 73, 74, 97, 98, 121, 122, 145, 146), "
            "not 100",
        ),
        (
            {"quirks": {"transmit_modulations": [24, 48, 24]}},
            "modem.lines[0].quirks.transmit_modulations",
            "must list each code once, not [24, 48, 24]",
        ),
        (
            {"quirks": {"transmit_modulations": "24,48"}},
            "modem.lines[0].quirks.transmit_modulations",
            "must be a list",
        ),
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


def test_every_quirk_key_is_read() -> None:
    (line,) = lines(
        {
            "device": "/dev/ttyACM0",
            "quirks": {
                "connect_delay": 0.4,
                "silence_before_receive": 1,
                "abort_answered": False,
                "abort_wait": 0.3,
                "fcs_in_frames": False,
                "doubles_dle": False,
                "adaptive_receive_command": "AT+FAR=1",
                "adaptive_answer_command": "AT+FAA=1",
                "class_command": "AT+FCLASS=1.0",
                "has_fts": False,
                "has_frs": False,
                "transmit_modulations": [24, 48, 72, 96],
                "receive_modulations": [24, 48],
            },
        }
    )
    quirks = quirks_for(ModemInfo(transmit=(24, 48, 72, 96, 145), receive=(96,)), line.quirks)
    assert quirks.connect_delay == 0.4
    assert quirks.adaptive_answer_command == "AT+FAA=1"
    assert quirks.class_command == "AT+FCLASS=1.0"
    info = ModemInfo(transmit=(24, 48, 72, 96, 145), receive=(96,))
    assert quirks.receive_codes(info) == (24, 48), "the override, not the probe"
    settings = quirks.class1_settings(info)
    assert settings.transmit_codes == frozenset({24, 48, 72, 96})
    assert settings.connect_delay == 0.4
    assert settings.silence_before_receive == 1
    assert not settings.abort_answered
    assert settings.abort_wait == 0.3
    assert not settings.fcs_in_frames
    assert not settings.doubles_dle
    assert settings.adaptive_receive
    assert not settings.has_fts
    assert not settings.has_frs
    assert Quirks().class1_settings(info).transmit_codes == frozenset({24, 48, 72, 96, 145})


@pytest.mark.parametrize(
    ("identity", "name", "quirk", "value"),
    [
        (("spandsp", "www.soft-switch.org"), "spandsp", "adaptive_receive_command", "AT+FAR=1"),
        (("LT V.92 1.0 MT5634ZBA Serial Data/Fax/Voice Modem",), "Lucent", "connect_delay", 0.4),
        (("Zoom V.90 USB Serial",), "Lucent", "connect_delay", 0.4),
        (("Mainpine Venus V.92 IQ",), "Mainpine", "connect_delay", 0.4),
        (("56000", "CONEXANT"), "Conexant", "adaptive_receive_command", "AT+FAR=1"),
        (("MT5600ZDX",), "Conexant", "hard_flow_command", "AT&K3"),
        (("MT5656ZDX",), "Conexant", "class_command", "AT+FCLASS=1.0"),
        (("Mainpine CFAX34 V.34",), "Mainpine", "class_command", "AT+FCLASS=1.0"),
        (("1496", "ZyXEL", "U1496E V 6.14 P"), "ZyXEL", "fcs_in_frames", False),
        (("1.0", "CL-MD5650T"), "Cirrus", "has_fts", False),
        (("MD56xx",), "Cirrus", "hard_flow_command", "AT\\Q3"),
        (("TP560 Data/Fax/Voice 56K Modem",), "Topic", "has_frs", False),
    ],
)
def test_known_modems_from_the_public_record(
    identity: tuple[str, ...], name: str, quirk: str, value: object
) -> None:
    info = ModemInfo(identity=identity)
    known = known_modem(info)
    assert known is not None
    assert name in known.name
    assert getattr(quirks_for(info, QuirkOverrides()), quirk) == value


@pytest.mark.parametrize(
    "identity",
    [("Acme 56K",), ("56000 bps modem",), ("ZyXEL", "U1496E V 6.20"), ("SLT V.90",)],
)
def test_similar_modems_are_not_taken_for_known_ones(identity: tuple[str, ...]) -> None:
    assert known_modem(ModemInfo(identity=identity)) is None
