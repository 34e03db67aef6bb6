"""Store fixtures: every test runs against a fresh SQLite file and a fresh PostgreSQL database
(the private server of ``tests/conftest.py``)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from openfax.model import Priority
from openfax.store import Database, OutgoingJob, Submission, open_database

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
ALICE = 1001
"""The account id of ``alice``, the owner of what the tests submit unless they say."""
BOB = 1002


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty store on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fax.db'}"
    url: str = request.getfixturevalue("postgresql_url")
    return url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """An open store on each backend."""
    database = await open_database(database_url)
    yield database
    await database.close()


def submission_with_jobs(
    recipients: int = 1,
    *,
    priority: Priority = Priority.NORMAL,
    scheduled_at: datetime = NOW,
    owner: str = "alice",
    owner_id: int | None = ALICE,
    idempotency_key: str | None = None,
    submitted_at: datetime = NOW,
) -> tuple[Submission, list[OutgoingJob]]:
    """A submission and its jobs, one per recipient, as the service would build them."""
    submission = Submission(
        owner=owner,
        owner_id=owner_id,
        idempotency_key=idempotency_key,
        document_name="letter.pdf",
        subject="Quarterly figures",
        sender={"name": "Alice", "fax_number": "+44 20 7946 0000"},
        priority=priority,
        page_count=2,
        submitted_at=submitted_at,
    )
    jobs = [
        OutgoingJob(
            submission_id=submission.id,
            recipient_index=index,
            recipient_number=f"+1 (555) 010{index}",
            recipient_name=f"Recipient {index}",
            priority=priority,
            total_pages=3,
            original_scheduled_at=scheduled_at,
            scheduled_at=scheduled_at,
            created_at=submitted_at,
        )
        for index in range(recipients)
    ]
    return dataclasses.replace(submission, job_ids=[job.id for job in jobs]), jobs


def later(seconds: float) -> datetime:
    """``NOW`` plus some seconds."""
    return NOW + timedelta(seconds=seconds)
