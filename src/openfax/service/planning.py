"""Which free line sends which ready job: the scheduler's decisions as one pure function.

:func:`plan` takes a moment of the queue and of this node's lines and returns the claims to
make and the jobs that no line could take (NOLINE); it does no I/O and reads no clock, so
every routing case is a unit test of milliseconds. The scheduler reads its inputs, makes
the claims in the store (which may still lose a job to another node, or find it is not to
be sent now) and starts the calls; a line left free by a claim that came to nothing is
planned again with what the store holds then.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from openfax.service.outbound_routing import Routes
from openfax.store.queries import ReadyJob


@dataclass(frozen=True, slots=True)
class FreeLine:
    """A line of this node that is idle and may send, in the order lines are served."""

    device_id: int
    reaches: Callable[[str], bool]
    """Whether a call from the line to a number can ring anyone but the line itself
    (``Device.reaches``)."""


@dataclass(frozen=True, slots=True)
class Claim:
    """A line is to take a job."""

    device_id: int
    job_id: int


@dataclass(frozen=True, slots=True)
class Plan:
    """The claims of a round, in order, and the numbers whose ready jobs get the NOLINE bit
    once the claims are made: ``None`` for every ready job (no line is left idle)."""

    claims: list[Claim]
    no_line: frozenset[str] | None


def plan(
    now: datetime, lines: Sequence[FreeLine], ready_jobs: Sequence[ReadyJob], routes: Routes
) -> Plan:
    """Give each free line the first job, in claim order, of those ready at ``now`` that it
    reaches and that routing gives it.

    ``ready_jobs`` come in the order jobs are claimed (priority, then schedule, then id).
    Where outbound routing is restricted, a job's number goes to the first of its rule's
    valid devices that is free and reaches it (``Routes.may_send``), the lines taken by
    earlier claims of the round not counted as free. Once the claims are made, the jobs
    still ready get the NOLINE bit when no line is left idle; when some line is, only the
    jobs to numbers no idle line reaches do (unrestricted routing: with rules, a job waits
    for its rule's devices, whether or not the idle lines could reach it).
    """
    ready = [job for job in ready_jobs if job.scheduled_at <= now]
    taken: set[int] = set()
    busy: set[int] = set()
    claims: list[Claim] = []
    for line in lines:
        for job in ready:
            number = job.recipient_number
            if job.id in taken or not line.reaches(number):
                continue
            if routes.restricted and not _routed_to(line, number, lines, busy, routes):
                continue
            claims.append(Claim(line.device_id, job.id))
            taken.add(job.id)
            busy.add(line.device_id)
            break
    idle = [line for line in lines if line.device_id not in busy]
    if not idle:
        return Plan(claims, None)
    if routes.restricted:
        return Plan(claims, frozenset())
    left = {job.recipient_number for job in ready if job.id not in taken}
    stranded = {n for n in left if not any(line.reaches(n) for line in idle)}
    return Plan(claims, frozenset(stranded))


def _routed_to(
    line: FreeLine, number: str, lines: Sequence[FreeLine], busy: Collection[int], routes: Routes
) -> bool:
    """Whether routing gives a job to ``number`` to ``line`` among the lines still free."""
    reaching = [o.device_id for o in lines if o.device_id not in busy and o.reaches(number)]
    return routes.may_send(number, line.device_id, reaching)
