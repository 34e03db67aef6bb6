"""``openfax accounts`` and ``openfax rights``: fax accounts, their passwords and API tokens,
and the access rights granted to accounts and Unix groups (FAXCOMEX ``FaxAccountSet`` and
``FaxSecurity2``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from openfax.cli.fax import connected, print_rows
from openfax.cli.options import ask_password, json_option, listing, on_server, server_options
from openfax.model import ALL_RIGHTS, AccessRights2

if TYPE_CHECKING:
    from openfax.client import FaxServer

ACCOUNT_COLUMNS = ("account", "password", "rights", "created")
GRANT_COLUMNS = ("principal", "rights")
ADMINISTRATOR = "ALL (local administrator)"
"""What an administrator holds on the local socket, whatever its account's grant."""


def rights_text(rights: AccessRights2 | None) -> str:
    """Rights as their names (``SUBMIT_LOW|QUERY_CONFIG``), ``ALL``, ``NONE`` or
    ``defaults`` (None)."""
    if rights is None:
        return "defaults"
    if rights == ALL_RIGHTS:
        return "ALL"
    return "|".join(member.name or "" for member in rights) or "NONE"


def parse_rights(names: tuple[str, ...]) -> AccessRights2:
    """Right names (any case, ``far2`` prefix allowed, ``all``) as a mask."""
    rights = AccessRights2(0)
    for name in names:
        key = name.upper().removeprefix("FAR2").removeprefix("_")
        if key == "ALL":
            rights |= ALL_RIGHTS
            continue
        try:
            rights |= AccessRights2[key]
        except KeyError:
            known = ", ".join(m.name or "" for m in AccessRights2)
            raise click.BadParameter(f"no access right {name!r} (rights: {known}, ALL)") from None
    return rights


@click.group()
def accounts() -> None:
    """Fax accounts: who submits, owns and sees faxes."""


@accounts.command("list")
@listing("Accounts", ACCOUNT_COLUMNS)
def list_accounts(server: FaxServer) -> list[dict[str, Any]]:
    """Show every account, whether it has a password, and its granted rights."""
    return [
        {
            "account": account.account_name,
            "password": "yes" if account.has_password else "no",
            "rights": rights_text(account.granted_rights),
            "created": "" if account.created_at is None else account.created_at.isoformat(),
        }
        for account in server.fax_account_set.get_accounts()
    ]


@accounts.command("add")
@click.argument("name")
@click.option("--password", "ask", is_flag=True, help="Ask for a password (remote sign-in).")
@json_option
@server_options
def add_account(name: str, ask: bool, as_json: bool, server_name: str, token: str | None) -> None:
    """Add the account NAME (a Unix user's name for local use) with the default rights."""
    password = ask_password() if ask else None
    with connected(server_name, token) as server:
        account = server.fax_account_set.add_account(name, password)
        row = {
            "account": account.account_name,
            "password": "yes" if account.has_password else "no",
            "rights": rights_text(account.granted_rights),
            "created": "" if account.created_at is None else account.created_at.isoformat(),
        }
    print_rows([row], ACCOUNT_COLUMNS, "Account added", as_json)


@accounts.command("remove")
@click.argument("name")
@on_server
def remove_account(server: FaxServer, name: str, as_json: bool) -> None:
    """Remove the account NAME and its tokens (its faxes stay)."""
    server.fax_account_set.remove_account(name)
    _done(as_json, f"Account {name} removed", account=name, removed=True)


@accounts.command("passwd")
@click.argument("name")
@click.option("--remove", is_flag=True, help="Remove the password: no password sign-in.")
@json_option
@server_options
def passwd(name: str, remove: bool, as_json: bool, server_name: str, token: str | None) -> None:
    """Set the password of the account NAME (one's own, or any as an administrator)."""
    password = None if remove else ask_password()
    with connected(server_name, token) as server:
        server.fax_account_set.get_account(name).set_password(password)
    text = f"Password of {name} {'removed' if remove else 'set'}"
    _done(as_json, text, account=name, password=not remove)


@accounts.command("token")
@click.argument("name")
@click.option("--label", default="", help="What the new token is for.")
@click.option("--list", "listing", is_flag=True, help="List the account's tokens instead.")
@click.option("--revoke", "revoke", metavar="ID", help="Revoke the token with this id instead.")
@on_server
def token_command(
    server: FaxServer, name: str, label: str, listing: bool, revoke: str | None, as_json: bool
) -> None:
    """Make an API token for the account NAME and print it (shown this once), or list or
    revoke its tokens."""
    account = server.fax_account_set.get_account(name)
    if revoke is not None:
        account.revoke_token(revoke)
        _done(as_json, f"Token {revoke} of {name} revoked", id=revoke, revoked=True)
        return
    if listing:
        rows = [
            {"id": t["id"], "label": t["label"], "created": t["created_at"]}
            for t in account.get_tokens()
        ]
        print_rows(rows, ("id", "label", "created"), f"Tokens of {name}", as_json)
        return
    token_id, text = account.add_token(label)
    if as_json:
        import json

        click.echo(json.dumps({"id": token_id, "token": text}))
    else:
        click.echo(text)


SETTINGS = ("auto_create_account_on_connect", "incoming_faxes_are_public")


