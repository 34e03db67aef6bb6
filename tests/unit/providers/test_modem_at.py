"""The AT dialogue with a Class 1 modem, sans-I/O: scripted modem answers on a hand-moved
clock, spandsp's T.31 modem as the modem, and fuzzing of what a modem may send."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openfax.engine.t31 import CallEvent, T31Modem
from openfax.errors import ModemError
from openfax.providers.modem.at import (
    ABORT,
    DLE_ETX,
    MAX_INFO_LINES,
    MAX_LINE,
    AtDialogue,
    CallerId,
    CallFailed,
    Connected,
    DialogueEvent,
    DialogueSettings,
    DropDtr,
    Fault,
    HungUp,
    Ready,
    Result,
    Ring,
    RingsStopped,
    State,
    Unsolicited,
    result_of,
)

FAST = DialogueSettings(reset_quiet=0.0)


class Script:
    """A modem that answers each command line from a table (default OK), echo optional."""

    def __init__(self, dialogue: AtDialogue, answers: dict[str, str], *, echo: bool = False):
        self.dialogue = dialogue
        self.answers = answers
        self.echo = echo
        self.commands: list[str] = []
        self.now = 0.0
        self.events: list[DialogueEvent] = []

    def run(self, max_rounds: int = 100) -> list[DialogueEvent]:
        """Answer what the dialogue sends until it waits for something else."""
        for _ in range(max_rounds):
            out = self.dialogue.data_to_send()
            if not out:
                timer = self.dialogue.next_timer()
                if timer is None or self.dialogue.state is not State.BUSY:
                    break
                self.now = max(self.now, timer)
                self.dialogue.handle_timer(self.now)
                continue
            for raw in out.replace(ABORT, b"").split(b"\r"):
                command = raw.decode()
                if not command:
                    continue
                self.commands.append(command)
                answer = self.answers.get(command, "OK")
                if answer == "<silent>":
                    continue
                echo = command + "\r" if self.echo else ""
                self.dialogue.receive(f"{echo}\r\n{answer}\r\n".encode(), self.now)
        events = self.dialogue.pop_events()
        self.events += events
        return events


SPANDSP_LIKE = {
    "ATI": "spandsp\r\n\r\nOK",
    "AT+FCLASS=?": "0,1,1.0\r\n\r\nOK",
    "AT+FTM=?": "24,48,72,73,74,96,97,98,121,122,145,146\r\n\r\nOK",
    "AT+FRM=?": "24,48,72,96\r\n\r\nOK",
    "AT+FMM?": "ERROR",
}


def started(answers: dict[str, str] | None = None, **kwargs: object) -> Script:
    dialogue = AtDialogue(FAST)
    script = Script(dialogue, {**SPANDSP_LIKE, **(answers or {})}, **kwargs)  # type: ignore[arg-type]
    dialogue.start(0.0)
    script.run()
    return script


def test_start_probes_and_initialises() -> None:
    script = started(echo=True)
    (ready,) = [e for e in script.events if isinstance(e, Ready)]
    assert ready.info.identity == ("spandsp",)
    assert ready.info.classes == ("0", "1", "1.0")
    assert ready.info.transmit == (24, 48, 72, 73, 74, 96, 97, 98, 121, 122, 145, 146)
    assert ready.info.receive == (24, 48, 72, 96)
    assert script.dialogue.state is State.IDLE
    assert script.commands[0] == "ATZ"
    assert "AT+FCLASS=1" in script.commands
    assert script.commands.index("AT+FCLASS=?") < script.commands.index("AT+FTM=?")
    summary = ready.info.summary()
    assert "sends V.17 7200-14400, V.29 7200-9600, V.27ter 2400-4800 (+FTM 24,48," in summary
    assert "receives V.29 7200-9600, V.27ter 2400-4800 (+FRM 24,48,72,96)" in summary


@pytest.mark.parametrize(
    ("answer", "codes"),
    [
        ("24,48,72,96", (24, 48, 72, 96)),
        ("(24,48),(72,96)", (24, 48, 72, 96)),
        ("24-96", (24, 48, 72, 73, 74, 96)),
        ("3,24,48,72,96,300", (3, 24, 48, 72, 96, 300)),
    ],
)
def test_the_probe_reads_lists_and_ranges_of_modulations(
    answer: str, codes: tuple[int, ...]
) -> None:
    script = started({"AT+FTM=?": f"{answer}\r\n\r\nOK"})
    (ready,) = [e for e in script.events if isinstance(e, Ready)]
    assert ready.info.transmit == codes


def test_class_1_0_then_adaptive_reception_and_answer() -> None:
    dialogue = AtDialogue(
        DialogueSettings(
            reset_quiet=0.0,
            class_command="AT+FCLASS=1.0",
            adaptive_receive_command="AT+FAR=1",
            adaptive_answer_command="AT+FAA=1",
        )
    )
    script = Script(dialogue, {**SPANDSP_LIKE, "AT+FAA=1": "ERROR"})
    dialogue.start(0.0)
    script.run()
    assert dialogue.state is State.IDLE, "an ERROR to either is tolerated"
    commands = script.commands
    assert "AT+FCLASS=1" not in commands
    assert commands.index("AT+FCLASS=1.0") < commands.index("AT+FAR=1")
    assert commands.index("AT+FCLASS=1.0") < commands.index("AT+FAA=1")
    dialogue.hang_up(script.now)
    script.run()
    assert script.commands.count("AT+FAR=1") == 2, "again after the reset that follows a call"


@pytest.mark.parametrize(
    ("answer", "caller", "detail"),
    [
        ("DATA\r\nCONNECT 33600", "data", "ATA answered DATA, CONNECT 33600"),
        ("DATA\r\nNO CARRIER", "data", "ATA answered DATA, NO CARRIER"),
        ("VCON", "voice", "ATA answered VCON"),
    ],
)
def test_adaptive_answer_hangs_up_a_caller_that_is_no_fax(
    answer: str, caller: str, detail: str
) -> None:
    """Scripted bytes: spandsp's T.31 modem answers every call as fax, so a data or voice
    caller is the modem's words as a real one with AT+FAA=1 says them."""
    script = started({"ATA": answer, "ATH0": "<silent>"})
    d = script.dialogue
    d.receive(b"RING\r\n", 0.0)
    d.answer(0.0)
    events = script.run()
    (failed,) = [e for e in events if isinstance(e, CallFailed)]
    assert failed.caller == caller
    assert failed.result is None
    assert failed.detail == f"a {caller} call, not a fax ({detail})"
    assert not [e for e in events if isinstance(e, Connected)], "not handed to the fax phase"
    assert events[-1] == DropDtr(), "a modem online in data mode ignores ATH0: DTR drops"
    d.dtr_cycled(script.now)
    assert [type(e) for e in script.run()] == [HungUp, Ready]
    assert d.state is State.IDLE, "the line is ready again"


