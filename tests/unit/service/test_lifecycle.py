"""The job life cycle's table walked without I/O: every transition it allows, every one it
refuses, that every state it names can be reached and can end, and that the store's own
status changes (the claim, NOLINE, lapsed leases) are rows of it."""

from __future__ import annotations

import itertools
from collections import deque

import pytest

from openfax.errors import InvalidOperationError, InvalidTransitionError
from openfax.model import JobOperations, JobStatus
from openfax.model.lifecycle import (
    INCOMING,
    OUTGOING,
    IncomingInput,
    JobInput,
    describe,
    put_back,
    step,
    step_incoming,
    taking,
)
from openfax.service.job_states import (
    FINAL,
    Operation,
    available_operations,
    incoming_operations,
)
from openfax.store.schema import CLAIMABLE_STATUSES

S = JobStatus
STATES = sorted({state for state, _ in OUTGOING} | set(OUTGOING.values()))
ENDS = {S.COMPLETED, S.CANCELED, S.FAILED, S.RETRIES_EXCEEDED}


@pytest.mark.parametrize(
    ("status", "given", "after"),
    [(status, given, after) for (status, given), after in OUTGOING.items()],
    ids=[f"{describe(s)}+{i.name}" for s, i in OUTGOING],
)
def test_every_allowed_transition_gives_its_row(
    status: JobStatus, given: JobInput, after: JobStatus
) -> None:
    assert step(status, given) is after


@pytest.mark.parametrize(
    "walk",
    [
        # queued, no line free, sent after a failed call that the user paused in between
        [
            (JobInput.NO_LINE, S.PENDING | S.NOLINE),
            (JobInput.CLAIM, S.INPROGRESS),
            (JobInput.RETRY, S.RETRYING),
            (JobInput.PAUSE, S.RETRYING | S.PAUSED),
            (JobInput.RESUME, S.RETRYING),
            (JobInput.CLAIM, S.INPROGRESS),
            (JobInput.DELIVERED, S.COMPLETED),
        ],
        # cancelled in a call that still delivered every page: delivered wins
        [
            (JobInput.CLAIM, S.INPROGRESS),
            (JobInput.CANCEL, S.CANCELING),
            (JobInput.DELIVERED, S.COMPLETED),
        ],
        # cut off twice, set aside, restarted by the user, cancelled while waiting
        [
            (JobInput.CLAIM, S.INPROGRESS),
            (JobInput.INTERRUPTED, S.RETRYING),
            (JobInput.CLAIM, S.INPROGRESS),
            (JobInput.SET_ASIDE, S.FAILED),
            (JobInput.RESTART, S.PENDING),
            (JobInput.CANCEL, S.CANCELED),
        ],
        # claimed outside the discount period, then past its kill time
        [
            (JobInput.CLAIM, S.INPROGRESS),
            (JobInput.PUT_BACK_UNTRIED, S.PENDING),
            (JobInput.CLAIM, S.INPROGRESS),
            (JobInput.KILL_TIME_PASSED, S.RETRIES_EXCEEDED),
        ],
        # a busy number until the retries ran out; a hang-up of a cancelled call
        [(JobInput.CLAIM, S.INPROGRESS), (JobInput.RETRIES_RAN_OUT, S.RETRIES_EXCEEDED)],
        [
            (JobInput.CLAIM, S.INPROGRESS),
            (JobInput.CANCEL, S.CANCELING),
            (JobInput.HUNG_UP, S.CANCELED),
        ],
    ],
)
def test_a_jobs_life_walks_the_table(walk: list[tuple[JobInput, JobStatus]]) -> None:
    status = S.PENDING
    for given, expected in walk:
        status = step(status, given)
        assert status == expected, f"{given.name} gave {describe(status)}"


def test_every_other_pair_is_refused_naming_the_state_and_the_input() -> None:
    refused = 0
    for status, given in itertools.product(STATES, JobInput):
        if (status, given) in OUTGOING:
            continue
        with pytest.raises(InvalidTransitionError) as caught:
            step(status, given)
        assert isinstance(caught.value, InvalidOperationError), "the FAXCOMEX error, too"
        assert (caught.value.status, caught.value.input_name) == (int(status), given.name)
        assert str(caught.value) == f"cannot {given.value} a job that is {describe(status)}"
        refused += 1
    assert refused == len(STATES) * len(JobInput) - len(OUTGOING)


