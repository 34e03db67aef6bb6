"""The archives: FAXCOMEX ``FaxIncomingArchive``/``FaxOutgoingArchive``, their message
iterators (which fetch pages lazily, ``prefetch_size`` messages at a time) and messages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openfax.client._records import (
    Collection,
    Field,
    Pages,
    Record,
    Setting,
    id_segment,
    parse_time,
    segment,
)
from openfax.client.administration import ConfigurationOf, FaxConfiguration, size_high, size_low
from openfax.client.routing import FaxInboundRouting, FaxRoutingDelivery, send_json
from openfax.errors import ConfigError
from openfax.model import DEFAULT_PREFETCH_SIZE, Priority, ReceiptType
from openfax.model.records import Recipient, Sender

if TYPE_CHECKING:
    from openfax.client._connection import Connection


class _Message(Record):
    """What incoming and outgoing messages share."""

    id = Field[str]()
    pages = Field[int]()
    size = Field[int]()
    retries = Field[int]()
    device_name = Field[str]()
    csid = Field[str]()
    tsid = Field[str]()
    transmission_start = Field(parse_time)
    transmission_end = Field(parse_time)
    has_cover_page = Field[bool]()
    read = Setting()
    """Whether the fax was read (set it, then ``save()``)."""

    def __init__(self, connection: Connection, path: str, data: dict[str, Any]) -> None:
        super().__init__(data)
        self._connection = connection
        self._path = path
        self._changes: dict[str, Any] = {}

    def save(self) -> None:
        """FAXCOMEX ``Save()``: send the fields changed since the message was read."""
        changes = {k: v for k, v in self._changes.items() if k not in _NOT_SAVED}
        if changes:
            path = f"{self._path}/{segment(self.id)}"
            self._data = send_json(self._connection, "PATCH", path, changes)
        self._changes = {}

    def copy_tiff(self, path: str | Path) -> None:
        """FAXCOMEX ``CopyTiff(path)``: the fax as TIFF-F into ``path``."""
        self._connection.download(f"{self._path}/{segment(self.id)}/tiff", path)

    def save_pdf(self, path: str | Path) -> None:
        """The fax as a PDF into ``path`` (one page per fax page, at its resolution)."""
        self._connection.download(f"{self._path}/{segment(self.id)}/pdf", path)

    def delete(self) -> None:
        """FAXCOMEX ``Delete()``: remove the fax from its archive."""
        self._connection.request("DELETE", f"{self._path}/{segment(self.id)}")

    def refresh(self) -> None:
        """FAXCOMEX ``Refresh()``, dropping unsaved changes."""
        self._data = self._connection.get(f"{self._path}/{segment(self.id)}")
        self._changes = {}


_NOT_SAVED = {"recipients"}
"""What ``save()`` does not send: the recipients are ``reassign()``'s."""


class FaxIncomingMessage(_Message):
    """FAXCOMEX ``FaxIncomingMessage2``: a received fax."""

    caller_id = Field[str]()
    routing_information = Field[str]()
    subject = Setting()
    """Filled in by a routing assistant (far2MANAGE_RECEIVE_FOLDER to save it), as are
    ``sender_name``, ``sender_fax_number`` and ``has_cover_page``."""
    sender_name = Setting()
    sender_fax_number = Setting()
    has_cover_page = Setting()
    recipients = Setting()
    """The account the fax is assigned to; set it, then ``reassign()``."""
    was_reassigned = Field[bool]()
    partial = Field[bool]()
    """The call ended before the fax did; these are the pages that arrived."""

    def reassign(self, account_name: str | None = None) -> None:
        """FAXCOMEX ``ReAssign()``: the fax becomes the account's own (``account_name``, or
        the ``recipients`` set), while incoming faxes are not public, and the fields a
        routing assistant changed are saved (far2MANAGE_RECEIVE_FOLDER)."""
        account = account_name if account_name is not None else self.recipients
        self.save()
        path = f"{self._path}/{segment(self.id)}/reassign"
        self._data = send_json(self._connection, "POST", path, {"account_name": account})

    def get_text(self) -> str:
        """The fax's text as OCR read it (lines, pages apart by a form feed); empty until
        it is read, or when it could not be (OpenFax's, not FAXCOMEX's)."""
        data = self._connection.get(f"{self._path}/{segment(self.id)}/text")
        return str(data["text"])

    def get_routing_deliveries(self) -> Collection[FaxRoutingDelivery]:
        """What each inbound routing method did with this fax (done, pending with its next
        attempt, or failed and why), in the order they run."""
        return FaxInboundRouting(self._connection).get_deliveries(message_id=self.id)


