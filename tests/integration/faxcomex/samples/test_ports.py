"""Every sample's port differs from its pywin32 script in its imports only, compiles, and
names the Microsoft page it follows."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from tests.integration.faxcomex.samples.port import PYWIN32_IMPORT, port

SAMPLES = sorted(p.stem for p in Path(__file__).parent.glob("test_*.py") if p.stem != "test_ports")
PAGE = re.compile(
    r"https://learn\.microsoft\.com/en-us/previous-versions/windows/desktop/fax/-mfax-\S+"
)


@pytest.mark.parametrize("name", SAMPLES)
def test_only_the_imports_change(name: str) -> None:
    sample = importlib.import_module(f"tests.integration.faxcomex.samples.{name}")
    assert PAGE.search(sample.__doc__ or ""), f"{name} names no Microsoft sample"
    windows = sample.WINDOWS
    ported = port(windows)
    changed = [
        (before, after)
        for before, after in zip(windows.splitlines(), ported.splitlines(), strict=True)
        if before != after
    ]
    imports = PYWIN32_IMPORT.findall(windows)
    assert len(changed) == len(imports) >= 2
    assert all(after.startswith("from openfax.faxcomex import ") for _, after in changed)
    compile(ported, f"{name}.py", "exec")