@pytest.mark.parametrize(
    ("status", "given"),
    [
        (S.COMPLETED, JobInput.CANCEL),
        (S.CANCELED, JobInput.RESTART),
        (S.PENDING | S.PAUSED, JobInput.CLAIM),
        (S.RETRYING | S.NOLINE, JobInput.NO_LINE),
        (S.INPROGRESS, JobInput.PAUSE),
        (S.CANCELING, JobInput.CANCEL),
        (S.CANCELING, JobInput.RETRY),
        (S.PENDING, JobInput.DELIVERED),
        (S.INPROGRESS | S.PAUSED, JobInput.RESUME),
        (S.ROUTING, JobInput.CANCEL),
    ],
)
def test_a_sample_of_refusals(status: JobStatus, given: JobInput) -> None:
    """Among them the ones that once slipped through on the base state alone (a modifier
    bit where no waiting job has one) and an incoming-only state."""
    with pytest.raises(InvalidTransitionError, match=f"a job that is {describe(status)}$"):
        step(status, given)


def test_every_state_is_reached_from_a_new_job_and_can_end() -> None:
    """No row is dead, and no state is a trap: from each, some inputs lead to an end
    (the "stuck in sending" jobs users report are states without such a way out)."""
    reached = {S.PENDING}
    queue = deque([S.PENDING])
    while queue:
        status = queue.popleft()
        for (source, _), after in OUTGOING.items():
            if source is status and after not in reached:
                reached.add(after)
                queue.append(after)
    assert reached == set(STATES)
    for status in STATES:
        ending = {status}
        while not ending & ENDS:
            more = {after for (source, _), after in OUTGOING.items() if source in ending}
            assert more - ending, f"{describe(status)} never ends"
            ending |= more
    assert {s for s in STATES if JobStatus(s & ~(S.PAUSED | S.NOLINE)) in FINAL} == ENDS


def test_ended_jobs_take_only_a_users_restart_or_removal() -> None:
    for (status, given), after in OUTGOING.items():
        if status in ENDS:
            assert given in (JobInput.RESTART, JobInput.CANCEL)
            assert after in (S.PENDING, S.CANCELED)
    assert not [given for status, given in OUTGOING if status in (S.COMPLETED, S.CANCELED)]


def test_the_stores_own_status_changes_are_rows_of_the_table() -> None:
    """claim_next_job and mark_no_line change statuses in SQL, and lapsed_jobs picks the jobs
    interrupt_job is for: they must do what the table says."""
    assert set(CLAIMABLE_STATUSES) == {s for s, given in OUTGOING if given is JobInput.CLAIM}
    assert all(step(s, JobInput.CLAIM) is S.INPROGRESS for s in CLAIMABLE_STATUSES)
    for waiting in (S.PENDING, S.RETRYING):  # mark_no_line: status + NOLINE
        assert step(waiting, JobInput.NO_LINE) == waiting | S.NOLINE
    assert step(S.INPROGRESS, JobInput.INTERRUPTED) is S.RETRYING
    assert step(S.CANCELING, JobInput.INTERRUPTED) is S.CANCELED


def test_a_job_put_back_unsent_waits_as_it_did() -> None:
    assert step(S.INPROGRESS, put_back(tried=False)) is S.PENDING
    assert step(S.INPROGRESS, put_back(tried=True)) is S.RETRYING


