"""FAXCOMEX accounts and security: ``FaxAccountSet``, ``FaxAccounts``, ``FaxAccount`` (with
its ``FaxAccountFolders``), ``FaxSecurity`` and ``FaxSecurity2``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from openfax.client._records import Collection, segment
from openfax.client.events import ServerEvent, call_handlers
from openfax.client.routing import send_json
from openfax.model import AccessRights, AccessRights2, AccountEvents, ServerEvents

if TYPE_CHECKING:
    from openfax.client.server import FaxFolders, FaxServer


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
        from openfax.client.server import _Listener

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
            listener = _Listener(self, connection, server_mask, after, self.account_name)
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

    @property
    def account_name(self) -> str:
        """FAXCOMEX ``AccountName``: ``user`` or ``domain\\user``."""
        name: str = self._data["account_name"]
        return name

    @property
    def folders(self) -> FaxFolders:
        """FAXCOMEX ``FaxAccountFolders``: the queues and archives showing only this
        account's faxes (received faxes: all of them while they are public)."""
        from openfax.client.server import FaxFolders

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
    """FAXCOMEX ``FaxSecurity``: the caller's rights in the older FAX_ACCESS_RIGHTS_ENUM."""

    def __init__(self, server: FaxServer) -> None:
        self._server = server
        self.refresh()

    def refresh(self) -> None:
        """FAXCOMEX ``Refresh()``: read the rights and settings again."""
        self._data: dict[str, Any] = self._server._connected.get("/security")

    @property
    def granted_rights(self) -> AccessRights | AccessRights2:
        """FAXCOMEX ``GrantedRights``: the rights the caller holds."""
        return AccessRights(self._data["granted_rights_legacy"])


class FaxSecurity2(FaxSecurity):
    """FAXCOMEX ``FaxSecurity2``: the caller's rights (FAX_ACCESS_RIGHTS_ENUM_2), the grants
    of accounts and Unix groups (administrators), and the account settings."""

    @property
    def granted_rights(self) -> AccessRights2:
        """FAXCOMEX ``GrantedRights``: the rights the caller holds."""
        return AccessRights2(self._data["granted_rights"])

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
        """Change the account settings given (far2MANAGE_CONFIG)."""
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
        body = {"rights": None if rights is None else int(rights)}
        path = f"/security/grants/{segment(principal)}"
        send_json(self._server._connected, "PUT", path, body)