def test_a_fax_caller_under_adaptive_answer_connects() -> None:
    script = started({"ATA": "FAX\r\nCONNECT"})
    d = script.dialogue
    d.receive(b"RING\r\n", 0.0)
    d.answer(0.0)
    events = script.run()
    assert Connected(b"") in events
    assert d.state is State.ONLINE


def test_init_string_and_flow_control_are_sent() -> None:
    dialogue = AtDialogue(DialogueSettings(init="AT&F&D2", flow_command="AT+IFC=1,1"))
    script = Script(dialogue, SPANDSP_LIKE)
    dialogue.start(0.0)
    script.run()
    assert "AT&F&D2" in script.commands
    assert "AT+IFC=1,1" in script.commands
    assert dialogue.state is State.IDLE


def test_an_error_to_the_init_string_is_a_fault() -> None:
    dialogue = AtDialogue(DialogueSettings(init="AT&Q9", reset_quiet=0))
    script = Script(dialogue, {**SPANDSP_LIKE, "AT&Q9": "ERROR"})
    dialogue.start(0.0)
    (fault,) = script.run()
    assert isinstance(fault, Fault)
    assert "AT&Q9 answered ERROR" in fault.reason
    assert dialogue.state is State.OFFLINE


def test_a_silent_modem_is_a_fault_after_the_command_timeout() -> None:
    dialogue = AtDialogue(FAST)
    script = Script(dialogue, {"ATZ": "<silent>"})
    dialogue.start(0.0)
    (fault,) = script.run()
    assert isinstance(fault, Fault)
    assert fault.reason == "no answer to ATZ within 3 s"
    assert script.now == pytest.approx(3.0)


def test_a_modem_without_class_1_is_refused() -> None:
    script = started({"AT+FCLASS=?": "0,2,2.0\r\n\r\nOK", "AT+FCLASS=1": "ERROR"})
    (fault,) = script.events
    assert isinstance(fault, Fault)
    assert "AT+FCLASS=1 answered ERROR" in fault.reason


def test_optional_commands_may_fail() -> None:
    script = started({"AT+VCID=1": "ERROR", "ATI": "ERROR", "AT+IFC=2,2": "ERROR"})
    (ready,) = script.events
    assert isinstance(ready, Ready)
    assert ready.info.identity == ()


