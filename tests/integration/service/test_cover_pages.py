"""The server's cover pages: added (checked by drawing them), listed, used by a submission
by name, removed; bad names and templates are refused with what was wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from openfax.documents import read_fax_tiff
from openfax.errors import ConfigError, DocumentError, NotSupportedError
from openfax.model import CoverPageType
from openfax.service import FaxService
from openfax.store import queries as q

from .conftest import request

pytestmark = pytest.mark.anyio

MEMO = b"@font sans-bold 48\nMEMO for {recipient_name}\n@rule 6\n{subject}\n"


async def first_page(service: FaxService, tmp_path: Path, cover: str) -> np.ndarray:
    """The first page of a fax submitted with the server cover page ``cover``."""
    fax = request(
        tmp_path / "two.pdf", "1002", cover_page_type=CoverPageType.SERVER, cover_page=cover
    )
    (job_id,) = await service.outgoing_queue.submit(fax)
    copy = tmp_path / f"{job_id:016x}.tif"
    await service.outgoing_queue.copy_tiff(job_id, copy)
    return read_fax_tiff(copy)[0].rows


async def test_a_submission_uses_a_cover_page_added_by_name(
    service: FaxService, tmp_path: Path, two_pages: Path
) -> None:
    await service.options.set_queue_switches(outgoing_paused=True)
    added = await service.cover_pages.add_cover_page("memo", MEMO, actor="admin")
    assert (added.name, added.size) == ("memo", len(MEMO))
    assert [page.name for page in await service.cover_pages.get_cover_pages()] == [
        "generic",
        "memo",
    ]
    assert (service.config.data_dir / "coverpages" / "memo.txt").read_bytes() == MEMO
    memo = await first_page(service, tmp_path, "memo")
    built_in = await first_page(service, tmp_path, "")
    assert not np.array_equal(memo, built_in), "the memo template, not the built-in one"
    assert np.array_equal(await first_page(service, tmp_path, "memo.txt"), memo)

    await service.cover_pages.remove_cover_page("memo", actor="admin")
    assert [page.name for page in await service.cover_pages.get_cover_pages()] == ["generic"]
    with pytest.raises(DocumentError, match="no such cover page template"):
        await first_page(service, tmp_path, "memo")
    trail = [
        (e.actor, e.object_type, e.object_id, e.details) for e in await service.options.get_audit()
    ]
    assert ("admin", "cover_page", "memo", {"change": "added"}) in trail
    assert ("admin", "cover_page", "memo", {"change": "removed"}) in trail
    async with service.ctx.db.read() as conn:
        events = await q.read_events(conn, after=0)
    assert [e.payload for e in events if "cover_page" in e.payload] == [
        {"cover_page": "memo", "change": "added"},
        {"cover_page": "memo", "change": "removed"},
    ]


@pytest.mark.parametrize("name", ["../escape", ".hidden", "", "a/b", "x" * 101, "trailing."])
async def test_a_bad_name_is_refused(service: FaxService, name: str) -> None:
    with pytest.raises(ConfigError) as raised:
        await service.cover_pages.add_cover_page(name, MEMO)
    assert raised.value.key == "name"
    assert [page.name for page in await service.cover_pages.get_cover_pages()] == ["generic"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"To {no_such_field}\n", "no_such_field"),
        (b"@font comic 12\nHello\n", "comic"),
        (b"\xff\xfe not text", "cannot be read"),
    ],
)
async def test_a_template_that_does_not_draw_is_refused(
    service: FaxService, content: bytes, reason: str
) -> None:
    with pytest.raises(DocumentError, match=reason) as raised:
        await service.cover_pages.add_cover_page("broken", content)
    assert raised.value.path == "broken"
    assert [page.name for page in await service.cover_pages.get_cover_pages()] == ["generic"]
    assert list((service.config.data_dir / "coverpages").iterdir()) == [], "no temporary left"


async def test_removing_an_unknown_cover_page_says_so(service: FaxService) -> None:
    with pytest.raises(NotSupportedError, match="no cover page 'nothing'"):
        await service.cover_pages.remove_cover_page("nothing")


async def test_generic_is_built_in_until_replaced(
    service: FaxService, tmp_path: Path, two_pages: Path
) -> None:
    await service.options.set_queue_switches(outgoing_paused=True)
    (generic,) = await service.cover_pages.get_cover_pages()
    assert generic.name == "generic"
    assert generic.size > 0
    assert np.array_equal(
        await first_page(service, tmp_path, "generic"), await first_page(service, tmp_path, "")
    ), "the package's default template"
    with pytest.raises(NotSupportedError, match="'generic' is built in"):
        await service.cover_pages.remove_cover_page("generic")
    await service.cover_pages.add_cover_page("generic", MEMO)
    assert [(p.name, p.size) for p in await service.cover_pages.get_cover_pages()] == [
        ("generic", len(MEMO))
    ]
    memo = await first_page(service, tmp_path, "generic")
    assert not np.array_equal(memo, await first_page(service, tmp_path, ""))
    await service.cover_pages.remove_cover_page("generic")
    assert [page.name for page in await service.cover_pages.get_cover_pages()] == ["generic"], (
        "back"
    )


async def test_a_node_writes_at_start_the_cover_pages_kept_in_the_store(
    service: FaxService,
) -> None:
    """The store keeps each template, so a node of a cluster that was not running when it
    was added (here: its file lost) writes it into its folder at start; one removed (by its
    file's name) is not written again."""
    await service.cover_pages.add_cover_page("memo", MEMO)
    await service.cover_pages.add_cover_page("letter", b"LETTER\n")
    cover_pages = service.config.data_dir / "coverpages"
    (cover_pages / "memo.txt").unlink()
    await service.cover_pages.remove_cover_page("letter.txt")
    await service.cover_pages.take_up_all()
    assert (cover_pages / "memo.txt").read_bytes() == MEMO
    assert not (cover_pages / "letter.txt").exists()
