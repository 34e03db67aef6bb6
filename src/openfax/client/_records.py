"""The building blocks of the client's objects: read-only fields over the JSON the server
sent, paged listings, and the COM-style collection (iterable, ``len()``, indexed by key or
1-based position)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar, overload

from openfax.model import MAX_PAGE_SIZE, ProviderStatus, version_numbers

if TYPE_CHECKING:
    from openfax.client._connection import Connection

T = TypeVar("T")


def segment(value: object) -> str:
    """``value`` as one segment of a request's path: quoted whole, so a job id such as
    ``My Fax Job`` or ``a/b`` reaches the server as written (which then names what is wrong
    with it) instead of making a malformed request or another path."""
    from urllib.parse import quote

    return quote(str(value), safe="")


def id_segment(value: object) -> str:
    """A job's or message's id as a path segment, checked first: InvalidIdError names
    anything that is not 16 hex digits (``My Fax Job``) before a request is made."""
    from openfax.model.ids import parse_id

    parse_id(value)  # type: ignore[arg-type]  # it refuses what is not a str
    return str(value)


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


class Setting(Field[Any]):
    """A property a client may change: kept in ``_changes`` until the owner's ``save()``
    sends them (FAXCOMEX's change-then-``Save()``)."""

    def __set__(self, obj: Any, value: Any) -> None:
        assert self.key is not None
        obj._data[self.key] = value
        obj._changes[self.key] = value


class Editable(Field[T]):
    """A property a client may change in place, converted on the way in too; the owner's
    ``save()`` sends the record as it then stands."""

    def __set__(self, obj: Any, value: T) -> None:
        assert self.key is not None
        obj._data[self.key] = value if self.convert is None else self.convert(value)


class Source(Protocol):
    """Where records' JSON is read from when each is first looked at (a page of a listing,
    whose rows a program may only count or pass over)."""

    def read(self, key: Any) -> dict[str, Any]:
        """The JSON of the record ``key`` names (a row of the page)."""
        ...


class Record:
    """An object that shows a JSON record from the server through :class:`Field` properties.

    ``data`` is the record's JSON, or the :class:`Source` it is read from (``key`` naming it
    there) when the record is first looked at: a job of a long listing then costs one object
    until then, and the garbage collector has little to walk.
    """

    def __init__(self, data: dict[str, Any] | Source, key: Any = None) -> None:
        if isinstance(data, dict):
            self._fields: dict[str, Any] | None = dict(data)
            self._source: Source | None = None
        else:
            self._fields, self._source, self._key = None, data, key

    @property
    def _data(self) -> dict[str, Any]:
        if self._fields is None:
            assert self._source is not None
            self._fields, self._source = self._source.read(self._key), None
        return self._fields

    @_data.setter
    def _data(self, value: dict[str, Any]) -> None:
        self._fields, self._source = value, None

    def to_dict(self) -> dict[str, Any]:
        """The record as the server's JSON gives it (with the changes events brought)."""
        return dict(self._data)

    def __repr__(self) -> str:
        key = self._data.get("id", "")
        return f"<{type(self).__name__} {key}>"


class HasVersion(Protocol):
    @property
    def version(self) -> str: ...


class VersionNumbers:
    """FAXCOMEX's numbers of a ``version`` text ``Major.Minor.MajorBuild.MinorBuild`` (the
    server's, a plug-in's) and its ``Debug`` flag."""

    @property
    def major_version(self: HasVersion) -> int:
        return version_numbers(self.version)[0]

    @property
    def minor_version(self: HasVersion) -> int:
        return version_numbers(self.version)[1]

    @property
    def major_build(self: HasVersion) -> int:
        return version_numbers(self.version)[2]

    @property
    def minor_build(self: HasVersion) -> int:
        return version_numbers(self.version)[3]

    @property
    def debug(self) -> bool:
        """FAXCOMEX ``Debug``: False, OpenFax and its Python plug-ins have no debug builds."""
        return False


class Versioned(VersionNumbers, Record):
    """A plug-in as loaded at the server's last start (a device provider, a routing
    extension): its names, its ``version`` text and FAXCOMEX's numbers of it; ``status``
    and ``init_error_message`` say why one did not load."""

    unique_name = Field[str]()
    friendly_name = Field[str]()
    image_name = Field[str]()
    """Its entry point (in ``openfax.providers``, ``openfax.routing_methods``)."""
    version = Field[str]()
    status = Field(ProviderStatus)
    init_error_code = Field[int]()
    init_error_message = Field[str]()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.unique_name!r} {self.status.name}>"


