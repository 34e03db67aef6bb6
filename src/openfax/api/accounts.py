"""The accounts and security routes: FAXCOMEX ``FaxAccountSet``, ``CurrentAccount``,
``FaxSecurity2`` (granted rights, grants), ``AutoCreateAccountOnConnect``,
``IncomingFaxesArePublic`` and ``FaxIncomingMessage.ReAssign``.

Account names go in paths URL-encoded (``domain\\user`` is ``domain%5Cuser``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from openfax.api.auth import Caller
from openfax.api.models import MESSAGE, RecordModel, record_response
from openfax.api.rights import Authenticated, ManageConfig, ManageReceiveFolder, QueryConfig
from openfax.errors import AccessDeniedError
from openfax.model import AccessRights2, legacy_rights, parse_id
from openfax.model.records import ID_PATTERN, MessageInfo, Sender, UtcTime, person_fields
from openfax.service import FaxService
from openfax.service.accounts import MAX_NAME, AccountInfo, Accounts, TokenInfo

TAGS: list[Any] = ["accounts and security"]
AccountName = Annotated[str, PathParam(min_length=1, max_length=MAX_NAME)]
Principal = Annotated[str, PathParam(min_length=1, max_length=MAX_NAME + 1)]
Rights = Annotated[int, Field(ge=0, le=0x3FF, description="FAX_ACCESS_RIGHTS_ENUM_2 bits")]


class AccountModel(RecordModel):
    """FAXCOMEX ``FaxAccount``: its name; what an administrator sees of it."""

    account_name: str
    created_at: UtcTime
    has_password: bool
    granted_rights: Rights | None = Field(description="its own grant; null: the defaults")

    @classmethod
    def of(cls, info: AccountInfo) -> AccountModel:
        granted = None if info.granted is None else int(info.granted)
        return cls.read(info, granted_rights=granted)


class NewAccount(BaseModel):
    """``AddAccount(name)``, with a password for remote sign-in if given."""

    account_name: str = Field(min_length=1, max_length=MAX_NAME)
    password: str | None = Field(default=None, min_length=1, max_length=1024)


class CurrentAccountModel(BaseModel):
    """``FaxServer.CurrentAccount``: the caller's account and the rights it holds."""

    account_name: str
    granted_rights: Rights
    local: bool


class SecurityModel(BaseModel):
    """``FaxSecurity2.GrantedRights`` (and the older ``FaxSecurity``'s) of the caller, and
    the account settings of ``FaxConfiguration``."""

    granted_rights: Rights
    granted_rights_legacy: int = Field(description="FAX_ACCESS_RIGHTS_ENUM bits")
    auto_create_account_on_connect: bool
    incoming_faxes_are_public: bool


class SecurityPatch(BaseModel):
    auto_create_account_on_connect: bool | None = None
    incoming_faxes_are_public: bool | None = None


class GrantsModel(BaseModel):
    """``FaxSecurity2``'s descriptor: the rights of each account (null: the defaults) and of
    each Unix group (added to its members'), and the administrators."""

    defaults: Rights
    accounts: dict[str, Rights | None]
    groups: dict[str, Rights]
    administrators: list[str] = Field(
        description="Unix users who hold every right on the local socket, whatever their grant"
    )


class GrantModel(BaseModel):
    """The rights to grant; null gives an account the defaults back, or takes a group's
    grant away."""

    rights: Rights | None


class PasswordModel(BaseModel):
    """A new password; null removes it (no password sign-in)."""

    password: str | None = Field(min_length=1, max_length=1024)


class TokenModel(BaseModel):
    """An API token of an account; ``token`` is its text, given only when it is made."""

    id: str
    label: str
    created_at: UtcTime
    token: str | None = None

    @classmethod
    def of(cls, info: TokenInfo, token: str | None = None) -> TokenModel:
        return cls(id=f"{info.id:016x}", label=info.label, created_at=info.created_at, token=token)


class NewToken(BaseModel):
    label: str = Field(default="", max_length=200)


class ReassignModel(BaseModel):
    """``ReAssign()``: the account the received fax now belongs to."""

    account_name: str = Field(min_length=1, max_length=MAX_NAME)


def _self_or_admin(who: Caller, name: str) -> None:
    """An account manages its own password and tokens; others' need far2MANAGE_CONFIG."""
    if name != who.name and not who.holds(AccessRights2.MANAGE_CONFIG):
        raise AccessDeniedError(
            f"account {who.name!r} lacks far2MANAGE_CONFIG to manage account {name!r}"
        )


