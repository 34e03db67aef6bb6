"""The list of every FAXCOMEX member in docs/design/faxcomex.md, checked against the object
model reference (each member it names is in the reference, each member the reference names
is in it) and against the facade (a static check: each member marked as working resolves on
the object the facade gives a script, and each one marked E_NOTIMPL is one)."""

from __future__ import annotations

import dataclasses
import inspect
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from openfax import client, faxcomex
from openfax.client import _records, events, server
from openfax.errors import E_INVALIDARG
from openfax.model.events import (
    CONFIG_NOTIFICATIONS,
    DEVICES_CONFIG_CHANGE,
    EVENT_KINDS,
    GENERAL_CONFIG_CHANGE,
    NOTIFICATIONS,
    ConfigChanged,
    IncomingMessageAdded,
    com_arguments,
)
from tests.daemon import Daemon, running_paused
from tests.factories import make_pdf

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "design" / "faxcomex.md"
REFERENCE_NAME = Path("shared", "reference", "faxcomex-object-model.md")
STATES = {"works", "E_NOTIMPL"}

CLIENT_CLASSES: dict[str, type] = {
    "FaxServer": client.FaxServer,
    "FaxDocument": client.FaxDocument,
    "FaxSender": client.FaxSender,
    "FaxRecipients": client.FaxRecipients,
    "FaxRecipient": client.FaxRecipient,
    "FaxFolders": client.FaxFolders,
    "FaxAccountFolders": client.FaxFolders,
    "FaxOutgoingQueue": client.FaxOutgoingQueue,
    "FaxAccountOutgoingQueue": client.FaxOutgoingQueue,
    "FaxIncomingQueue": client.FaxIncomingQueue,
    "FaxAccountIncomingQueue": client.FaxIncomingQueue,
    "FaxOutgoingJobs": _records.Collection,
    "FaxIncomingJobs": _records.Collection,
    "FaxOutgoingJob": client.FaxOutgoingJob,
    "FaxIncomingJob": client.FaxIncomingJob,
    "FaxJobStatus": events.FaxJobStatus,
    "FaxIncomingArchive": client.FaxIncomingArchive,
    "FaxAccountIncomingArchive": client.FaxIncomingArchive,
    "FaxOutgoingArchive": client.FaxOutgoingArchive,
    "FaxAccountOutgoingArchive": client.FaxOutgoingArchive,
    "FaxIncomingMessageIterator": client.FaxMessageIterator,
    "FaxOutgoingMessageIterator": client.FaxMessageIterator,
    "FaxIncomingMessage": client.FaxIncomingMessage,
    "FaxOutgoingMessage": client.FaxOutgoingMessage,
    "FaxDevices": server._Devices,
    "FaxDevice": client.FaxDevice,
    "FaxDeviceProviders": _records.Collection,
    "FaxDeviceProvider": client.FaxDeviceProvider,
    "FaxInboundRouting": client.FaxInboundRouting,
    "FaxInboundRoutingExtensions": _records.Collection,
    "FaxInboundRoutingExtension": client.FaxInboundRoutingExtension,
    "FaxInboundRoutingMethods": _records.Collection,
    "FaxInboundRoutingMethod": client.FaxInboundRoutingMethod,
    "FaxOutboundRouting": client.FaxOutboundRouting,
    "FaxOutboundRoutingGroups": client.FaxOutboundRoutingGroups,
    "FaxOutboundRoutingGroup": client.FaxOutboundRoutingGroup,
    "FaxDeviceIds": client.FaxDeviceIds,
    "FaxOutboundRoutingRules": client.FaxOutboundRoutingRules,
    "FaxOutboundRoutingRule": client.FaxOutboundRoutingRule,
    "FaxActivity": client.FaxActivity,
    "FaxLoggingOptions": client.FaxLoggingOptions,
    "FaxActivityLogging": client.FaxActivityLogging,
    "FaxEventLogging": client.FaxEventLogging,
    "FaxReceiptOptions": client.FaxReceiptOptions,
    "FaxSecurity": client.FaxSecurity,
    "FaxSecurity2": client.FaxSecurity2,
    "FaxConfiguration": client.FaxConfiguration,
    "FaxAccountSet": client.FaxAccountSet,
    "FaxAccounts": _records.Collection,
    "FaxAccount": client.FaxAccount,
}
"""The client class behind each FAXCOMEX object a script reaches through the facade."""

EVENT_SINKS = {
    "IFaxServerNotify2": set(NOTIFICATIONS),
    "IFaxAccountNotify": {n for n, e in NOTIFICATIONS.items() if e.account_arguments is not None},
}
"""The sink interfaces, whose members are the events the facade delivers."""


def listed_members() -> dict[str, str]:
    """``{"FaxDevice.AnswerCall": "works", ...}`` from the doc's table of every member."""
    section = DOC.read_text().split("## Every member", 1)[1]
    members: dict[str, str] = {}
    for row in re.findall(r"^\| (\w+) \| ([\w-]+) \| (.+) \|$", section, re.MULTILINE):
        owner, state, names = row
        if owner == "Object":
            continue  # the table's head
        assert state in STATES, row
        for name in re.findall(r"`(\w+)`", names):
            key = f"{owner}.{name}"
            assert key not in members, f"{key} is listed twice"
            members[key] = state
    return members


