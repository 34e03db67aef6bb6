"""The building blocks of the client's objects: read-only fields over the JSON the server
sent, and the COM-style collection (iterable, ``len()``, indexed by key or 1-based position)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


def parse_time(text: str) -> datetime:
    """An ISO 8601 time from the wire as an aware datetime (UTC)."""
    return datetime.fromisoformat(text)


class Field(Generic[T]):
    """A read-only property backed by ``self._data[name]``, converted on the way out
    (None stays None)."""

    def __init__(self, convert: Callable[[Any], T] | None = None, key: str | None = None) -> None:
        self.convert = convert
        self.key = key

    def __set_name__(self, owner: type, name: str) -> None:
        self.key = self.key or name

    @overload
    def __get__(self, obj: None, objtype: type) -> Field[T]: ...
    @overload
    def __get__(self, obj: object, objtype: type) -> T: ...
    def __get__(self, obj: object | None, objtype: type) -> Field[T] | T:
        if obj is None:
            return self
        value = obj._data[self.key]  # type: ignore[attr-defined]
        if value is None or self.convert is None:
            return value  # type: ignore[no-any-return]
        return self.convert(value)


class Record:
    """An object that shows a JSON record from the server through :class:`Field` properties."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = dict(data)

    def __repr__(self) -> str:
        key = self._data.get("id", "")
        return f"<{type(self).__name__} {key}>"


class Collection(Generic[T]):
    """A FAXCOMEX collection snapshot: ``c[1]`` is the first item (COM's 1-based ``Item``),
    ``c["key"]`` the item with that key (an id, or a device's name)."""

    def __init__(self, items: list[T], key: Callable[[T], str]) -> None:
        self._items = items
        self._key = key

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)

    def __getitem__(self, key: int | str) -> T:
        return self.item(key)

    def item(self, key: int | str) -> T:
        """FAXCOMEX ``Item(key)``: by 1-based position or by key; KeyError/IndexError if none."""
        if isinstance(key, str):
            for item in self._items:
                if self._key(item).lower() == key.lower():
                    return item
            raise KeyError(key)
        if not 1 <= key <= len(self._items):
            raise IndexError(f"position {key} is not in 1..{len(self._items)}")
        return self._items[key - 1]

    @property
    def count(self) -> int:
        """FAXCOMEX ``Count``."""
        return len(self._items)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {len(self)}>"