class FaxOutgoingMessage(_Message):
    """FAXCOMEX ``FaxOutgoingMessage2``: a sent fax."""

    submission_id = Field[str]()
    subject = Field[str]()
    document_name = Field[str]()
    priority = Field(Priority)
    receipt_type = Field(ReceiptType)
    receipt_address = Field[str]()
    original_scheduled_time = Field(parse_time)
    submission_time = Field(parse_time)

    @property
    def sender(self) -> Sender:
        return Sender.of(self._data["sender"])

    @property
    def recipient(self) -> Recipient:
        """The recipient of a sent fax; every field empty for a received one."""
        return Recipient.of(self._data["recipient"] or {})


class FaxMessageIterator:
    """FAXCOMEX message iterator: a forward cursor over an archive, oldest first, reading
    ``prefetch_size`` messages per request as it goes. Also a Python iterator."""

    def __init__(self, archive: _Archive, prefetch_size: int, search: str = "") -> None:
        self._archive = archive
        self._prefetch_size = prefetch_size
        self._search = search
        self.move_first()

    @property
    def prefetch_size(self) -> int:
        """FAXCOMEX ``PrefetchSize``: messages read per request; a change applies from the
        next request (the iterator is local, as FAXCOMEX's)."""
        return self._prefetch_size

    @prefetch_size.setter
    def prefetch_size(self, value: int) -> None:
        self._prefetch_size = value
        self._pages.limit = value

    def move_first(self) -> None:
        """FAXCOMEX ``MoveFirst()``: back to the oldest message."""
        archive = self._archive
        self._pages = Pages(
            archive._connection,
            archive._path,
            "messages",
            self.prefetch_size,
            params=archive._params | ({"q": self._search} if self._search else {}),
        )
        self._buffer = self._pages.next_page()
        self._position = 0

    def move_next(self) -> None:
        """FAXCOMEX ``MoveNext()``: on to the next message (IndexError past the end)."""
        if self.at_eof:
            raise IndexError("the message iterator is past the last message")
        self._position += 1
        if self._position == len(self._buffer):
            self._buffer, self._position = self._pages.next_page(), 0

    @property
    def at_eof(self) -> bool:
        """FAXCOMEX ``AtEOF``."""
        return self._position >= len(self._buffer)

    @property
    def message(self) -> _Message:
        """FAXCOMEX ``Message``: the message under the cursor."""
        if self.at_eof:
            raise IndexError("the message iterator is past the last message")
        message: _Message = self._archive._message(self._buffer[self._position])
        return message

    def __iter__(self) -> Iterator[Any]:
        while not self.at_eof:
            yield self.message
            self.move_next()