@pytest.mark.parametrize(
    ("answer", "result"),
    [
        ("BUSY", Result.BUSY),
        ("NO DIALTONE", Result.NO_DIALTONE),
        ("NO DIAL TONE", Result.NO_DIALTONE),
        ("NO CARRIER", Result.NO_CARRIER),
        ("NO ANSWER", Result.NO_ANSWER),
        ("ERROR", Result.ERROR),
    ],
)
def test_dial_failures_then_hang_up_and_reset(answer: str, result: Result) -> None:
    script = started()
    script.answers["ATDT5551234"] = answer
    script.dialogue.dial("T5551234", script.now)
    events = script.run()
    assert isinstance(events[0], CallFailed)
    assert events[0].result is result
    assert isinstance(events[1], HungUp)
    assert isinstance(events[2], Ready)
    assert script.commands.count("ATH0") == 1
    assert script.dialogue.state is State.IDLE


def test_dial_connects_and_hands_the_rest_over() -> None:
    script = started()
    script.dialogue.dial("T123", 0.0)
    assert script.dialogue.data_to_send() == b"ATDT123\r"
    script.dialogue.receive(b"\r\nCONNECT\r\n\xff\x03\x10\x03", 1.0)
    (connected,) = script.dialogue.pop_events()
    assert connected == Connected(b"\xff\x03\x10\x03")
    assert script.dialogue.state is State.ONLINE
    with pytest.raises(ModemError):
        script.dialogue.receive(b"more", 1.0)
    script.dialogue.hang_up(2.0)
    assert script.dialogue.data_to_send() == ABORT
    events = script.run()
    assert [type(e) for e in events] == [HungUp, Ready]


def test_a_dial_without_answer_times_out_as_no_answer() -> None:
    script = started({"ATDT9": "<silent>"})
    script.dialogue.dial("T9", script.now)
    events = script.run()
    assert isinstance(events[0], CallFailed)
    assert events[0].result is None
    assert "90 s" in events[0].detail
    assert isinstance(events[-1], Ready)


def test_a_modem_that_ignores_ath_gets_dtr_dropped() -> None:
    script = started({"ATH0": "<silent>"})
    script.dialogue.dial("T1", 0.0)
    script.dialogue.receive(b"CONNECT\r\n", 0.0)
    script.dialogue.pop_events()
    script.dialogue.hang_up(script.now)
    events = script.run()
    assert events == [DropDtr()]
    assert script.dialogue.state is State.DTR
    script.dialogue.dtr_cycled(script.now)
    events = script.run()
    assert [type(e) for e in events] == [HungUp, Ready]


def test_rings_with_caller_id_then_answer() -> None:
    script = started()
    d = script.dialogue
    d.receive(b"\r\nRING\r\n", 0.0)
    d.receive(b"\r\nDATE = 1206\r\nTIME=1830\r\nNMBR = 4930123456\r\nNAME=ACME\r\n", 1.0)
    d.receive(b"NDID=555\r\n\r\nRING\r\n", 6.0)
    events = d.pop_events()
    assert events[0] == Ring(1, CallerId())
    assert events[1] == Ring(2, CallerId("4930123456", "ACME", "1206", "1830", called_number="555"))
    d.answer(6.0)
    assert d.data_to_send() == b"ATA\r"
    d.receive(b"CONNECT\r\n", 8.0)
    assert d.pop_events() == [Connected(b"")]


def test_rings_that_stop_are_reported() -> None:
    script = started()
    d = script.dialogue
    d.receive(b"RING\r\n", 10.0)
    assert d.next_timer() == pytest.approx(18.0)
    d.handle_timer(18.0)
    assert d.pop_events() == [Ring(1, CallerId()), RingsStopped(1, CallerId())]
    d.receive(b"RING\r\n", 30.0)
    assert d.pop_events() == [Ring(1, CallerId())]


def test_an_answer_that_hears_no_fax_fails() -> None:
    script = started({"ATA": "NO CARRIER"})
    script.dialogue.receive(b"RING\r\n", 0.0)
    script.dialogue.answer(0.0)
    events = script.run()
    assert events[1] == CallFailed(Result.NO_CARRIER, "ATA answered NO CARRIER")


def test_unsolicited_lines_are_reported_not_obeyed() -> None:
    script = started()
    script.dialogue.receive(b"\r\nNO CARRIER\r\n+FCERROR\r\nhello\r\n", 0.0)
    assert script.dialogue.pop_events() == [
        Unsolicited("NO CARRIER"),
        Unsolicited("+FCERROR"),
        Unsolicited("hello"),
    ]
    assert script.dialogue.state is State.IDLE