@accounts.command("settings")
@click.argument("settings", nargs=-1)
@json_option
@server_options
def settings_command(
    settings: tuple[str, ...], as_json: bool, server_name: str, token: str | None
) -> None:
    """Show the account settings, or change them with NAME=true|false
    (auto_create_account_on_connect, incoming_faxes_are_public)."""
    changes: dict[str, bool] = {}
    for text in settings:
        name, _, value = text.partition("=")
        if name not in SETTINGS or value.lower() not in ("true", "false"):
            raise click.BadParameter(f"{text!r} is not one of {', '.join(SETTINGS)} =true|false")
        changes[name] = value.lower() == "true"
    with connected(server_name, token) as server:
        security = server.security2
        if changes:
            security.save(**changes)
        values = {name: getattr(security, name) for name in SETTINGS}
    if as_json:
        import json

        click.echo(json.dumps(values))
        return
    rows = [{"setting": k, "value": v} for k, v in values.items()]
    print_rows(rows, ("setting", "value"), "Account settings", False)


@accounts.command("reassign")
@click.argument("message_id")
@click.argument("name")
@on_server
def reassign(server: FaxServer, message_id: str, name: str, as_json: bool) -> None:
    """Give the received fax MESSAGE_ID to the account NAME (incoming faxes not public)."""
    server.folders.incoming_archive.get_message(message_id).reassign(name)
    _done(as_json, f"Fax {message_id} reassigned to {name}", id=message_id, account=name)


@click.group()
def rights() -> None:
    """Access rights (FAX_ACCESS_RIGHTS_ENUM_2) of accounts and Unix groups (@group)."""


@rights.command("show")
@click.option("--all", "everyone", is_flag=True, help="Every grant (administrators).")
@on_server
def show(server: FaxServer, everyone: bool, as_json: bool) -> None:
    """Show the rights this connection's account holds, or every grant with --all."""
    if everyone:
        rows = _grant_rows(server)
        title = "Grants"
    else:
        account = server.current_account
        rows = [{"principal": account.account_name, "rights": rights_text(account.granted_rights)}]
        title = "Rights held"
    print_rows(rows, GRANT_COLUMNS, title, as_json)


def _grant_rows(server: FaxServer) -> list[dict[str, Any]]:
    """Every grant, the administrators (with or without an account yet) as such."""
    grants = server.security2.get_grants()
    administrators = grants["administrators"]
    rows = [{"principal": "(defaults)", "rights": rights_text(grants["defaults"])}]
    rows += [
        {"principal": k, "rights": ADMINISTRATOR if k in administrators else rights_text(v)}
        for k, v in grants["accounts"].items()
    ]
    rows += [
        {"principal": k, "rights": ADMINISTRATOR}
        for k in administrators
        if k not in grants["accounts"]
    ]
    rows += [{"principal": f"@{k}", "rights": rights_text(v)} for k, v in grants["groups"].items()]
    return rows


@rights.command("grant")
@click.argument("principal")
@click.argument("names", nargs=-1, required=True)
@click.option("--exactly", is_flag=True, help="Grant only these rights (replace the grant).")
@json_option
@server_options
def grant(
    principal: str,
    names: tuple[str, ...],
    exactly: bool,
    as_json: bool,
    server_name: str,
    token: str | None,
) -> None:
    """Grant PRINCIPAL (an account, or @group) the rights NAMES (SUBMIT_LOW ... ALL), added
    to what it has unless --exactly."""
    added = parse_rights(names)
    with connected(server_name, token) as server:
        security = server.security2
        current = None if exactly else _granted(security.get_grants(), principal)
        security.grant(principal, added if current is None else current | added)
        now = _granted(security.get_grants(), principal)
    _show_grant(as_json, principal, now)


@rights.command("revoke")
@click.argument("principal")
@click.argument("names", nargs=-1)
@on_server
def revoke(server: FaxServer, principal: str, names: tuple[str, ...], as_json: bool) -> None:
    """Take the rights NAMES from PRINCIPAL; without NAMES, an account gets the defaults
    back and a group loses its grant."""
    security = server.security2
    if names:
        current = _granted(security.get_grants(), principal)
        security.grant(principal, (current or AccessRights2(0)) & ~parse_rights(names))
    else:
        security.grant(principal, None)
    now = _granted(security.get_grants(), principal)
    _show_grant(as_json, principal, now)


def _show_grant(as_json: bool, principal: str, rights: AccessRights2 | None) -> None:
    """A principal's grant after a change: ``name: RIGHTS``, or JSON (rights null: no
    group grant)."""
    text = "no grant" if rights is None else rights_text(rights)
    _done(
        as_json,
        f"{principal}: {text}",
        principal=principal,
        rights=None if rights is None else text,
    )


def _done(as_json: bool, text: str, **result: Any) -> None:
    """What a command did: one line, or one JSON object with --json."""
    if as_json:
        import json

        click.echo(json.dumps(result))
    else:
        click.echo(text)


def _granted(grants: dict[str, Any], principal: str) -> AccessRights2 | None:
    """A principal's grant: a group's (None: no grant), an account's (its defaults when it
    has none of its own); AccountNotFoundError-like click error for an unknown account."""
    if principal.startswith("@"):
        found: AccessRights2 | None = grants["groups"].get(principal[1:])
        return found
    if principal not in grants["accounts"]:
        raise click.ClickException(f"no fax account named {principal!r}")
    own: AccessRights2 | None = grants["accounts"][principal]
    return grants["defaults"] if own is None else own
