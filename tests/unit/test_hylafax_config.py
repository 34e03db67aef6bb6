"""The private HylaFAX's configuration (``bench/hylafax``): faxq and faxgetty agree on where
a modem's UUCP lock is, or faxgetty takes the modem back in the middle of faxsend's call."""

from __future__ import annotations

from pathlib import Path

from bench.hylafax import TEMPLATES


def settings(path: Path) -> dict[str, str]:
    """A HylaFAX configuration file's ``Tag: value`` lines (hylafax-config(5))."""
    found = {}
    for line in path.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if ":" in text:
            tag, value = text.split(":", 1)
            found[tag.strip().lower()] = value.strip()
    return found


def test_faxq_and_faxgetty_lock_modems_in_the_same_private_directory() -> None:
    # faxq locks the modem it gives faxsend; faxgetty, told to let go, polls for that lock
    # every PollLockWait (30 s) and takes the modem back (ATZ) when it does not see it.
    faxq = settings(TEMPLATES / "config")
    faxgetty = settings(TEMPLATES / "config.modem")
    assert faxq.get("uucplockdir") == faxgetty.get("uucplockdir") == "tmp"
