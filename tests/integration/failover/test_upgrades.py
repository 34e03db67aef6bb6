"""Rolling upgrades: ``openfaxd`` refuses a database migrated by a newer version of OpenFax."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from openfax.store.database import head_revision
from tests.daemon import Daemon

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