class Retried(Record):
    """Work the server does again until it succeeds (a delivery receipt e-mailed, a routing
    method run on a received fax): ``status`` is ``pending`` (to do, or waiting for its next
    attempt), ``done`` or ``failed`` (for good; ``resend()``)."""

    _path: ClassVar[str]
    """Where the server keeps these (``/receipts``)."""

    id = Field[str]()
    status = Field[str]()
    attempts = Field[int]()
    last_error = Field[str]()
    next_attempt_at = Field(parse_time)
    created_at = Field(parse_time)
    updated_at = Field(parse_time)

    def __init__(self, connection: Connection, data: dict[str, Any]) -> None:
        super().__init__(data)
        self._connection = connection

    def resend(self) -> None:
        """Do a failed one again with fresh retries (InvalidOperationError otherwise)."""
        self._data = self._connection.post(f"{self._path}/{segment(self.id)}/resend")


class Pages:
    """A paged listing read one request at a time: ``limit`` items, then the page after the
    cursor the last one gave, until the server gives none (an archive's message iterator,
    a queue's job collection). Each page is ``grow`` times the last, up to ``most`` (the
    largest the server gives), so that reading a long listing through takes few requests.
    ``decode`` reads a page's JSON in place of the json module."""

    def __init__(
        self,
        connection: Connection,
        path: str,
        items: str,
        limit: int,
        *,
        grow: int = 1,
        most: int = MAX_PAGE_SIZE,
        params: dict[str, Any] | None = None,
        decode: Callable[[bytes], Any] | None = None,
    ) -> None:
        self._connection = connection
        self._decode = decode
        self._path = path
        self._params = params or {}
        self._items = items
        self._grow = grow
        self._most = most
        self.limit = limit
        self.count: int | None = None
        """The listing's ``count``, when its pages carry one."""
        self.exhausted = False
        self.page: dict[str, Any] = {}
        """The last page read, whole."""
        self._cursor: str | None = None

    def next_page(self) -> list[dict[str, Any]]:
        """The next page's items; an empty list once the listing is read through."""
        if self.exhausted:
            return []
        params: dict[str, Any] = {**self._params, "limit": self.limit}
        if self._cursor is not None:
            params["after"] = self._cursor
        if self._decode is None:
            page = self._connection.get(self._path, **params)
        else:
            page = self._decode(self._connection.request("GET", self._path, params=params))
        self.page = page
        self._cursor = page["next_cursor"]
        self.exhausted = self._cursor is None
        self.count = page.get("count")
        self.limit = min(self._grow * self.limit, self._most)
        items: list[dict[str, Any]] = page[self._items]
        return items


class Collection(Generic[T]):
    """A FAXCOMEX collection snapshot: ``c[1]`` is the first item (COM's 1-based ``Item``),
    ``c["key"]`` the item with that key (an id, or a device's name).

    A collection made with ``more`` holds its first items and ``count``, and calls
    ``more()`` for the next batch when iteration or ``item`` goes past what it holds (an
    empty batch ends it). When the end is reached, ``count`` becomes the number of items
    held: items that left the server's snapshot before their batch was read are not shown.
    """

    def __init__(
        self,
        items: list[T],
        key: Callable[[T], str],
        *,
        count: int | None = None,
        more: Callable[[], list[T]] | None = None,
    ) -> None:
        self._items = items
        self._key = key
        self._more = more
        self._count = len(items) if more is None or count is None else count

    def _read_more(self) -> bool:
        """Add the next batch; False at the end (``count`` then says what was held)."""
        if self._more is None:
            return False
        batch = self._more()
        if not batch:
            self._more = None
            self._count = len(self._items)
            return False
        self._items.extend(batch)
        return True

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[T]:
        position = 0
        while position < len(self._items) or self._read_more():
            yield self._items[position]
            position += 1

    def __getitem__(self, key: int | str) -> T:
        return self.item(key)

    def item(self, key: int | str) -> T:
        """FAXCOMEX ``Item(key)``: by 1-based position or by key; KeyError/IndexError if none."""
        if isinstance(key, str):
            for item in self:
                if self._key(item).lower() == key.lower():
                    return item
            raise KeyError(key)
        while len(self._items) < key and self._read_more():
            pass
        if not 1 <= key <= len(self._items):
            raise IndexError(f"position {key} is not in 1..{self._count}")
        return self._items[key - 1]

    @property
    def count(self) -> int:
        """FAXCOMEX ``Count``."""
        return self._count

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {len(self)}>"
