"""The FAXCOMEX objects under their COM names, over :mod:`openfax.client`, so that a script
written for Windows (VBScript, or Python with win32com) ports with few changes::

    server = faxcomex.Dispatch("FaxComEx.FaxServer")
    server.Connect("")
    document = faxcomex.Dispatch("FaxComEx.FaxDocument")
    document.Body = "letter.pdf"
    document.Recipients.Add("1002", "Helen Carter")
    job_ids = document.ConnectedSubmit(server)
    job = server.Folders.OutgoingQueue.GetJob(job_ids[0])

One generic adapter, :class:`ComObject`, does it all and adds no behaviour: a PascalCase name
is the client's snake_case one (``OutgoingQueue`` -> ``outgoing_queue``, the few irregular
names in ``IRREGULAR``); every client object a property or method gives back is wrapped in
turn, so objects the client gains later appear here with nothing to add; collections keep
their 1-based ``Item(index or key)`` and ``Count`` and iterate (``For Each``, ``_NewEnum``);
arrays come back as tuples, as win32com gives them. Names are looked up when used, so the
objects are typed ``Any`` at this boundary.

Errors: any :class:`openfax.errors.FaxError` leaves as :class:`com_error`, whose ``hresult``
is the FAXCOMEX HRESULT of the error (``0x80041B61`` for a message not found); an unknown name
is ``DISP_E_UNKNOWNNAME``, a bad ``Item`` index ``E_INVALIDARG``.

Events: ``WithEvents(server, SinkClass)`` makes a sink (``DispatchWithEvents`` a server that
is its own sink, as win32com's) whose
``IFaxServerNotify2`` methods (``OnOutgoingJobChanged(server, job_id, job_status)`` ...) are
called with the COM arguments. As in a COM apartment, events wait until the script pumps them:
``PumpWaitingMessages()`` delivers those that arrived, on the calling thread.
"""

from __future__ import annotations

import inspect
import queue
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from openfax import client
from openfax.errors import E_INVALIDARG, FaxError

DISP_E_UNKNOWNNAME = 0x80020006
DISP_E_MEMBERNOTFOUND = 0x80020003
CO_E_CLASSSTRING = 0x800401F3

IRREGULAR = {"ReAssign": "reassign", "WasReAssigned": "was_reassigned"}
"""COM names whose snake_case is not their words split at capitals (acronyms such as TSID,
CSID, DID, SMTP, API and EOF are one word by the rule already)."""
ACRONYMS = {"api", "csid", "did", "eof", "guid", "smtp", "tsid"}
"""Words written in capitals in COM names (for ``dir()`` of an object)."""

EVENT_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "OnIncomingJobAdded": ("job_id",),
    "OnIncomingJobRemoved": ("job_id",),
    "OnIncomingJobChanged": ("job_id", "job_status"),
    "OnOutgoingJobAdded": ("job_id",),
    "OnOutgoingJobRemoved": ("job_id",),
    "OnOutgoingJobChanged": ("job_id", "job_status"),
    "OnIncomingMessageAdded": ("message_id",),
    "OnIncomingMessageRemoved": ("message_id",),
    "OnOutgoingMessageAdded": ("message_id",),
    "OnOutgoingMessageRemoved": ("message_id",),
    "OnQueuesStatusChange": ("outgoing_blocked", "outgoing_paused", "incoming_blocked"),
    "OnNewCall": ("call_id", "device_id", "caller_id"),
    "OnDeviceStatusChange": ("device_id", "powered_off", "sending", "receiving", "ringing"),
    "OnServerActivityChange": (
        "incoming_messages",
        "routing_messages",
        "outgoing_messages",
        "queued_messages",
    ),
}
"""The arguments after the server of each ``IFaxServerNotify2`` method, from the event's
fields; an event not listed (the configuration changes, ``OnServerShutDown``) has none."""

PROGIDS = {"faxcomex.faxserver": "FaxServer", "faxcomex.faxdocument": "FaxDocument"}
"""The creatable classes (``CreateObject``/``Dispatch``), by lower-case ProgID."""


class com_error(Exception):
    """A failed COM call, as ``pywintypes.com_error``: ``hresult``, ``strerror``,
    ``excepinfo`` (``(0, source, description, None, 0, scode)``) and ``argerror``. Unlike
    pywin32, ``hresult`` is the error's own HRESULT (not ``DISP_E_EXCEPTION``), written as
    FAXCOMEX documents it (``0x80041B61``); ``error`` is the :class:`FaxError` behind it."""

    def __init__(self, hresult: int, message: str, error: BaseException | None = None) -> None:
        self.hresult = hresult
        self.strerror = message
        self.excepinfo = (0, "FaxComEx", message, None, 0, hresult)
        self.argerror = None
        self.error = error
        super().__init__(hresult, message, self.excepinfo, None)

    def __str__(self) -> str:
        return f"(0x{self.hresult:08X}) {self.strerror}"