def test_requests_in_the_wrong_state_are_refused() -> None:
    dialogue = AtDialogue()
    with pytest.raises(ModemError, match="cannot dial now: the modem is offline"):
        dialogue.dial("1", 0.0)
    with pytest.raises(ModemError, match="cannot answer"):
        dialogue.answer(0.0)


def test_long_lines_and_long_answers_are_bounded() -> None:
    script = started({"ATI": "\r\n".join(["x" * 1000] * 200) + "\r\nOK"})
    (ready,) = script.events
    assert isinstance(ready, Ready)
    assert len(ready.info.identity) == MAX_INFO_LINES
    assert all(len(line) == MAX_LINE for line in ready.info.identity)


def test_result_codes() -> None:
    assert result_of("CONNECT 9600") is Result.CONNECT
    assert result_of("CONNECTED") is None
    assert result_of("+FCERROR") is Result.FCERROR


def test_the_probe_of_spandsps_t31_modem() -> None:
    """The real thing: spandsp's T.31 modem answers the whole start, with its echo on."""
    modem = T31Modem()
    dialogue = AtDialogue(FAST)
    dialogue.start(0.0)
    now = 0.0
    events: list[DialogueEvent] = []
    for _ in range(100):
        modem.at_rx(dialogue.data_to_send())
        dialogue.receive(modem.data_to_send(), now)
        events += dialogue.pop_events()
        if dialogue.state is not State.BUSY:
            break
    (ready,) = events
    assert isinstance(ready, Ready)
    assert "spandsp" in ready.info.identity
    assert 145 in ready.info.transmit
    assert 24 in ready.info.receive
    dialogue.dial("T123", now)
    modem.at_rx(dialogue.data_to_send())
    modem.call_event(CallEvent.BUSY)
    dialogue.receive(modem.data_to_send(), now)
    (failed,) = dialogue.pop_events()
    assert failed == CallFailed(Result.BUSY, "the dial answered BUSY")
    modem.close()


@settings(max_examples=300, deadline=None)
@given(
    chunks=st.lists(
        st.one_of(
            st.binary(max_size=64),
            st.sampled_from(
                [
                    *(b"\r\n", b"OK", b"RING", b"CONNECT", b"ERROR", b"NMBR=1", b"\x10\x03"),
                    *(b"AT", b"DATA", b"VCON", b"FAX"),
                ]
            ),
        ),
        max_size=40,
    ),
    steps=st.lists(st.floats(min_value=0, max_value=20), max_size=40),
    action=st.sampled_from(["none", "dial", "answer", "hang_up"]),
)
def test_fuzzed_modem_output_raises_nothing(
    chunks: list[bytes], steps: list[float], action: str
) -> None:
    dialogue = AtDialogue()
    dialogue.start(0.0)
    now = 0.0
    for index, chunk in enumerate(chunks):
        now += steps[index] if index < len(steps) else 0.1
        try:
            if dialogue.state is State.ONLINE:
                dialogue.hang_up(now)
            elif dialogue.state is State.IDLE and action == "dial":
                dialogue.dial("T1", now)
            elif dialogue.state is State.IDLE and action == "answer":
                dialogue.answer(now)
            elif action == "hang_up":
                dialogue.hang_up(now)
            elif dialogue.state is State.DTR:
                dialogue.dtr_cycled(now)
            dialogue.receive(chunk, now)
        except ModemError:
            pass  # a project error: allowed, and only from a request in the wrong state
        timer = dialogue.next_timer()
        if timer is not None and timer <= now:
            dialogue.handle_timer(now)
        assert len(dialogue.data_to_send()) < 200
        assert len(dialogue.pop_events()) <= 1 + len(chunk)
        if dialogue.state is State.OFFLINE:
            dialogue.start(now)


def test_the_hang_up_sends_the_abort_it_is_given() -> None:
    """DLE ETX ends data the modem takes from us (a CAN would be sent as data), then ATH0."""
    script = started()
    script.dialogue.answer(script.now)
    assert script.dialogue.data_to_send() == b"ATA\r"
    script.dialogue.receive(b"\r\nCONNECT\r\n", script.now)
    script.dialogue.hang_up(script.now, DLE_ETX)
    assert script.dialogue.data_to_send() == DLE_ETX
    script.dialogue.receive(b"\r\nOK\r\n", script.now)
    assert script.dialogue.data_to_send() == b"ATH0\r"
