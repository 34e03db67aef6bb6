"""The README's shell blocks run as written, from a copy of a fresh clone of the repository
with the repository's virtual environment as its ``.venv``, one after the other as a
newcomer types them: the README's own ``make run`` starts the openfaxd the later blocks talk
to (given a test configuration with ``CONFIG=``: a free port, unpaced lines).

A block is run unless the line before it is ``<!-- not run in tests: REASON -->``, so a
new block is tried by default. ``console`` blocks run their ``$ `` lines.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
SHELLS = {"sh", "bash", "shell", "console"}
NOT_RUN = re.compile(r"<!--\s*not run in tests:\s*(\S.*?)\s*-->")
FENCE = re.compile(r"```(\S*)\s*")
PASSWORD = "Readme-pass-1234"
"""Typed at every prompt (``accounts add --password`` asks twice)."""
CONFIG = """\
[loopback]
pace = "unpaced"
[api]
listen = "127.0.0.1:0"
[outgoing.causes.busy]
delay_minutes = 0.01
"""
"""What ``make run`` is given with ``CONFIG=``: any free port, and lines that run as fast
as the CPU allows (a line busy with the fax to itself is tried again at once)."""
SECONDS = 120
"""How long one block, or openfaxd's start, may take."""


@dataclass(frozen=True)
class Block:
    """A fenced code block: where it starts (1-based line), its language, its text, and why
    it is not run (empty: it is run)."""

    line: int
    language: str
    text: str
    not_run: str

    @property
    def script(self) -> str:
        """What the shell runs: the block, or a ``console`` block's ``$ `` lines."""
        if self.language != "console":
            return self.text
        prompts = [line[2:] for line in self.text.splitlines() if line.startswith("$ ")]
        return "\n".join(prompts) + "\n"

    @property
    def starts_openfaxd(self) -> bool:
        """A ``make run`` block: it serves until stopped."""
        return shlex.split(self.script, comments=True)[:2] == ["make", "run"]


def readme_blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown text, each with the marker on the line before it."""
    blocks: list[Block] = []
    lines = text.splitlines(keepends=True)
    index = 0
    while index < len(lines):
        opening = FENCE.fullmatch(lines[index])
        if opening is None:
            index += 1
            continue
        start = index
        index += 1
        while index < len(lines) and lines[index].strip() != "```":
            index += 1
        marker = NOT_RUN.fullmatch(lines[start - 1].strip()) if start else None
        body = "".join(lines[start + 1 : index])
        blocks.append(Block(start + 1, opening[1], body, marker[1] if marker else ""))
        index += 1
    return blocks


def fresh_clone(destination: Path) -> Path:
    """The repository's files copied to ``destination`` as a clone has them (those git
    tracks, and new ones not ignored: what a commit of the work in progress would hold),
    with the repository's virtual environment as its ``.venv``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in listed.decode().split("\0"):
        source = ROOT / name
        if name and source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
            target.chmod(source.stat().st_mode)
    venv = Path(sys.prefix)
    (destination / ".venv").symlink_to(venv)
    # The environment is built after the clone (or make would rebuild it, into the
    # repository's own environment, from this copy).
    built = (venv / "bin" / "openfax").stat().st_mtime
    os.utime(destination / "pyproject.toml", (built - 60, built - 60))
    return destination


@contextmanager
def make_run(block: Block, cwd: Path, env: dict[str, str], config: Path) -> Iterator[str]:
    """The block's ``make run`` with ``CONFIG=config``, started in a session of its own and
    served (its output so far is yielded); the whole session is stopped at the end."""
    command = [*shlex.split(block.script, comments=True), f"CONFIG={config}"]
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    watchdog = threading.Timer(SECONDS, os.killpg, (process.pid, signal.SIGKILL))
    watchdog.start()
    output: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if "openfaxd ready" in line:
                break
        else:
            raise AssertionError(f"README line {block.line}: make run did not serve:\n{output}")
        watchdog.cancel()
        # Keep reading its log, or a full pipe would stop it.
        threading.Thread(target=process.stdout.read, daemon=True).start()
        yield "".join(output)
        assert process.poll() is None, f"openfaxd ended while the README ran:\n{output}"
    finally:
        watchdog.cancel()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def test_the_readme_blocks_are_found_with_their_markers() -> None:
    text = "x\n```sh\nmake run\n```\n<!-- not run in tests: needs a trunk -->\n```console\n"
    text += "$ openfax jobs\nid status\n```\n```toml\n[api]\n```\n"
    run, marked, toml = readme_blocks(text)
    assert (run.line, run.language, run.not_run, run.starts_openfaxd) == (2, "sh", "", True)
    assert (marked.not_run, marked.script) == ("needs a trunk", "openfax jobs\n")
    assert toml.language == "toml"
    assert not toml.not_run


def test_every_shell_block_of_the_readme_runs_as_written(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    blocks = [b for b in readme_blocks((ROOT / "README.md").read_text()) if b.language in SHELLS]
    assert sum(b.starts_openfaxd for b in blocks if not b.not_run) == 1, "one make run block"
    clone = fresh_clone(tmp_path / "openfax")
    # A short home: the daemon's socket under it must fit a Unix socket path (107 bytes).
    home = Path(tempfile.mkdtemp(prefix="ofx-home-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(home, ignore_errors=True))
    config = tmp_path / "openfaxd.toml"
    config.write_text(CONFIG)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("OPENFAX_") and key not in ("XDG_DATA_HOME", "PYTHONPATH")
    }
    # The copy's own sources first, as the repository's editable install finds its own.
    env |= {"HOME": str(home), "PYTHONPATH": str(clone / "src"), "COLUMNS": "80"}
    (daemon,) = [b for b in blocks if b.starts_openfaxd and not b.not_run]
    failures: list[str] = []
    before = [b for b in blocks if b.line < daemon.line and not b.not_run]
    after = [b for b in blocks if b.line > daemon.line and not b.not_run]
    for block in before:
        failures += _run(block, clone, env)
    with make_run(daemon, clone, env, config):
        for block in after:
            failures += _run(block, clone, env)
    hint = "(a block that cannot run on a test machine: <!-- not run in tests: WHY --> before it)"
    assert not failures, "\n\n".join([*failures, hint])
    assert (clone / "fax.pdf").stat().st_size > 0  # what the first fax's `get` saved


def _run(block: Block, cwd: Path, env: dict[str, str]) -> list[str]:
    """Run one block with bash (stopping at its first failing command); what went wrong."""
    try:
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-x", "-c", block.script],
            cwd=cwd,
            env=env,
            input=f"{PASSWORD}\n" * 4,
            capture_output=True,
            text=True,
            timeout=SECONDS,
        )
    except subprocess.TimeoutExpired as expired:
        return [f"README line {block.line}: still running after {SECONDS} s:\n{expired.stderr}"]
    if done.returncode == 0:
        return []
    return [
        f"README line {block.line}: exit status {done.returncode}\n"
        f"{block.script}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    ]