def test_the_users_operations_are_the_tables_rows() -> None:
    """FAXCOMEX AvailableOperations and the operations themselves read the same rows."""
    assert available_operations(S.PENDING) & JobOperations.PAUSE
    assert not available_operations(S.PENDING) & JobOperations.RESUME
    paused = available_operations(S.RETRYING | S.NOLINE | S.PAUSED)
    assert paused & JobOperations.RESUME
    assert not paused & JobOperations.PAUSE
    assert available_operations(S.FAILED) & JobOperations.RESTART
    assert not available_operations(S.CANCELING) & JobOperations.DELETE
    for status, operation in itertools.product(STATES, Operation):
        given = JobInput[operation.name]
        allowed = bool(available_operations(status) & operation.value)
        assert allowed == ((status, given) in OUTGOING), f"{describe(status)}: {given.name}"
        if not allowed:
            with pytest.raises(InvalidOperationError, match=f"cannot {operation.name.lower()}"):
                step(status, given)


In = IncomingInput
INCOMING_STATES = {state for state, _ in INCOMING} | set(INCOMING.values())


def test_the_incoming_cancel_is_a_row_of_the_incoming_table() -> None:
    cancels = {s: after for (s, given), after in INCOMING.items() if given is In.CANCEL}
    assert set(cancels) == {S.INPROGRESS, S.ROUTING, S.RETRYING, S.RETRIES_EXCEEDED}
    for status, after in cancels.items():
        assert step_incoming(status, In.CANCEL) is after
        assert incoming_operations(status) & JobOperations.DELETE
    assert step_incoming(S.INPROGRESS, In.CANCEL) is S.CANCELING
    for status in (S.CANCELING, S.CANCELED, S.COMPLETED, S.PENDING):
        assert incoming_operations(status) == JobOperations.VIEW
        with pytest.raises(InvalidTransitionError, match="incoming job that is"):
            step_incoming(status, In.CANCEL)


@pytest.mark.parametrize(
    "walk",
    [
        # received whole, a method failed once then delivered
        [
            (In.PROGRESS, S.INPROGRESS),
            (In.RECEIVED, S.ROUTING),
            (In.ROUTING_FAILED, S.RETRYING),
            (In.ROUTE, S.ROUTING),
        ],
        # a method failed for good, resent by an administrator, failed for good again
        [
            (In.RECEIVED, S.ROUTING),
            (In.ROUTING_SPENT, S.RETRIES_EXCEEDED),
            (In.RESEND, S.ROUTING),
            (In.ROUTING_FAILED, S.RETRYING),
            (In.ROUTING_SPENT, S.RETRIES_EXCEEDED),
            (In.CANCEL, S.CANCELED),
        ],
        # cancelled while received: hung up, what arrived is archived, the job ends
        [(In.CANCEL, S.CANCELING), (In.PROGRESS, S.CANCELING), (In.RECEIVED, S.CANCELED)],
        # cut off by the node's death, archived at start-up
        [(In.PROGRESS, S.INPROGRESS), (In.CUT_OFF, S.ROUTING)],
        [(In.CANCEL, S.CANCELING), (In.CUT_OFF, S.CANCELED)],
    ],
)
def test_an_incoming_jobs_life_walks_the_table(walk: list[tuple[IncomingInput, JobStatus]]) -> None:
    status = S.INPROGRESS
    for given, expected in walk:
        status = step_incoming(status, given)
        assert status == expected, f"{given.name} gave {describe(status)}"


def test_every_other_incoming_pair_is_refused_and_every_state_is_reached() -> None:
    """A reception's progress keeps its status; a fax being routed is never received again,
    nor a reception routed; every state is reached from an answered call."""
    for status, given in itertools.product(sorted(INCOMING_STATES), IncomingInput):
        if (status, given) not in INCOMING:
            with pytest.raises(InvalidTransitionError, match=f"cannot {given.value} an incoming"):
                step_incoming(status, given)
    assert taking(In.PROGRESS) == {S.INPROGRESS, S.CANCELING}
    assert all(step_incoming(s, In.PROGRESS) is s for s in taking(In.PROGRESS))
    routing = {S.ROUTING, S.RETRYING, S.RETRIES_EXCEEDED}
    assert not (taking(In.RECEIVED) | taking(In.CUT_OFF)) & routing
    assert not (taking(In.ROUTE) | taking(In.RESEND)) & taking(In.PROGRESS)
    reached = {S.INPROGRESS}
    while more := {a for (s, _), a in INCOMING.items() if s in reached} - reached:
        reached |= more
    assert reached == INCOMING_STATES
