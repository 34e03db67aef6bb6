"""Bearer tokens of remote clients, kept as SHA-256 hashes in a file, one per line.

A line reads ``sha256:<64 hex digits> <name>``; ``#`` starts a comment. The name is the
account the token's holder acts as (made when the token is first used, with the default
rights). Accounts have API tokens of their own too (``openfax accounts token``); this file
is the administrator's way to let a client in without the API. A token is 32 random bytes, so a
plain SHA-256 is enough: nobody can guess it from the hash, and checking costs nothing,
unlike a password hash run on every request. The file is read again when it changes, so a
token added or removed takes effect without a restart.

``python -m openfax.api.tokens NAME [--config FILE] [--data-dir DIR]`` adds a token for
NAME to the configured file and prints it (the only time it is shown).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from openfax.service.accounts import TOKEN_PREFIX, new_token, token_hash


class TokenFile:
    """The tokens file, read when first needed and again whenever it changed on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._names: dict[str, str] = {}

    def holder(self, token: str) -> str | None:
        """The name the token belongs to, or None if no line has its hash."""
        self._reload()
        return self._names.get(token_hash(token))

    def add(self, name: str) -> str:
        """Append a new token for ``name`` (the file is made private) and return it."""
        if not name or any(c.isspace() for c in name):
            raise ValueError(f"a token holder's name has no spaces: {name!r}")
        token = new_token()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as file:
            file.write(f"{token_hash(token)} {name}\n")
        return token

    def _reload(self) -> None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._names = None, {}
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        names: dict[str, str] = {}
        for line in self.path.read_text().splitlines():
            digest, _, name = line.partition("#")[0].strip().partition(" ")
            if digest.startswith(TOKEN_PREFIX):
                names[digest] = name.strip() or "token"
        self._stamp, self._names = stamp, names


def main(argv: list[str] | None = None) -> int:
    """Add a token for a remote client to the configured tokens file and print it."""
    from openfax.service.config_file import load_config

    parser = argparse.ArgumentParser(prog="python -m openfax.api.tokens", description=main.__doc__)
    parser.add_argument("name", help="who the token's holder acts as")
    parser.add_argument("--config", help="TOML configuration file of openfaxd")
    parser.add_argument("--data-dir", help="data folder of openfaxd")
    options = parser.parse_args(argv)
    config = load_config(options.config, data_dir=options.data_dir)
    print(TokenFile(config.api.tokens_file).add(options.name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