def resolves(owner: str, name: str) -> bool:
    """Whether ``owner.name`` is there for a script, found without running anything: an
    event the facade delivers, or a member of the client class (a property, method, field or
    dataclass field under the snake_case name), or one of the facade's E_NOTIMPL members."""
    if owner in EVENT_SINKS:
        return name in EVENT_SINKS[owner]
    cls = CLIENT_CLASSES[owner]
    if name == "_NewEnum":
        return hasattr(cls, "__iter__")
    if any((base.__name__, name) in faxcomex.NOT_IMPLEMENTED for base in cls.__mro__):
        return True
    snake = faxcomex.snake_name(name)
    if inspect.getattr_static(cls, snake, None) is not None:
        return True
    return dataclasses.is_dataclass(cls) and snake in {f.name for f in dataclasses.fields(cls)}


def test_every_member_listed_as_working_resolves_on_the_facade() -> None:
    members = listed_members()
    assert len(members) == 483
    missing = {key for key in members if not resolves(*key.split("."))}
    assert not missing, f"listed but not found on the facade: {sorted(missing)}"
    not_implemented = {f"{cls}.{name}" for cls, name in faxcomex.NOT_IMPLEMENTED}
    assert {key for key, state in members.items() if state == "E_NOTIMPL"} == not_implemented


def reference() -> str:
    """Section 2 of the object model reference (``../shared/reference`` from the
    repository's root, or from a folder above it; ``$OPENFAX_FAXCOMEX_REFERENCE``)."""
    given = os.environ.get("OPENFAX_FAXCOMEX_REFERENCE")
    candidates = [Path(given)] if given else [p / REFERENCE_NAME for p in ROOT.parents]
    for path in candidates:
        if path.is_file():
            text = path.read_text()
            return text[text.index("## 2. Interface reference") : text.index("### 2.26")]
    pytest.skip("the FAXCOMEX object model reference is not beside this repository")


NOT_MEMBERS = {"Event", "Member", "Method", "Property", "WithEvents"}
"""Words of the reference's tables that name no member (column heads, VB's keyword)."""


def reference_members(section: str) -> set[str]:
    """The member names the reference's interface tables and member lists give."""
    names: set[str] = set()

    def add(text: str) -> None:
        text = re.sub(r"\([^)]*\)", "", text)
        text = re.sub(r"Major/Minor(\w+)", r"Major\1, Minor\1", text)
        text = re.sub(r"(\w+)Added / Removed", r"\1Added, \1Removed", text)
        for part in re.split(r"[,/]| or ", text):
            word = part.strip().strip("`").strip().split(".")[-1].strip()
            if re.fullmatch(r"_?[A-Z]\w*", word) and not re.match(r"_?IFax", word):
                names.add(word)

    for line in section.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            add(line.split("|")[1])
            continue
        for quoted in re.findall(r"`([^`]*)`", line):
            add(quoted)
        listed = re.search(r"(?:\(R\)|properties:|RW:)\s*(.*)", line)
        if listed:
            add(listed.group(1))
    return names - NOT_MEMBERS


def test_the_list_is_the_object_model_of_the_reference() -> None:
    section = reference()
    listed = {key.split(".")[1] for key in listed_members()}
    invented = sorted(name for name in listed if not re.search(rf"\b{name}\b", section))
    assert not invented, f"not members in the reference: {invented}"
    forgotten = sorted(reference_members(section) - listed)
    assert not forgotten, f"members of the reference the doc does not list: {forgotten}"