class _Archive:
    """What both archives share: their messages, their size, and the server configuration's
    archive settings (FAXCOMEX's archive properties: change, then ``save()``)."""

    _path: str
    _kind: type[_Message]
    _side: str

    size_quota_warning = ConfigurationOf(
        "size_quota_warning", "Log a warning when the archives grow past the high water mark."
    )
    high_quota_water_mark = ConfigurationOf("high_quota_water_mark", "MB; the warning's level.")
    low_quota_water_mark = ConfigurationOf(
        "low_quota_water_mark", "MB; below it the warning may be given again."
    )

    def __init__(self, connection: Connection, account: str | None = None) -> None:
        self._connection = connection
        self._params = {} if account is None else {"account": account}
        self._settings: FaxConfiguration | None = None
        self._size: int | None = None

    def _configuration(self) -> FaxConfiguration:
        """The server's configuration, read when a property of it is first looked at."""
        if self._settings is None:
            self._settings = FaxConfiguration(self._connection)
        return self._settings

    @property
    def archive_folder(self) -> str:
        """FAXCOMEX ``ArchiveFolder``: where the server keeps the faxes (its ``spool_dir``)."""
        folder: str = self._configuration().archive_location
        return folder

    @archive_folder.setter
    def archive_folder(self, value: str) -> None:
        raise ConfigError(
            "configuration",
            "archive_folder",
            "is where the server keeps every fax: set spool_dir in its configuration file",
        )

    @property
    def size(self) -> int:
        """Bytes of the faxes in the archive (of the account's, for an account's folders)."""
        if self._size is None:
            found = self._connection.get(f"/{self._side}-archive", **self._params)
            self._size = int(found["size"])
        return self._size

    @property
    def size_low(self) -> int:
        """FAXCOMEX ``SizeLow``: the low 32 bits of ``size``."""
        return size_low(self.size)

    @property
    def size_high(self) -> int:
        """FAXCOMEX ``SizeHigh``: the high 32 bits of ``size``."""
        return size_high(self.size)

    def refresh(self) -> None:
        """FAXCOMEX ``Refresh()``: read the size and settings again, dropping unsaved changes."""
        self._size = None
        if self._settings is not None:
            self._settings.refresh()

    def save(self) -> None:
        """FAXCOMEX ``Save()``: send the settings changed (far2MANAGE_CONFIG)."""
        if self._settings is not None:
            self._settings.save()

    def _message(self, data: dict[str, Any]) -> Any:
        return self._kind(self._connection, self._path, data)

    def get_messages(
        self, prefetch_size: int = DEFAULT_PREFETCH_SIZE, *, search: str = ""
    ) -> FaxMessageIterator:
        """FAXCOMEX ``GetMessages(prefetch)``: an iterator over the archive, oldest first;
        ``search`` (an OpenFax addition): only the faxes whose text, read by OCR, holds each
        of its words (letter case aside)."""
        return FaxMessageIterator(self, prefetch_size, search)


class FaxIncomingArchive(_Archive):
    """FAXCOMEX ``FaxIncomingArchive``: the faxes received."""

    _path = "/incoming-messages"
    _kind = FaxIncomingMessage
    _side = "incoming"

    age_limit = ConfigurationOf(
        "incoming_archive_age_limit", "Days a received fax is kept (0: until deleted)."
    )

    @property
    def use_archive(self) -> bool:
        """FAXCOMEX ``UseArchive``: received faxes are always archived (``age_limit`` is how
        long they stay)."""
        return True

    @use_archive.setter
    def use_archive(self, value: bool) -> None:
        if not value:
            raise ConfigError(
                "configuration",
                "use_archive",
                "received faxes are always archived: set the incoming archive's age_limit "
                "to keep them less long",
            )

    def get_message(self, message_id: str) -> FaxIncomingMessage:
        """FAXCOMEX ``GetMessage(id)``; MessageNotFoundError if there is none."""
        data = self._connection.get(f"{self._path}/{id_segment(message_id)}")
        return FaxIncomingMessage(self._connection, self._path, data)


class FaxOutgoingArchive(_Archive):
    """FAXCOMEX ``FaxOutgoingArchive``: the faxes sent."""

    _path = "/outgoing-messages"
    _kind = FaxOutgoingMessage
    _side = "outgoing"

    use_archive = ConfigurationOf("use_archive", "Keep the faxes sent.")
    age_limit = ConfigurationOf("archive_age_limit", "Days a sent fax is kept (0: until deleted).")

    def get_message(self, message_id: str) -> FaxOutgoingMessage:
        """FAXCOMEX ``GetMessage(id)``; MessageNotFoundError if there is none."""
        data = self._connection.get(f"{self._path}/{id_segment(message_id)}")
        return FaxOutgoingMessage(self._connection, self._path, data)