def snake_name(name: str) -> str:
    """A COM name's snake_case: ``OutgoingQueue`` -> ``outgoing_queue``, ``TSID`` -> ``tsid``,
    ``APIVersion`` -> ``api_version``."""
    if name in IRREGULAR:
        return IRREGULAR[name]
    words = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", words).lower()


def com_name(snake: str) -> str:
    """A snake_case name's COM name (``device_ids`` -> ``DeviceIds``, ``tsid`` -> ``TSID``)."""
    for pascal, irregular in IRREGULAR.items():
        if irregular == snake:
            return pascal
    return "".join(w.upper() if w in ACRONYMS else w.capitalize() for w in snake.split("_"))


def _translated(call: Callable[[], Any], what: str) -> Any:
    """Run ``call``; a FaxError or a bad index leaves as com_error."""
    try:
        return call()
    except FaxError as exc:
        raise com_error(exc.hresult, f"{type(exc).__name__}: {exc}", exc) from exc
    except (KeyError, IndexError) as exc:
        raise com_error(E_INVALIDARG, f"{what}: no item {exc}", exc) from exc


def _is_client_object(value: object) -> bool:
    return type(value).__module__.startswith("openfax.client") and not isinstance(
        value, BaseException
    )


def to_com(value: Any) -> Any:
    """A client value as a COM caller sees it: objects wrapped, lists as tuples."""
    if _is_client_object(value):
        return ComObject(value)
    if isinstance(value, list | tuple):
        return tuple(to_com(item) for item in value)
    return value


def from_com(value: Any) -> Any:
    """An argument from a COM caller as the client takes it: wrappers unwrapped."""
    if isinstance(value, ComObject):
        return value._target
    if isinstance(value, list | tuple):
        return type(value)(from_com(item) for item in value)
    return value


class ComObject:
    """A client object under its COM names: ``obj.DeviceName`` reads ``device_name``,
    ``obj.Save()`` calls ``save()``, ``obj.Description = x`` sets ``description``."""

    _target: Any

    def __init__(self, target: object) -> None:
        object.__setattr__(self, "_target", target)

    def __getattr__(self, name: str) -> Any:
        if not name[:1].isupper() and name != "_NewEnum":
            raise AttributeError(name)
        if name == "_NewEnum":
            return self.__iter__
        target = self._target
        snake = snake_name(name)
        what = f"{type(target).__name__}.{name}"
        try:
            value = _translated(lambda: getattr(target, snake), what)
        except AttributeError as exc:
            raise com_error(DISP_E_UNKNOWNNAME, f"{what}: unknown name", exc) from exc
        if inspect.ismethod(value):
            return _Method(value, what)
        return to_com(value)

    def __setattr__(self, name: str, value: Any) -> None:
        target = self._target
        snake = snake_name(name)
        what = f"{type(target).__name__}.{name}"
        if not _writable(target, snake):
            known = hasattr(target, snake)
            code = DISP_E_MEMBERNOTFOUND if known else DISP_E_UNKNOWNNAME
            raise com_error(code, f"{what}: {'read-only' if known else 'unknown name'}")
        _translated(lambda: setattr(target, snake, from_com(value)), what)

    def __iter__(self) -> Iterator[Any]:
        """``For Each`` over a collection (COM ``_NewEnum``), each item wrapped."""
        what = type(self._target).__name__
        items = _translated(lambda: iter(self._target), what)
        while True:
            try:
                item = _translated(lambda: next(items), what)
            except StopIteration:
                return
            yield to_com(item)

    def __len__(self) -> int:
        return len(self._target)

    def __dir__(self) -> list[str]:
        names = [n for n in dir(self._target) if not n.startswith("_")]
        return sorted(com_name(n) for n in names)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ComObject) and other._target is self._target

    def __hash__(self) -> int:
        return id(self._target)

    def __repr__(self) -> str:
        return f"<COM {self._target!r}>"


class _Method:
    """A client method called by its COM name: arguments unwrapped, the result wrapped,
    errors as com_error."""

    def __init__(self, method: Callable[..., Any], what: str) -> None:
        self._method = method
        self._what = what

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        plain = [from_com(a) for a in args]
        named = {snake_name(k) if k[:1].isupper() else k: from_com(v) for k, v in kwargs.items()}
        return to_com(_translated(lambda: self._method(*plain, **named), self._what))


