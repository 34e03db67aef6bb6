"""Fax accounts and access rights (FAXCOMEX ``FaxAccountSet``, ``FaxSecurity2``).

An account is who submits, owns and sees faxes. A local connection acts as the account of
its peer's Unix user (created on first connection while ``auto_create_account_on_connect``
holds, as Windows does); a remote one signs in with an account's password (argon2) or one of
its API tokens (stored as SHA-256 hashes: a token is 256 random bits, so a fast hash is
enough). Root and the Unix user running the service are administrators: they hold every
right. Anyone else holds the rights granted to its account (the defaults until an
administrator grants others) and those granted to the Unix groups of its Unix user.

A wrong password and an unknown account are answered alike and in the same time (an unknown
account's password is checked against a hash of a random one). Failed password sign-ins
are throttled per account and per client address (:class:`SignInThrottle`): after
``FREE_FAILURES`` in a row, each next password is checked only after a delay that doubles
with each failure, up to ``MOST_DELAY`` seconds; a try before that is refused unchecked
(429, Retry-After) and each delay imposed goes to the audit trail.

What a sign-in found is kept for a few seconds (a password check costs an argon2 hash,
tens of milliseconds, on purpose); any change made here forgets it at once, a change made
by another node is seen within ``CACHE_SECONDS``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import grp
import hashlib
import math
import os
import pwd
import secrets
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from openfax.errors import (
    AccessDeniedError,
    AccountError,
    AccountNotFoundError,
    InvalidOperationError,
    MessageNotFoundError,
    SignInThrottledError,
)
from openfax.model import (
    ALL_RIGHTS,
    DEFAULT_RIGHTS,
    AccessRights2,
    effective_rights,
    format_id,
)
from openfax.model.events import ConfigChanged, IncomingMessageAdded
from openfax.model.records import SENDER_FIELDS, MessageInfo
from openfax.service.audit import SERVICE_ACTOR, AuditAction, message_type, record
from openfax.service.context import ServiceContext
from openfax.service.views import message_info
from openfax.store import Account, AccountToken, Direction, GroupGrant
from openfax.store import queries as q


def default_sender_key(account_id: int) -> str:
    """The settings key of an account's default sender (by its id, which is never reused:
    an account added again under a removed one's name starts without one)."""
    return f"default_sender.{account_id}"


SECURITY_KEY = "security"
"""Settings key of :class:`SecuritySettings`."""
CACHE_SECONDS = 5.0
"""How long a sign-in's account and rights are trusted without reading the store again."""
PASSWORD_CACHE_SECONDS = 60.0
"""How long a password that was checked right is trusted without hashing it again."""
TOKEN_PREFIX = "sha256:"
GROUP_PREFIX = "@"
"""Grants name a Unix group as ``@group``, an account by its name."""
MAX_NAME = 256
CACHE_SIZE = 10_000
"""The most sign-ins each cache keeps (accounts, checked passwords, tokens); the least
recently used goes first. Only what signed in is kept, so a flood of wrong credentials
neither fills a cache nor pushes much out of it."""
SECURITY_CHANGED = ConfigChanged(security=True)
"""The CONFIG_CHANGED payload of a change of accounts or rights (OnSecurityConfigChange)."""

MAX_AUDIT_ID = 200
"""The longest object id the audit trail keeps."""
FREE_FAILURES = 5
"""Failed sign-ins in a row, for an account or from an address, before the delays begin."""
FIRST_DELAY = 1.0
MOST_DELAY = 300.0
"""The delay after ``FREE_FAILURES`` failures unless ``[api] sign_in_delay_seconds`` sets
another, and the longest it doubles up to (seconds)."""
FORGET_FAILURES_SECONDS = 900.0
"""Failures of an account or address quiet for this long are forgotten."""

_hasher = PasswordHasher()

K = TypeVar("K")
V = TypeVar("V")