def accounts_routes(service: FaxService) -> APIRouter:
    """The routes, to include under ``/v1``."""
    api = APIRouter(tags=TAGS)

    def accounts() -> Accounts:
        return service.accounts

    @api.get("/account")
    async def current_account(who: Authenticated) -> CurrentAccountModel:
        """``FaxServer.CurrentAccount``."""
        return CurrentAccountModel(
            account_name=who.name, granted_rights=int(who.rights), local=who.local
        )

    @api.get("/account/default-sender")
    async def get_default_sender(who: Authenticated) -> Sender:
        """``FaxSender.LoadDefaultSender()``: the caller's account's default sender (every
        field empty until one is saved)."""
        return Sender.of(await accounts().get_default_sender(who.account_id))

    @api.put("/account/default-sender", status_code=204, response_class=Response)
    async def put_default_sender(sender: Sender, who: Authenticated) -> None:
        """``FaxSender.SaveDefaultSender()``: keep the sender as the caller's account's
        default; the fields left out are saved empty."""
        await accounts().save_default_sender(who.account_id, person_fields(sender))

    @api.get("/security")
    async def get_security(who: Authenticated) -> SecurityModel:
        """``FaxSecurity2.GrantedRights`` of the caller and the account settings."""
        settings = accounts().settings
        return SecurityModel(
            granted_rights=int(who.rights),
            granted_rights_legacy=int(legacy_rights(who.rights)),
            auto_create_account_on_connect=settings.auto_create_account_on_connect,
            incoming_faxes_are_public=settings.incoming_faxes_are_public,
        )

    @api.patch("/security")
    async def patch_security(change: SecurityPatch, who: ManageConfig) -> SecurityModel:
        settings = await accounts().save_settings(
            auto_create_account_on_connect=change.auto_create_account_on_connect,
            incoming_faxes_are_public=change.incoming_faxes_are_public,
            actor=who.name,
        )
        return SecurityModel(
            granted_rights=int(who.rights),
            granted_rights_legacy=int(legacy_rights(who.rights)),
            auto_create_account_on_connect=settings.auto_create_account_on_connect,
            incoming_faxes_are_public=settings.incoming_faxes_are_public,
        )

    @api.get("/security/grants")
    async def get_grants(who: ManageConfig) -> GrantsModel:
        """``FaxSecurity2`` (administrators only): who is granted what."""
        grants = await accounts().get_grants()
        return GrantsModel(
            defaults=int(grants.defaults),
            accounts={k: None if v is None else int(v) for k, v in grants.accounts.items()},
            groups={k: int(v) for k, v in grants.groups.items()},
            administrators=list(grants.administrators),
        )

    @api.put("/security/grants/{principal}", status_code=204, response_class=Response)
    async def put_grant(principal: Principal, grant: GrantModel, who: ManageConfig) -> None:
        """Grant an account (by name) or a Unix group (``@group``) rights."""
        rights = None if grant.rights is None else AccessRights2(grant.rights)
        await accounts().grant(principal, rights, actor=who.name)

    @api.get("/accounts")
    async def get_accounts(who: QueryConfig) -> list[AccountModel]:
        """``FaxAccountSet.GetAccounts()``."""
        return [AccountModel.of(info) for info in await accounts().get_accounts()]

    @api.post("/accounts", status_code=201)
    async def add_account(account: NewAccount, who: ManageConfig) -> AccountModel:
        """``FaxAccountSet.AddAccount(name)``: the default rights, the password given."""
        added = await accounts().add_account(account.account_name, account.password, actor=who.name)
        return AccountModel.of(added)

    @api.get("/accounts/{name}")
    async def get_account(name: AccountName, who: QueryConfig) -> AccountModel:
        """``FaxAccountSet.GetAccount(name)``."""
        return AccountModel.of(await accounts().get_account(name))

    @api.delete("/accounts/{name}", status_code=204, response_class=Response)
    async def remove_account(name: AccountName, who: ManageConfig) -> None:
        """``FaxAccountSet.RemoveAccount(name)``: its tokens go, its faxes stay."""
        await accounts().remove_account(name, actor=who.name)

    @api.put("/accounts/{name}/password", status_code=204, response_class=Response)
    async def set_password(name: AccountName, change: PasswordModel, who: Authenticated) -> None:
        """Set an account's password (one's own, or any with far2MANAGE_CONFIG)."""
        _self_or_admin(who, name)
        await accounts().set_password(name, change.password, actor=who.name)

    @api.get("/accounts/{name}/tokens")
    async def get_tokens(name: AccountName, who: Authenticated) -> list[TokenModel]:
        _self_or_admin(who, name)
        return [TokenModel.of(info) for info in await accounts().get_tokens(name)]

    @api.post("/accounts/{name}/tokens", status_code=201)
    async def add_token(name: AccountName, new: NewToken, who: Authenticated) -> TokenModel:
        """A new API token of the account; its text is in this answer only."""
        _self_or_admin(who, name)
        info, token = await accounts().add_token(name, new.label, actor=who.name)
        return TokenModel.of(info, token)

    @api.delete("/accounts/{name}/tokens/{token_id}", status_code=204, response_class=Response)
    async def revoke_token(
        name: AccountName,
        token_id: Annotated[str, PathParam(pattern=ID_PATTERN)],
        who: Authenticated,
    ) -> None:
        _self_or_admin(who, name)
        await accounts().revoke_token(name, parse_id(token_id), actor=who.name)

    @api.post(
        "/incoming-messages/{message_id}/reassign",
        tags=["incoming archive"],
        response_model=MessageInfo,
    )
    async def reassign(
        message_id: Annotated[str, PathParam(pattern=ID_PATTERN)],
        change: ReassignModel,
        who: ManageReceiveFolder,
    ) -> Response:
        """``FaxIncomingMessage.ReAssign()``: the fax becomes the account's (while incoming
        faxes are not public; 409 InvalidOperationError otherwise)."""
        message = await accounts().reassign(parse_id(message_id), change.account_name, who.name)
        return record_response(MESSAGE, message)

    return api
