"""Who may hear which server event, and see the receive folder: the rules of visibility that
every listener of the event stream is held to (the API's WebSocket, any other front end).
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from typing import TYPE_CHECKING

from openfax.model import AccessRights2, ServerEvents
from openfax.model.events import ConfigChanged, EventType, JobEvent, MessageEvent
from openfax.service.event_hub import ServerEvent
from openfax.store import Direction

if TYPE_CHECKING:
    from openfax.service.service import FaxService

_R2 = AccessRights2
_FAX_EVENTS = {
    EventType.OUTGOING_JOB_ADDED: Direction.OUT,
    EventType.OUTGOING_JOB_CHANGED: Direction.OUT,
    EventType.OUTGOING_JOB_REMOVED: Direction.OUT,
    EventType.OUTGOING_MESSAGE_ADDED: Direction.OUT,
    EventType.OUTGOING_MESSAGE_REMOVED: Direction.OUT,
    EventType.INCOMING_MESSAGE_ADDED: Direction.IN,
    EventType.INCOMING_MESSAGE_REMOVED: Direction.IN,
}
"""Events about one account's fax, and the direction to look its owner up in."""
ACCOUNT_LISTENER = _R2.QUERY_OUT_JOBS | _R2.QUERY_ARCHIVES
"""What it takes to hear another account's events."""
_CONFIG_EVENTS = {
    EventType.CONFIG_CHANGED,
    EventType.DEVICE_STATUS_CHANGED,
    EventType.NEW_CALL,
    EventType.ACTIVITY_CHANGED,
}


def incoming_faxes_are_public(service: FaxService) -> bool:
    """Whether every account sees the faxes received (the accounts' setting)."""
    return service.accounts.settings.incoming_faxes_are_public


def sees_receive_folder(service: FaxService, rights: AccessRights2) -> bool:
    """Whether holders of ``rights`` see every received fax: they are public, or the rights
    manage the receive folder or query every archive."""
    return (
        incoming_faxes_are_public(service)
        or _R2.MANAGE_RECEIVE_FOLDER in rights
        or _R2.QUERY_ARCHIVES in rights
    )


@dataclass(eq=False)
class Hearing:
    """Which events one listener may hear: those of its own faxes (everyone's with the
    "all" rights), the receive folder's while it may see it, configuration and devices
    with far2QUERY_CONFIG, queue switches and the service's end always. With ``account``,
    an account's events only (FAXCOMEX ``ListenToAccountEvents``). A fax's owner is
    looked up once and remembered for the listener's life (a job's removal is heard even
    though the job is gone). The listener's rights are read again at each change of
    accounts or rights (:meth:`refresh`), so a right revoked narrows the stream at once."""

    service: FaxService
    name: str
    """The listener's account (of id ``account_id``)."""
    account_id: int
    rights: AccessRights2
    """What the account holds now (``refresh``)."""
    _: KW_ONLY
    uid: int | None = None
    """The Unix user the listener came as over the local socket, if it did."""
    token: str | None = None
    """The hash of the account's API token the listener signed in with, if it did."""
    account: int | None = None
    owners: dict[int, int] = field(default_factory=dict, init=False)
    """Each fax's owner, by the fax's id, once looked up."""

    async def refresh(self) -> str | None:
        """Take up the listener's rights as they are now (after a change of accounts or
        rights, here or on another node: its event reaches every stream); why the stream
        must end instead: its account was removed, the API token it signed in with was
        revoked, or it lost the right to hear the other account it listens to."""
        accounts = self.service.accounts
        found = await accounts.current(self.name, self.account_id, self.uid)
        if found is None:
            return f"account {self.name!r} was removed"
        if self.token is not None and not await accounts.token_in_force(self.token, found.name):
            return f"the API token account {self.name!r} signed in with was revoked"
        self.rights = found.rights
        if self.account not in (None, self.account_id) and ACCOUNT_LISTENER not in self.rights:
            return f"account {self.name!r} lost the right to hear another account's events"
        return None

    @staticmethod
    def changes_rights(event: ServerEvent) -> bool:
        """Whether ``event`` changed accounts or rights (:meth:`refresh` is due)."""
        return isinstance(event.payload, ConfigChanged) and bool(event.payload.security)

    async def allows(self, event: ServerEvent) -> bool:
        """Whether the listener may hear ``event``."""
        if self.account is not None:
            return await self._of_account(event, self.account)
        direction = _FAX_EVENTS.get(event.type)
        if direction is Direction.OUT:
            is_job = isinstance(event.payload, JobEvent)
            everyone = _R2.QUERY_OUT_JOBS if is_job else _R2.QUERY_ARCHIVES
            return everyone in self.rights or await self._owner(direction, event) == self.account_id
        if direction is Direction.IN:
            if sees_receive_folder(self.service, self.rights):
                return True
            return await self._owner(direction, event) == self.account_id
        if event.type in _CONFIG_EVENTS:
            return _R2.QUERY_CONFIG in self.rights
        if event.type.mask is ServerEvents.IN_QUEUE:
            return sees_receive_folder(self.service, self.rights)
        return True

    async def _of_account(self, event: ServerEvent, account: int) -> bool:
        """An account's events: its faxes' (received ones too while they are public), and
        the service's end."""
        direction = _FAX_EVENTS.get(event.type)
        if direction is Direction.IN and incoming_faxes_are_public(self.service):
            return True
        if direction is not None:
            return await self._owner(direction, event) == account
        if event.type.mask is ServerEvents.IN_QUEUE:
            return incoming_faxes_are_public(self.service)
        return event.type is EventType.SERVER_SHUT_DOWN

    async def _owner(self, direction: Direction, event: ServerEvent) -> int | None:
        payload = event.payload
        if isinstance(payload, JobEvent):
            fax_id = payload.job_id
        elif isinstance(payload, MessageEvent):
            fax_id = payload.message_id
        else:
            return None
        if fax_id not in self.owners:
            owner = await self.service.archives.owner_of(direction, fax_id)
            if owner is None:
                return None
            self.owners[fax_id] = owner
        return self.owners[fax_id]
