"""One ``with`` protocol for the objects that hold a native or OS resource until closed.

The engine's sessions and modem (spandsp handles) and the virtual modem's pseudo-terminal
each free what they hold in ``close()``; a ``with`` block closes them on the way out, even
when it raises.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closeable:
    """A resource freed by :meth:`close`; as a context manager it closes itself at exit."""

    def close(self) -> None:
        """Free what the object holds (a subclass says what that is)."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
