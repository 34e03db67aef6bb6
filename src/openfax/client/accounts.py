"""FAXCOMEX accounts and security: ``FaxAccountSet``, ``FaxAccounts``, ``FaxAccount`` (with
its ``FaxAccountFolders``), ``FaxSecurity`` and ``FaxSecurity2``."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from openfax.client._records import Collection, segment
from openfax.client.events import Listener, ServerEvent, call_handlers
from openfax.client.folders import FaxFolders
from openfax.client.routing import send_json
from openfax.errors import AccountError
from openfax.model import (
    ALL_RIGHTS,
    AccessRights,
    AccessRights2,
    AccountEvents,
    ServerEvents,
    legacy_rights,
    rights_of_legacy,
)

if TYPE_CHECKING:
    from openfax.client.server import FaxServer


def _path(name: str) -> str:
    return f"/accounts/{segment(name)}"


_SERVER_EVENTS = {
    AccountEvents.IN_QUEUE: ServerEvents.IN_QUEUE,
    AccountEvents.OUT_QUEUE: ServerEvents.OUT_QUEUE,
    AccountEvents.IN_ARCHIVE: ServerEvents.IN_ARCHIVE,
    AccountEvents.OUT_ARCHIVE: ServerEvents.OUT_ARCHIVE,
    AccountEvents.FXSSVC_ENDED: ServerEvents.FXSSVC_ENDED,
}
"""The server event kind each account event kind is."""

AccountEventHandler = Callable[["FaxAccount", ServerEvent], object]
"""A handler gets the account and the event (``event.name``: ``OnOutgoingJobAdded`` ...)."""


class FaxAccount:
    """FAXCOMEX ``FaxAccount``: an account's name, its folders (its own faxes) and its
    events (``listen_to_account_events``, handlers called on a background thread)."""

    def __init__(self, server: FaxServer, data: dict[str, Any]) -> None:
        self._server = server
        self._data = data
        self._handlers: list[AccountEventHandler] = []
        self._listener: Any = None
        self._events = AccountEvents.NONE

    @property
    def registered_events(self) -> AccountEvents:
        """FAXCOMEX ``RegisteredEvents``: the mask set by ``listen_to_account_events``."""
        return self._events

    def listen_to_account_events(self, mask: AccountEvents | int) -> None:
        """FAXCOMEX ``ListenToAccountEvents(mask)``: hear the events of this account's faxes
        (another account's need far2QUERY_OUT_JOBS and far2QUERY_ARCHIVES); NONE stops.
        Returns once the server has confirmed the subscription."""
        mask = AccountEvents(mask)
        after = None
        if self._listener is not None:
            after = self._listener.stop()
            self._listener = None
        self._events = mask
        if mask:
            server_mask = ServerEvents(0)
            for kind, server_kind in _SERVER_EVENTS.items():
                if kind in mask:
                    server_mask |= server_kind
            connection = self._server._connected
            listener = Listener(self, connection, server_mask, after, self.account_name)
            listener.started.wait()
            if listener.failure is not None:
                self._events = AccountEvents.NONE
                raise listener.failure
            self._listener = listener

    def add_event_handler(self, handler: AccountEventHandler) -> None:
        """Call ``handler(account, event)`` for every event listened to."""
        self._handlers.append(handler)

    def remove_event_handler(self, handler: AccountEventHandler) -> None:
        self._handlers.remove(handler)

    def _dispatch(self, event: ServerEvent) -> None:
        call_handlers(self._handlers, self, event, "account event handler")

    def _connection_changed(self, lost: BaseException | None) -> None:
        """The account's event stream was lost or is back: the server's connection handlers
        hear it."""
        self._server._connection_changed(lost)

    @property
    def account_name(self) -> str:
        """FAXCOMEX ``AccountName``: ``user`` or ``domain\\user``."""
        name: str = self._data["account_name"]
        return name

    @property
    def folders(self) -> FaxFolders:
        """FAXCOMEX ``FaxAccountFolders``: the queues and archives showing only this
        account's faxes (received faxes: all of them while they are public)."""
        return FaxFolders(self._server, self.account_name)

    @property
    def has_password(self) -> bool | None:
        """Whether the account signs in remotely with a password (None for ``current_account``)."""
        value = self._data.get("has_password")
        return None if value is None else bool(value)

    @property
    def granted_rights(self) -> AccessRights2 | None:
        """The rights granted to the account itself (``current_account``: the rights it
        holds now); None: the defaults."""
        value = self._data.get("granted_rights")
        return None if value is None else AccessRights2(value)

    @property
    def created_at(self) -> datetime | None:
        value = self._data.get("created_at")
        return None if value is None else datetime.fromisoformat(value)

    def set_password(self, password: str | None) -> None:
        """Set the account's password (None removes it): one's own, or any account's with
        far2MANAGE_CONFIG."""
        body = {"password": password}
        send_json(self._server._connected, "PUT", f"{_path(self.account_name)}/password", body)
        self._data["has_password"] = password is not None

    def add_token(self, label: str = "") -> tuple[str, str]:
        """A new API token of the account: its id and its text (the only time it is shown)."""
        connection = self._server._connected
        made = send_json(connection, "POST", f"{_path(self.account_name)}/tokens", {"label": label})
        return made["id"], made["token"]

    def get_tokens(self) -> list[dict[str, Any]]:
        """The account's tokens: ``id``, ``label``, ``created_at`` (never their texts)."""
        tokens: list[dict[str, Any]] = self._server._connected.get(
            f"{_path(self.account_name)}/tokens"
        )
        return tokens

    def revoke_token(self, token_id: str) -> None:
        path = f"{_path(self.account_name)}/tokens/{token_id}"
        send_json(self._server._connected, "DELETE", path)

    def __repr__(self) -> str:
        return f"<FaxAccount {self.account_name!r}>"


class FaxAccountSet:
    """FAXCOMEX ``FaxAccountSet``: list, find, add and remove accounts."""

    def __init__(self, server: FaxServer) -> None:
        self._server = server

    def get_accounts(self) -> Collection[FaxAccount]:
        """FAXCOMEX ``GetAccounts()``: ``accounts[1]`` is the first, ``accounts["name"]`` by
        name."""
        found = self._server._connected.get("/accounts")
        accounts = [FaxAccount(self._server, data) for data in found]
        return Collection(accounts, key=lambda account: account.account_name)

    def get_account(self, account_name: str) -> FaxAccount:
        """FAXCOMEX ``GetAccount(name)``; AccountNotFoundError if there is none."""
        return FaxAccount(self._server, self._server._connected.get(_path(account_name)))

    def add_account(self, account_name: str, password: str | None = None) -> FaxAccount:
        """FAXCOMEX ``AddAccount(name)``: the default rights, and a password for remote
        sign-in when given."""
        body = {"account_name": account_name, "password": password}
        return FaxAccount(
            self._server, send_json(self._server._connected, "POST", "/accounts", body)
        )

    def remove_account(self, account_name: str) -> None:
        """FAXCOMEX ``RemoveAccount(name)``: its tokens go, its faxes stay."""
        send_json(self._server._connected, "DELETE", _path(account_name))


class FaxSecurity:
    """FAXCOMEX ``FaxSecurity``: the caller's rights in the older FAX_ACCESS_RIGHTS_ENUM, and
    the server's grants as a security descriptor (``descriptor``, SDDL text whose rights
    are FAX_ACCESS_RIGHTS_ENUM masks): change it, then ``save()``."""

    def __init__(self, server: FaxServer) -> None:
        self._server = server
        self._information_type = DEFAULT_INFORMATION
        self._descriptor: str | None = None
        self._edited = False
        self.refresh()

    @property
    def information_type(self) -> int:
        """FAXCOMEX ``InformationType``: the parts ``descriptor`` shows and ``save()`` sets
        (SECURITY_INFORMATION bits: owner 1, group 2, DACL 4, SACL 8)."""
        return self._information_type

    @information_type.setter
    def information_type(self, value: int) -> None:
        if not self._edited:
            self._descriptor = None  # read again with the parts asked for
        self._information_type = int(value)

    def refresh(self) -> None:
        """FAXCOMEX ``Refresh()``: read the rights and settings again (the descriptor too,
        dropping a change not saved)."""
        self._data: dict[str, Any] = self._server._connected.get("/security")
        self._descriptor = None
        self._edited = False

    @property
    def granted_rights(self) -> AccessRights | AccessRights2:
        """FAXCOMEX ``GrantedRights``: the rights the caller holds."""
        return AccessRights(self._data["granted_rights_legacy"])

    def _view(self, rights: AccessRights2) -> int:
        """A right as this object's descriptor writes it."""
        return int(legacy_rights(rights))

    def _rights(self, mask: int) -> AccessRights2:
        """The rights a mask of this object's descriptor grants; AccountError if it holds
        bits that make no whole right of the account model (QUERY_IN_ARCHIVE alone)."""
        rights = rights_of_legacy(AccessRights(mask & sum(AccessRights)))
        if int(legacy_rights(rights)) != mask:
            raise AccountError(
                f"the rights {mask:#x} are not whole rights of OpenFax's model "
                f"(FaxSecurity2 grants them; {int(legacy_rights(rights)):#x} would be granted)"
            )
        return rights

    @property
    def descriptor(self) -> str:
        """FAXCOMEX ``Descriptor``, as SDDL text: owner and group the service (``O:SYG:SY``),
        then one allowing ACE per grant, ``(A;;<rights>;;;<who>)``: ``BA`` the
        administrators (every right), ``WD`` every account without a grant of its own (the
        defaults), an account by its name, a Unix group as ``@group``. Reading it takes
        far2MANAGE_CONFIG, as the grants do."""
        if self._descriptor is None:
            grants = self._server._connected.get("/security/grants")
            self._descriptor = descriptor_text(grants, self.information_type, self._view)
        return self._descriptor

    @descriptor.setter
    def descriptor(self, value: str) -> None:
        parse_descriptor(value, self._rights)  # refused now if it cannot be saved
        self._descriptor = value
        self._edited = True

    def save(self) -> None:
        """FAXCOMEX ``Save()``: grant what the descriptor's DACL says (when
        ``information_type`` has DACL): each account and group its rights, and those left
        out back to the defaults (an account) or to nothing (a group). The owner, the group,
        the administrators' and the defaults' rights are the service's: AccountError if the
        descriptor changes them."""
        text = self._descriptor
        if (
            text is None
            or not self._edited
            or not self._information_type & DACL_SECURITY_INFORMATION
        ):
            return
        connection = self._server._connected
        wanted = parse_descriptor(text, self._rights)
        grants = connection.get("/security/grants")
        defaults = AccessRights2(grants["defaults"])
        if wanted.pop(EVERYONE, defaults) != defaults:
            raise AccountError(
                f"{EVERYONE} (every account without a grant) keeps the default rights "
                f"{self._view(defaults):#x}: grant accounts or groups instead"
            )
        if wanted.pop(ADMINISTRATORS, ALL_RIGHTS) != ALL_RIGHTS:
            raise AccountError(f"{ADMINISTRATORS} (the administrators) hold every right")
        held = {name: rights for name, rights in grants["accounts"].items() if rights is not None}
        held |= {GROUP_PREFIX + name: rights for name, rights in grants["groups"].items()}
        for principal in sorted(held.keys() - wanted.keys()):
            _grant(connection, principal, None)
        for principal, rights in sorted(wanted.items()):
            if held.get(principal) != int(rights):
                _grant(connection, principal, rights)
        self._descriptor = None
        self._edited = False


DEFAULT_INFORMATION = 0x7
"""OWNER | GROUP | DACL_SECURITY_INFORMATION: what ``descriptor`` shows at first."""
OWNER_SECURITY_INFORMATION = 0x1
GROUP_SECURITY_INFORMATION = 0x2
DACL_SECURITY_INFORMATION = 0x4
SACL_SECURITY_INFORMATION = 0x8
EVERYONE = "WD"
"""SDDL's Everyone: an account without a grant of its own holds the defaults."""
ADMINISTRATORS = "BA"
"""SDDL's Builtin Administrators: the Unix users holding every right on the local socket."""
GROUP_PREFIX = "@"
SERVICE = "SY"
"""SDDL's Local System: the owner and group of the descriptor, the service itself."""
_ESCAPED = "%;()"
_ACE = re.compile(r"\(([^;()]*);([^;()]*);([^;()]*);([^;()]*);([^;()]*);([^;()]*)\)")
_PART = re.compile(r"([OGDS]):")


def descriptor_text(
    grants: dict[str, Any], information_type: int, view: Callable[[AccessRights2], int]
) -> str:
    """The SDDL text of the server's ``grants`` (``GET /security/grants``): the parts
    ``information_type`` asks for, rights written by ``view``."""
    parts = []
    if information_type & OWNER_SECURITY_INFORMATION:
        parts.append(f"O:{SERVICE}")
    if information_type & GROUP_SECURITY_INFORMATION:
        parts.append(f"G:{SERVICE}")
    if information_type & DACL_SECURITY_INFORMATION:
        aces = [(ADMINISTRATORS, ALL_RIGHTS), (EVERYONE, AccessRights2(grants["defaults"]))]
        aces += [
            (_principal_text(name), AccessRights2(rights))
            for name, rights in sorted(grants["accounts"].items())
            if rights is not None
        ]
        aces += [
            (_principal_text(GROUP_PREFIX + name), AccessRights2(rights))
            for name, rights in sorted(grants["groups"].items())
        ]
        parts.append("D:" + "".join(f"(A;;{view(rights):#x};;;{who})" for who, rights in aces))
    if information_type & SACL_SECURITY_INFORMATION:
        parts.append("S:")  # no auditing ACEs: the audit trail records every change
    return "".join(parts)


def parse_descriptor(
    text: str, rights_of: Callable[[int], AccessRights2]
) -> dict[str, AccessRights2]:
    """The grants of the DACL of an SDDL ``text`` by principal (``WD``, ``BA``, an account,
    ``@group``; rights as ``rights_of`` reads a mask); AccountError saying what is wrong
    (an ACE that denies, a right that is not a number, an owner other than the service)."""
    if not isinstance(text, str):
        raise AccountError(f"a security descriptor is SDDL text, not {type(text).__name__}")
    pieces = _PART.split(text.strip())
    if pieces[0].strip():
        raise AccountError(f"a security descriptor starts with O:, G:, D: or S:, not {text!r}")
    parts = dict(zip(pieces[1::2], pieces[2::2], strict=True))
    for owner in ("O", "G"):
        if parts.get(owner, SERVICE).strip() != SERVICE:
            raise AccountError(f"the descriptor's {owner}: is the service ({SERVICE})")
    dacl = parts.get("D", "").strip().lstrip("PAIR")  # flags (protected, auto-inherit) aside
    granted: dict[str, AccessRights2] = {}
    position = 0
    for ace in _ACE.finditer(dacl):
        if ace.start() != position:
            break
        position = ace.end()
        kind, _, mask, _, _, who = ace.groups()
        if kind != "A":
            raise AccountError(f"OpenFax grants rights and denies none: ACE type {kind!r}")
        try:
            number = int(mask, 0)
        except ValueError:
            raise AccountError(f"an ACE's rights are a number (0x27), not {mask!r}") from None
        granted[_principal(who)] = rights_of(number)
    if position != len(dacl):
        raise AccountError(f"not an ACE (A;;rights;;;who): {dacl[position:][:80]!r}")
    return granted


def _principal_text(name: str) -> str:
    """An account or group as an ACE names it: ``;``, ``(``, ``)`` and ``%`` escaped as in a
    URL, and an account named as an SDDL alias has its first letter escaped."""
    escaped = "".join(f"%{ord(c):02X}" if c in _ESCAPED else c for c in name)
    if escaped in (EVERYONE, ADMINISTRATORS):
        return f"%{ord(escaped[0]):02X}{escaped[1:]}"
    return escaped


def _principal(text: str) -> str:
    return text if text in (EVERYONE, ADMINISTRATORS) else unquote(text)


def _grant(connection: Any, principal: str, rights: AccessRights2 | int | None) -> None:
    body = {"rights": None if rights is None else int(rights)}
    send_json(connection, "PUT", f"/security/grants/{segment(principal)}", body)


class FaxSecurity2(FaxSecurity):
    """FAXCOMEX ``FaxSecurity2``: the caller's rights (FAX_ACCESS_RIGHTS_ENUM_2), the grants
    of accounts and Unix groups (administrators; also as ``descriptor``, whose rights are
    FAX_ACCESS_RIGHTS_ENUM_2 masks), and the account settings."""

    @property
    def granted_rights(self) -> AccessRights2:
        """FAXCOMEX ``GrantedRights``: the rights the caller holds."""
        return AccessRights2(self._data["granted_rights"])

    def _view(self, rights: AccessRights2) -> int:
        return int(rights)

    def _rights(self, mask: int) -> AccessRights2:
        return AccessRights2(mask & ALL_RIGHTS)

    @property
    def auto_create_account_on_connect(self) -> bool:
        """A Unix user without an account gets one when it first connects."""
        return bool(self._data["auto_create_account_on_connect"])

    @property
    def incoming_faxes_are_public(self) -> bool:
        """Every account sees every received fax; when False, each sees those reassigned
        to it."""
        return bool(self._data["incoming_faxes_are_public"])

    def save(
        self,
        *,
        auto_create_account_on_connect: bool | None = None,
        incoming_faxes_are_public: bool | None = None,
    ) -> None:
        """FAXCOMEX ``Save()``: the descriptor's grants (see FaxSecurity), then the account
        settings given (far2MANAGE_CONFIG)."""
        super().save()
        if auto_create_account_on_connect is None and incoming_faxes_are_public is None:
            return
        body = {
            "auto_create_account_on_connect": auto_create_account_on_connect,
            "incoming_faxes_are_public": incoming_faxes_are_public,
        }
        self._data = send_json(self._server._connected, "PATCH", "/security", body)

    def get_grants(self) -> dict[str, Any]:
        """Who is granted what: ``{"defaults": rights, "accounts": {name: rights or None},
        "groups": {group: rights}, "administrators": [name]}`` (rights as AccessRights2;
        administrators are the Unix users holding every right on the local socket)."""
        data = self._server._connected.get("/security/grants")
        return {
            "defaults": AccessRights2(data["defaults"]),
            "accounts": {
                k: None if v is None else AccessRights2(v) for k, v in data["accounts"].items()
            },
            "groups": {k: AccessRights2(v) for k, v in data["groups"].items()},
            "administrators": list(data["administrators"]),
        }

    def grant(self, principal: str, rights: AccessRights2 | int | None) -> None:
        """Set the rights of an account (by name; None: the defaults again) or of a Unix
        group (``@group``; None: no grant)."""
        _grant(self._server._connected, principal, rights)
