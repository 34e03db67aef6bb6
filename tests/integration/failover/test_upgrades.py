"""Rolling upgrades: nodes of two versions side by side while the newer one's migration
(which only adds) runs; ``openfaxd`` refuses a database migrated by a newer OpenFax."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import openfax
from openfax.store.database import head_revision
from tests.daemon import Daemon
from tests.factories import make_pdf

from .cluster import NODES, Cluster, check_delivered

NEWER = "9001"
"""A migration no version of OpenFax has: the mark a newer version's migration leaves."""


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_openfaxd_refuses_a_schema_newer_than_it_knows(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'fax.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgresql_url")
    )
    node = Daemon(tmp_path / "node", database=url, node_id="old-node")
    node.start()  # migrates the database to this version's newest
    node.stop()
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :newer"), {"newer": NEWER})
        with pytest.raises(AssertionError, match="exit code 1") as refused:
            node.start()
        with engine.connect() as conn:
            stamped = conn.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        engine.dispose()
    said = str(refused.value)
    assert f"schema is at migration {NEWER}, newer than this version" in said, said
    assert f"its newest is {head_revision()}" in said, said
    assert "Traceback" not in said, said
    assert stamped == NEWER, "the database is left as the newer version wrote it"


ADDITION = '''"""A migration of the next version, for the rolling-upgrade test: it only adds."""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down_revision}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outgoing_jobs", sa.Column("upgrade_note", sa.Text(), nullable=True))
    op.create_table("upgrade_notes", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("upgrade_notes")
    op.drop_column("outgoing_jobs", "upgrade_note")
'''


def next_version(folder: Path) -> dict[str, str]:
    """This OpenFax with one more migration that only adds (a nullable column, a table): the
    environment that runs it."""
    copy = folder / "openfax"
    shutil.copytree(Path(openfax.__file__).parent, copy, ignore=shutil.ignore_patterns("*.pyc"))
    versions = copy / "store" / "migrations" / "versions"
    addition = ADDITION.format(revision=NEWER, down_revision=head_revision())
    (versions / f"{NEWER}_upgrade_test.py").write_text(addition)
    return {"PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])}


def test_nodes_of_two_versions_work_side_by_side_while_the_newer_migrates(
    tmp_path: Path, postgresql_url: str
) -> None:
    """A rolling upgrade: node-a runs this version; node-b starts as the next one, whose
    migration adds to the schema, and both send and receive on it; node-a, stopped, may not
    start again until it is upgraded too."""
    body = make_pdf(tmp_path / "one.pdf", 1)
    nodes = Cluster(tmp_path, postgresql_url, NODES[:2], loopback={"pace": "unpaced"})
    newer = nodes.nodes["node-b"]
    newer.env.update(next_version(tmp_path / "next"))
    old = nodes.nodes["node-a"]
    try:
        old.start()
        check_delivered(nodes.delivered(*nodes.submit(body, old)), 1)
        newer.start()  # migrates the database while node-a runs
        assert nodes.rows("SELECT version_num FROM alembic_version")[0][0] == NEWER
        assert nodes.rows("SELECT count(*) FROM upgrade_notes")[0][0] == 0
        # Side by side: each node's API takes faxes, whichever node sends them.
        for job_id, tag in [nodes.submit(body, node) for node in (old, newer)]:
            check_delivered(nodes.delivered(job_id, tag), 1)
        # Each version alone sends and receives on the schema of the next one.
        assert newer.stop() == 0
        check_delivered(nodes.delivered(*nodes.submit(body, old)), 1)
        assert old.stop() == 0
        with pytest.raises(AssertionError, match=f"schema is at migration {NEWER}"):
            old.start()  # stopped during the upgrade: upgraded before it starts again
        newer.start()
        check_delivered(nodes.delivered(*nodes.submit(body, newer)), 1)
    finally:
        nodes.stop()