class ExpiringCache(Generic[K, V]):
    """At most ``size`` entries, each trusted for ``seconds``; the least recently used
    goes first when it is full."""

    def __init__(self, seconds: float, size: int = CACHE_SIZE) -> None:
        self.seconds = seconds
        self.size = size
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The value kept for ``key``, or None (none kept, or kept too long)."""
        found = self._entries.get(key)
        if found is None:
            return None
        if found[0] <= time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return found[1]

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` for ``key`` (the oldest entry goes if that makes too many)."""
        self._entries[key] = (time.monotonic() + self.seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def pop(self, key: K) -> None:
        """Forget ``key``."""
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def token_hash(token: str) -> str:
    """How a token is stored: ``sha256:<hex>``."""
    return TOKEN_PREFIX + hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh token: ``ofx_`` and 43 URL-safe characters (256 random bits)."""
    return "ofx_" + secrets.token_urlsafe(32)


def check_account_name(name: str) -> str:
    """``name`` if it can name an account (``user`` or ``domain\\user``), else ValueError."""
    if not 0 < len(name) <= MAX_NAME:
        raise AccountError(f"an account name has 1 to {MAX_NAME} characters: {name!r}")
    if name.startswith(GROUP_PREFIX) or any(c.isspace() or c in ":/" for c in name):
        raise AccountError(
            f"an account name has no spaces, ':' or '/' and does not start with '@': {name!r}"
        )
    if not name.isprintable():
        raise AccountError(f"an account name is printable: {name!r}")
    return name


@dataclass(frozen=True)
class SecuritySettings:
    """FAXCOMEX ``AutoCreateAccountOnConnect`` and ``IncomingFaxesArePublic``."""

    auto_create_account_on_connect: bool = True
    incoming_faxes_are_public: bool = True


@dataclass(frozen=True)
class AccountInfo:
    """FAXCOMEX ``FaxAccount``: its name, and what an administrator sees of it."""

    account_name: str
    id: int
    """Never changes, never reused: what the account's faxes refer to."""
    created_at: datetime
    has_password: bool
    granted: AccessRights2 | None
    """The rights granted to the account itself (None: the defaults)."""


@dataclass(frozen=True)
class TokenInfo:
    """One API token of an account, without its text (shown only when it is made)."""

    id: int
    label: str
    created_at: datetime


@dataclass(frozen=True)
class Principal:
    """A signed-in account: its name, the rights it holds now, and its id (what it owns
    refers to the id, never to the name)."""

    name: str
    rights: AccessRights2
    id: int


@dataclass(frozen=True)
class Grants:
    """FAXCOMEX ``FaxSecurity2``'s descriptor: rights granted to accounts and Unix groups."""

    defaults: AccessRights2
    accounts: dict[str, AccessRights2 | None]
    groups: dict[str, AccessRights2]
    administrators: tuple[str, ...]
    """The Unix users who hold every right on the local socket whatever their grants: root
    and the user running the service."""


class Accounts:
    """The accounts of the running service; one per service (it keeps the caches)."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.settings = SecuritySettings()
        self._principals: ExpiringCache[str, Principal] = ExpiringCache(CACHE_SECONDS)
        self._passwords: ExpiringCache[tuple[str, str], bool] = ExpiringCache(
            PASSWORD_CACHE_SECONDS
        )
        self._tokens: ExpiringCache[str, str] = ExpiringCache(CACHE_SECONDS)
        self.throttle = SignInThrottle(ctx.config.api.sign_in_delay_seconds)
        self._dummy_hash = ""

    async def load(self) -> None:
        """Read the settings from the store (at start)."""
        await self.take_up_changes()
        self._dummy_hash = await _hash(secrets.token_urlsafe(16))

    async def take_up_changes(self) -> None:
        """Read the settings again and forget every cached sign-in: accounts or rights
        changed, on this node or another (:mod:`openfax.service.cluster`)."""
        async with self.ctx.db.read() as conn:
            stored = await q.get_setting(conn, SECURITY_KEY, {})
        self.settings = SecuritySettings(**stored)
        self._forget_sign_ins()

    async def save_settings(
        self,
        *,
        auto_create_account_on_connect: bool | None = None,
        incoming_faxes_are_public: bool | None = None,
        actor: str = SERVICE_ACTOR,
    ) -> SecuritySettings:
        """Change the settings given (the others keep their value)."""
        current = self.settings
        settings = SecuritySettings(
            auto_create_account_on_connect=current.auto_create_account_on_connect
            if auto_create_account_on_connect is None
            else auto_create_account_on_connect,
            incoming_faxes_are_public=current.incoming_faxes_are_public
            if incoming_faxes_are_public is None
            else incoming_faxes_are_public,
        )
        value = settings.__dict__.copy()
        await self._change(
            lambda conn: q.set_setting(conn, SECURITY_KEY, value, now=self.ctx.clock.now()),
            actor,
            "settings",
            value,
        )
        self.settings = settings
        return settings

    # --- the account set -------------------------------------------------------------------

    async def get_accounts(self) -> list[AccountInfo]:
        """FAXCOMEX ``FaxAccountSet.GetAccounts()``: every account, by name."""
        async with self.ctx.db.read() as conn:
            return [_info(account) for account in await q.list_accounts(conn)]

    async def get_account(self, name: str) -> AccountInfo:
        """FAXCOMEX ``GetAccount(name)``; MessageNotFoundError if there is none."""
        return _info(await self._account(name))

    async def add_account(
        self, name: str, password: str | None = None, *, actor: str = SERVICE_ACTOR
    ) -> AccountInfo:
        """FAXCOMEX ``AddAccount(name)``: a new account with the default rights (and a
        password, if given); InvalidOperationError if it exists."""
        account = Account(
            name=check_account_name(name),
            created_at=self.ctx.clock.now(),
            password_hash=None if password is None else await _hash(password),
        )

        async def insert(conn: Any) -> None:
            if not await q.insert_account(conn, account):
                raise InvalidOperationError(f"account {name!r} exists already")

        await self._change(insert, actor, f"account:{name}", {"change": "added"})
        return _info(account)

    async def remove_account(self, name: str, *, actor: str = SERVICE_ACTOR) -> None:
        """FAXCOMEX ``RemoveAccount(name)``: the account, its tokens and its address book go,
        its faxes stay."""

        async def remove(conn: Any) -> None:
            account = await q.get_account(conn, name)
            if account is None or not await q.delete_account(conn, name):
                raise AccountNotFoundError(name)
            await q.delete_setting(conn, default_sender_key(account.id))
            await q.delete_address_book(conn, account.id)

        await self._change(remove, actor, f"account:{name}", {"change": "removed"})

    async def set_password(
        self, name: str, password: str | None, *, actor: str = SERVICE_ACTOR
    ) -> None:
        """Set (None: remove) an account's password."""
        if password is not None and not password:
            raise AccountError("a password is not empty")
        digest = None if password is None else await _hash(password)
        change = "password removed" if password is None else "password set"
        await self._update(name, {"password_hash": digest}, actor, change)

    async def add_token(
        self, name: str, label: str = "", *, actor: str = SERVICE_ACTOR
    ) -> tuple[TokenInfo, str]:
        """A new API token for the account: its record and its text (shown only now)."""
        await self._account(name)
        token = new_token()
        record = AccountToken(
            account_name=name,
            token_hash=token_hash(token),
            label=label,
            created_at=self.ctx.clock.now(),
        )
        details = {"change": "token added", "token_id": format_id(record.id)}
        await self._change(
            lambda conn: q.insert_token(conn, record), actor, f"account:{name}", details
        )
        return TokenInfo(record.id, record.label, record.created_at), token

    async def get_tokens(self, name: str) -> list[TokenInfo]:
        """An account's tokens, without their texts."""
        await self._account(name)
        async with self.ctx.db.read() as conn:
            tokens = await q.list_tokens(conn, name)
        return [TokenInfo(t.id, t.label, t.created_at) for t in tokens]

    async def revoke_token(self, name: str, token_id: int, *, actor: str = SERVICE_ACTOR) -> None:
        """Revoke one of an account's tokens; MessageNotFoundError if it has no such token."""

        async def revoke(conn: Any) -> None:
            if not await q.delete_token(conn, name, token_id):
                raise MessageNotFoundError("token", token_id)

        details = {"change": "token revoked", "token_id": format_id(token_id)}
        await self._change(revoke, actor, f"account:{name}", details)

    # --- rights -----------------------------------------------------------------------------

    async def get_grants(self) -> Grants:
        """FAXCOMEX ``FaxSecurity2``: the rights granted to each account and Unix group."""
        async with self.ctx.db.read() as conn:
            accounts = await q.list_accounts(conn)
            groups = await q.list_group_grants(conn)
        return Grants(
            defaults=DEFAULT_RIGHTS,
            accounts={a.name: _rights(a.rights) for a in accounts},
            groups={g.group_name: AccessRights2(g.rights) for g in groups},
            administrators=tuple(dict.fromkeys(map(unix_user_name, administrator_uids()))),
        )

    async def grant(
        self, principal: str, rights: AccessRights2 | None, *, actor: str = SERVICE_ACTOR
    ) -> None:
        """Set the rights of an account (None: back to the defaults) or of a Unix group
        (``@group``; None: takes its grant away)."""
        if rights is not None and int(rights) & ~int(ALL_RIGHTS):
            raise AccountError(f"not FAX_ACCESS_RIGHTS_ENUM_2 bits: {int(rights):#x}")
        if principal.startswith(GROUP_PREFIX):
            group = principal[len(GROUP_PREFIX) :]
            if not group:
                raise AccountError("a group grant names the group: @group")
            value = None if rights is None else int(rights)
            details = {"change": "granted", "rights": value}
            grant = None if rights is None else GroupGrant(group_name=group, rights=int(rights))

            async def put(conn: Any) -> None:
                if grant is None:
                    await q.delete_group_grant(conn, group)
                else:
                    await q.put_group_grant(conn, grant)

            await self._change(put, actor, f"grant:{principal}", details)
            return
        value = None if rights is None else int(rights)
        await self._update(principal, {"rights": value}, actor, "granted", {"rights": value})

    async def granted_rights(self, name: str) -> AccessRights2:
        """The rights an account holds now: its own grant (or the defaults) and its Unix
        groups' grants, with what each right implies."""
        return (await self._load(name)).rights

    # --- signing in --------------------------------------------------------------------------

    async def sign_in_local(self, user: str, uid: int) -> Principal:
        """The account of a local Unix user: created if missing (always for an administrator,
        otherwise while ``auto_create_account_on_connect`` holds; else AccessDeniedError)."""
        admin = is_administrator(uid)
        cached = self._cached(user)
        if cached is not None:
            return dataclasses.replace(cached, rights=ALL_RIGHTS) if admin else cached
        account = await self._find(user)
        if account is None:
            if not (admin or self.settings.auto_create_account_on_connect):
                raise AccessDeniedError(
                    f"Unix user {user!r} has no fax account and accounts are not created on "
                    f"connection; an administrator adds it: openfax accounts add {user}"
                )
            await self._create_quietly(user)
        principal = await self._principal(user)
        return dataclasses.replace(principal, rights=ALL_RIGHTS) if admin else principal

    async def sign_in_password(
        self, name: str, password: str, address: str | None = None
    ) -> Principal | None:
        """The account whose password this is, or None: the same answer, after the same
        argon2 check, for an unknown account, one without a password and a wrong password.
        SignInThrottledError while the account or the client's ``address`` must wait after
        failures (the password is not checked then)."""
        key = (name, hashlib.sha256(password.encode()).hexdigest())
        if self._passwords.get(key):
            principal = self._cached(name)
            if principal is not None:
                return principal
        # A name longer than any account's is cut: what a client sends does not size the table.
        throttled: tuple[str, ...] = (f"account:{name[: MAX_NAME + 1]}",)
        if address is not None:
            throttled += (f"address:{address}",)
        wait = self.throttle.wait(*throttled)
        if wait > 0:
            raise SignInThrottledError(math.ceil(wait))
        # Counted as failed before the check, so that guesses sent all at once wait too.
        delays = self.throttle.failed(*throttled)
        account = await self._find(name)
        digest = self._dummy_hash if account is None else account.password_hash
        right = await asyncio.to_thread(_verify, digest or self._dummy_hash, password)
        if account is None or account.password_hash is None or not right:
            self.throttle.restart(delays)
            await self._audit_delays(delays)
            return None
        self.throttle.succeeded(*throttled)
        self._passwords.put(key, True)
        return await self._principal(name)

    async def _audit_delays(self, delays: dict[str, tuple[int, float]]) -> None:
        """Write each delay a failed sign-in imposed to the audit trail (at most one entry
        per delay and key, so a flood cannot fill it)."""
        if not delays:
            return
        ctx = self.ctx
        async with ctx.db.transaction() as conn:
            for what, (failures, delay) in delays.items():
                details = {"failures": failures, "delay_seconds": delay}
                await record(
                    conn,
                    ctx.clock.now(),
                    SERVICE_ACTOR,
                    AuditAction.SIGN_IN_THROTTLED,
                    "security",
                    what[:MAX_AUDIT_ID],
                    details,
                )

    async def sign_in_token(self, token: str) -> Principal | None:
        """The account this API token belongs to, or None. Only tokens that sign in are
        cached: an unknown one is looked up in the store every time (one indexed read)."""
        digest = token_hash(token)
        name = self._tokens.get(digest)
        if name is None:
            async with self.ctx.db.read() as conn:
                record = await q.find_token(conn, digest)
            if record is None:
                return None
            name = record.account_name
            self._tokens.put(digest, name)
        return self._cached(name) or await self._principal(name)

    async def token_in_force(self, digest: str, name: str) -> bool:
        """Whether the API token of hash ``digest`` still signs in as the account ``name``
        (read afresh, no cache): what an open event stream asks after a change of
        accounts."""
        async with self.ctx.db.read() as conn:
            record = await q.find_token(conn, digest)
        return record is not None and record.account_name == name

    async def current(self, name: str, account_id: int, uid: int | None = None) -> Principal | None:
        """The account ``name`` of id ``account_id`` as the store has it now (read afresh,
        no cache), or None once it is removed (a later account of its name is another). An
        administrator's Unix user (``uid``) keeps every right. What an open event stream
        asks after a change of accounts or rights."""
        try:
            found = await self._load(name)
        except AccountNotFoundError:
            return None
        if found.id != account_id:
            return None
        if uid is not None and is_administrator(uid):
            return dataclasses.replace(found, rights=ALL_RIGHTS)
        return found

    async def sign_in_holder(self, name: str) -> Principal:
        """The account a token of the administrator's tokens file names (made if missing:
        writing the file is what an administrator does to let it in)."""
        cached = self._cached(name)
        if cached is not None:
            return cached
        if await self._find(name) is None:
            await self._create_quietly(name)
        return await self._principal(name)

    # --- the default sender -------------------------------------------------------------------

    async def get_default_sender(self, account_id: int) -> dict[str, str]:
        """FAXCOMEX ``FaxSender.LoadDefaultSender()``: the sender fields the account saved
        (every field of FaxSender, empty where none was saved)."""
        async with self.ctx.db.read() as conn:
            saved = await q.get_setting(conn, default_sender_key(account_id), {})
        return {name: str(saved.get(name, "")) for name in SENDER_FIELDS}

    async def save_default_sender(self, account_id: int, fields: Mapping[str, str]) -> None:
        """FAXCOMEX ``FaxSender.SaveDefaultSender()``: keep the sender ``fields`` as the
        account's default (replacing the one before; a field left out is saved empty).
        AccountError names a field that FaxSender has not."""
        unknown = sorted(set(fields) - set(SENDER_FIELDS))
        if unknown:
            raise AccountError(f"a sender has no field {unknown[0]!r}")
        value = {name: fields.get(name, "") for name in SENDER_FIELDS}
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as conn:
            await q.set_setting(conn, default_sender_key(account_id), value, now=now)

    # --- the receive folder -----------------------------------------------------------------

    async def reassign(self, message_id: int, account: str, actor: str) -> MessageInfo:
        """FAXCOMEX ``FaxIncomingMessage.ReAssign()``: a received fax becomes the account's
        own (only it, and holders of the "all" rights, see it). Only while incoming faxes are
        not public (InvalidOperationError otherwise). The audit trail names ``actor``."""
        if self.settings.incoming_faxes_are_public:
            raise InvalidOperationError(
                "incoming faxes are public: set incoming_faxes_are_public to false to reassign them"
            )
        owner = await self._account(account)
        ctx = self.ctx
        changes = {
            "owner": account,
            "owner_id": owner.id,
            "recipients": account,
            "was_reassigned": True,
        }
        async with ctx.hub.transaction() as conn:
            message = await q.update_message(conn, Direction.IN, message_id, changes)
            await record(
                conn,
                ctx.clock.now(),
                actor,
                AuditAction.REASSIGNED,
                message_type(Direction.IN),
                message_id,
                {"account": account},
            )
            # Added to the account's folder, not to the receive folder.
            added = IncomingMessageAdded(message_id=message_id, added_to_receive_folder=False)
            await ctx.hub.emit(conn, added)
        return message_info(message)

    # --- inside ------------------------------------------------------------------------------

    def _cached(self, name: str) -> Principal | None:
        return self._principals.get(name)

    async def _load(self, name: str) -> Principal:
        """The account as the store has it now (AccountNotFoundError if there is none)."""
        async with self.ctx.db.read() as conn:
            account = await q.get_account(conn, name)
            groups = await q.list_group_grants(conn)
        if account is None:
            raise AccountNotFoundError(name)
        return Principal(name, await asyncio.to_thread(_rights_of, account, groups), account.id)

    async def _principal(self, name: str) -> Principal:
        principal = await self._load(name)
        self._principals.put(name, principal)
        return principal

    async def _find(self, name: str) -> Account | None:
        async with self.ctx.db.read() as conn:
            return await q.get_account(conn, name)

    async def _account(self, name: str) -> Account:
        account = await self._find(name)
        if account is None:
            raise AccountNotFoundError(name)
        return account

    async def _create_quietly(self, name: str) -> None:
        """Add an account of that name unless one exists (two first requests may race)."""
        account = Account(name=check_account_name(name), created_at=self.ctx.clock.now())
        details = {"change": "created on connection"}
        await self._change(
            lambda conn: q.insert_account(conn, account), name, f"account:{name}", details
        )

    async def _update(
        self,
        name: str,
        changes: dict[str, Any],
        actor: str,
        change: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        async def update(conn: Any) -> None:
            if await q.update_account(conn, name, changes) is None:
                raise AccountNotFoundError(name)

        await self._change(update, actor, f"account:{name}", {"change": change, **(details or {})})

    async def _change(self, work: Any, actor: str, what: str, details: dict[str, Any]) -> None:
        """Run ``work(conn)`` in a transaction that announces a security change and writes
        it to the audit trail (``config_changed`` of ``security`` ``what``, by ``actor``;
        never a password or a token), and forget every cached sign-in."""
        ctx = self.ctx
        async with ctx.hub.transaction() as conn:
            await work(conn)
            await ctx.hub.emit(conn, SECURITY_CHANGED)
            now = ctx.clock.now()
            await record(conn, now, actor, AuditAction.CONFIG_CHANGED, "security", what, details)
        self._forget_sign_ins()

    def _forget_sign_ins(self) -> None:
        self._principals.clear()
        self._passwords.clear()
        self._tokens.clear()


class SignInThrottle:
    """Failed sign-ins in a row per key (``account:NAME``, ``address:IP``) and how long
    each key must wait: nothing for the first ``FREE_FAILURES``, then ``first_delay``
    doubling up to ``MOST_DELAY``. Bounded: the least recently failed keys beyond
    ``CACHE_SIZE`` are forgotten, and so are keys quiet for ``FORGET_FAILURES_SECONDS``."""

    def __init__(self, first_delay: float = FIRST_DELAY) -> None:
        self.first_delay = first_delay
        self._failures: ExpiringCache[str, tuple[int, float]] = ExpiringCache(
            FORGET_FAILURES_SECONDS
        )

    def wait(self, *keys: str) -> float:
        """The seconds the longest-waiting of ``keys`` must still wait (0: none)."""
        now = time.monotonic()
        until = [found[1] for key in keys if (found := self._failures.get(key)) is not None]
        return max([0.0, *(u - now for u in until)])

    def failed(self, *keys: str) -> dict[str, tuple[int, float]]:
        """Count a failure against each key; the keys it makes wait, with their failures
        in a row and their delay (seconds)."""
        now = time.monotonic()
        delays = {}
        for key in keys:
            found = self._failures.get(key)
            failures = 1 if found is None else found[0] + 1
            delay = 0.0
            if failures > FREE_FAILURES:
                doublings = min(failures - FREE_FAILURES - 1, 32)  # 2**n stays a float
                delay = min(self.first_delay * 2**doublings, MOST_DELAY)
                delays[key] = (failures, delay)
            self._failures.put(key, (failures, now + delay))
        return delays

    def restart(self, delays: dict[str, tuple[int, float]]) -> None:
        """Start the ``delays`` that :meth:`failed` gave from now: from the answer of the
        failure (a password check takes a while), not from its start."""
        now = time.monotonic()
        for key, (failures, delay) in delays.items():
            self._failures.put(key, (failures, now + delay))

    def succeeded(self, *keys: str) -> None:
        """A sign-in that worked: its keys start again from no failure."""
        for key in keys:
            self._failures.pop(key)


def _info(account: Account) -> AccountInfo:
    return AccountInfo(
        account_name=account.name,
        id=account.id,
        created_at=account.created_at,
        has_password=account.password_hash is not None,
        granted=_rights(account.rights),
    )


def _rights(value: int | None) -> AccessRights2 | None:
    return None if value is None else AccessRights2(value)


def _rights_of(account: Account, groups: list[GroupGrant]) -> AccessRights2:
    """An account's own grant (or the defaults) and the grants of its Unix user's groups."""
    rights = DEFAULT_RIGHTS if account.rights is None else AccessRights2(account.rights)
    if groups:
        member_of = _unix_groups(account.name)
        for grant in groups:
            if grant.group_name in member_of:
                rights |= AccessRights2(grant.rights)
    return effective_rights(rights)


def administrator_uids() -> tuple[int, ...]:
    """The Unix users who administer the service: root and the service's own user."""
    return (0, os.getuid())


def is_administrator(uid: int) -> bool:
    """Whether the Unix user ``uid`` administers the service."""
    return uid in administrator_uids()


def unix_user_name(uid: int) -> str:
    """The name of the Unix user ``uid`` (its number when it has no name)."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _unix_groups(user: str) -> set[str]:
    """The names of the Unix groups of ``user`` (none if it is no Unix user)."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return set()
    names = set()
    for gid in os.getgrouplist(user, entry.pw_gid):
        try:
            names.add(grp.getgrgid(gid).gr_name)
        except KeyError:
            continue
    return names


async def _hash(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(digest: str, password: str) -> bool:
    try:
        return _hasher.verify(digest, password)
    except (VerificationError, InvalidHashError):
        return False