REACH: dict[str, Callable[[Any], Any]] = {
    "FaxServer": lambda s: s,
    "FaxFolders": lambda s: s.Folders,
    "FaxAccountFolders": lambda s: s.CurrentAccount.Folders,
    "FaxOutgoingQueue": lambda s: s.Folders.OutgoingQueue,
    "FaxAccountOutgoingQueue": lambda s: s.CurrentAccount.Folders.OutgoingQueue,
    "FaxIncomingQueue": lambda s: s.Folders.IncomingQueue,
    "FaxAccountIncomingQueue": lambda s: s.CurrentAccount.Folders.IncomingQueue,
    "FaxOutgoingJobs": lambda s: s.Folders.OutgoingQueue.GetJobs(),
    "FaxOutgoingJob": lambda s: s.Folders.OutgoingQueue.GetJobs()(1),
    "FaxIncomingJobs": lambda s: s.Folders.IncomingQueue.GetJobs(),
    "FaxIncomingArchive": lambda s: s.Folders.IncomingArchive,
    "FaxOutgoingArchive": lambda s: s.Folders.OutgoingArchive,
    "FaxAccountIncomingArchive": lambda s: s.CurrentAccount.Folders.IncomingArchive,
    "FaxAccountOutgoingArchive": lambda s: s.CurrentAccount.Folders.OutgoingArchive,
    "FaxIncomingMessageIterator": lambda s: s.Folders.IncomingArchive.GetMessages(),
    "FaxOutgoingMessageIterator": lambda s: s.Folders.OutgoingArchive.GetMessages(),
    "FaxDevices": lambda s: s.GetDevices(),
    "FaxDevice": lambda s: s.GetDevices()(1),
    "FaxDeviceProviders": lambda s: s.GetDeviceProviders(),
    "FaxDeviceProvider": lambda s: s.GetDeviceProviders()(1),
    "FaxInboundRouting": lambda s: s.InboundRouting,
    "FaxInboundRoutingExtensions": lambda s: s.InboundRouting.GetExtensions(),
    "FaxInboundRoutingExtension": lambda s: s.InboundRouting.GetExtensions()(1),
    "FaxInboundRoutingMethods": lambda s: s.InboundRouting.GetMethods(),
    "FaxInboundRoutingMethod": lambda s: s.InboundRouting.GetMethods()(1),
    "FaxOutboundRouting": lambda s: s.OutboundRouting,
    "FaxOutboundRoutingGroups": lambda s: s.OutboundRouting.GetGroups(),
    "FaxOutboundRoutingGroup": lambda s: s.OutboundRouting.GetGroups()(1),
    "FaxDeviceIds": lambda s: s.OutboundRouting.GetGroups()(1).DeviceIds,
    "FaxOutboundRoutingRules": lambda s: s.OutboundRouting.GetRules(),
    "FaxOutboundRoutingRule": lambda s: s.OutboundRouting.GetRules()(1),
    "FaxActivity": lambda s: s.Activity,
    "FaxLoggingOptions": lambda s: s.LoggingOptions,
    "FaxActivityLogging": lambda s: s.LoggingOptions.ActivityLogging,
    "FaxEventLogging": lambda s: s.LoggingOptions.EventLogging,
    "FaxReceiptOptions": lambda s: s.ReceiptOptions,
    "FaxSecurity": lambda s: s.Security,
    "FaxSecurity2": lambda s: s.Security2,
    "FaxConfiguration": lambda s: s.Configuration,
    "FaxAccountSet": lambda s: s.FaxAccountSet,
    "FaxAccounts": lambda s: s.FaxAccountSet.GetAccounts(),
    "FaxAccount": lambda s: s.CurrentAccount,
    "FaxDocument": lambda s: faxcomex.Dispatch("FaxComEx.FaxDocument"),
    "FaxSender": lambda s: faxcomex.Dispatch("FaxComEx.FaxDocument").Sender,
    "FaxRecipients": lambda s: faxcomex.Dispatch("FaxComEx.FaxDocument").Recipients,
    "FaxRecipient": lambda s: faxcomex.Dispatch("FaxComEx.FaxDocument").Recipients.Add("1"),
}
"""How a script reaches each object on a server with a job queued and empty archives (the
job status, incoming jobs and messages need traffic; the static check covers them)."""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with running_paused(tmp_path_factory.mktemp("openfaxd")) as started:
        yield started


def test_every_working_member_is_read_on_a_real_server(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPENFAX_SOCKET", str(daemon.socket))
    fax = faxcomex.Dispatch("FaxComEx.FaxServer")
    fax.Connect("")
    document = faxcomex.Dispatch("FaxComEx.FaxDocument")
    document.Body = str(make_pdf(tmp_path / "one.pdf", 1))
    document.Recipients.Add("6001")
    document.ConnectedSubmit(fax)
    failures = []
    read = 0
    for key, state in listed_members().items():
        owner, name = key.split(".")
        if state != "works" or owner not in REACH:
            continue
        try:
            getattr(REACH[owner](fax), name)
            read += 1
        except faxcomex.com_error as exc:
            if name == "Message" and exc.hresult == E_INVALIDARG:
                continue  # an iterator over an empty archive is at its end, as it should
            failures.append(f"{key}: {exc}")
    print(f"{read} members read on a real server")
    assert not failures
    assert read > 300
    fax.Disconnect()


def test_every_event_argument_is_a_field_of_the_record_it_comes_from() -> None:
    """The adapter takes a sink's arguments from the event's record (``com_arguments``): each
    argument a notification names is a field of every record delivered as it."""
    config = {*CONFIG_NOTIFICATIONS.values(), DEVICES_CONFIG_CHANGE, GENERAL_CONFIG_CHANGE}
    for kind in EVENT_KINDS.values():
        fields = {f.name for f in dataclasses.fields(kind.payload)}
        names = config if kind.payload is ConfigChanged else {kind.notification}
        for name in names:
            notification = NOTIFICATIONS[name]
            wanted = {*notification.arguments, *(notification.account_arguments or ())}
            assert wanted - {"job_status"} <= fields, (name, kind.payload)
    added = IncomingMessageAdded(message_id=0x1234, added_to_receive_folder=True)
    assert com_arguments(added) == ("0000000000001234",)
    assert com_arguments(added, account=True) == ("0000000000001234", True)