def _writable(target: object, snake: str) -> bool:
    """Whether ``snake`` is a property the client lets a caller set."""
    found = inspect.getattr_static(type(target), snake, _ABSENT)
    if found is _ABSENT:
        return snake in getattr(target, "__dict__", {})
    if isinstance(found, property):
        return found.fset is not None
    if hasattr(type(found), "__get__"):
        return hasattr(type(found), "__set__")
    return True


_ABSENT = object()


class FaxServer(ComObject):
    """FAXCOMEX ``FaxServer`` (creatable): ``Connect("")`` reaches the local openfaxd."""

    _sinks: list[object]

    def __init__(self) -> None:
        super().__init__(client.FaxServer())
        object.__setattr__(self, "_sinks", [])

    def _attach(self, sink: object) -> None:
        """Deliver this server's events to ``sink``'s methods when they are pumped."""
        if not self._sinks:
            self._target.add_event_handler(lambda _, event: _PENDING.put((self, event)))
        self._sinks.append(sink)

    def _deliver(self, event: client.ServerEvent) -> None:
        arguments = [_event_argument(event, name) for name in EVENT_ARGUMENTS.get(event.name, ())]
        for sink in self._sinks:
            handler = getattr(sink, event.name, None)
            if handler is not None:
                handler(self, *arguments)


class FaxDocument(ComObject):
    """FAXCOMEX ``FaxDocument`` (creatable): set ``Body``, ``Recipients.Add(...)``, then
    ``ConnectedSubmit(server)``."""

    def __init__(self) -> None:
        super().__init__(client.FaxDocument())


_PENDING: queue.SimpleQueue[tuple[FaxServer, client.ServerEvent]] = queue.SimpleQueue()
"""Events received and not yet pumped, in the order they came."""


def _event_argument(event: client.ServerEvent, name: str) -> Any:
    if name == "job_status":
        return ComObject(event.job_status)
    return event.data.get(name)


def Dispatch(prog_id: str) -> Any:
    """``CreateObject``: ``"FaxComEx.FaxServer"`` or ``"FaxComEx.FaxDocument"``."""
    name = PROGIDS.get(prog_id.lower())
    if name is None:
        raise com_error(CO_E_CLASSSTRING, f"Invalid class string: {prog_id!r}")
    return FaxServer() if name == "FaxServer" else FaxDocument()


def WithEvents(server: Any, sink_class: type[Any]) -> Any:
    """A new ``sink_class()`` whose ``IFaxServerNotify2`` methods receive ``server``'s events
    (after ``ListenToServerEvents``), each when ``PumpWaitingMessages`` runs."""
    if not isinstance(server, FaxServer):
        raise com_error(E_INVALIDARG, f"events come from a FaxServer, not {server!r}")
    sink = sink_class()
    server._attach(sink)
    return sink


def DispatchWithEvents(prog_id: str, sink_class: type[Any]) -> Any:
    """win32com's ``DispatchWithEvents``: a FaxServer that is its own sink, an instance of a
    class made from ``FaxServer`` and ``sink_class`` (whose ``__init__`` runs), so that its
    handlers' ``self`` is the server; attributes that are not COM properties are kept on it."""
    if PROGIDS.get(prog_id.lower()) != "FaxServer":
        raise com_error(CO_E_CLASSSTRING, f"no events from {prog_id!r}: only from a FaxServer")
    combined: type[FaxServer] = type(sink_class.__name__, (_ServerWithEvents, sink_class), {})
    server = combined.__new__(combined)
    FaxServer.__init__(server)
    if "__init__" in vars(sink_class):
        sink_class.__init__(server)
    server._attach(server)
    return server


class _ServerWithEvents(FaxServer):
    """The FaxServer part of ``DispatchWithEvents``' objects."""

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            super().__setattr__(name, value)
        except com_error as exc:
            if exc.hresult != DISP_E_UNKNOWNNAME:
                raise
            object.__setattr__(self, name, value)


def PumpWaitingMessages(timeout: float = 0.0) -> int:
    """Deliver the events that arrived to their sinks, on this thread, in order, waiting up
    to ``timeout`` seconds for the first; how many were delivered."""
    delivered = 0
    deadline = time.monotonic() + timeout
    while True:
        wait = deadline - time.monotonic() if delivered == 0 else 0.0
        try:
            server, event = _PENDING.get(timeout=wait) if wait > 0 else _PENDING.get_nowait()
        except queue.Empty:
            return delivered
        server._deliver(event)
        delivered += 1
