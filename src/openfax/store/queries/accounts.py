"""Accounts, their API tokens, and the rights granted to Unix groups."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.store.queries._shared import dialect_insert, update_row
from openfax.store.records import Account, AccountToken, GroupGrant, values
from openfax.store.schema import account_tokens, accounts, group_grants


async def get_account(conn: AsyncConnection, name: str) -> Account | None:
    """The account of that name, or None."""
    row = (await conn.execute(select(accounts).where(accounts.c.name == name))).first()
    return None if row is None else Account(**row._mapping)


async def list_accounts(conn: AsyncConnection) -> list[Account]:
    """Every account, by name."""
    rows = await conn.execute(select(accounts).order_by(accounts.c.name))
    return [Account(**row._mapping) for row in rows]


async def insert_account(conn: AsyncConnection, account: Account) -> bool:
    """Add an account; False (nothing changed) if one of that name exists. (RETURNING, not
    the row count: psycopg counts -1 for an INSERT that may do nothing on conflict.)"""
    statement = dialect_insert(conn, accounts).values(values(account)).on_conflict_do_nothing()
    return await conn.scalar(statement.returning(accounts.c.name)) is not None


async def update_account(
    conn: AsyncConnection, name: str, changes: Mapping[str, Any]
) -> Account | None:
    """Change an account's password hash or rights; None if there is no such account."""
    frozen = ("name", "id", "created_at")
    row = await update_row(conn, accounts, changes, frozen, accounts.c.name == name)
    return None if row is None else Account(**row)


async def delete_account(conn: AsyncConnection, name: str) -> bool:
    """Remove an account and its tokens; False if there was none. Its faxes stay."""
    await conn.execute(delete(account_tokens).where(account_tokens.c.account_name == name))
    result = await conn.execute(delete(accounts).where(accounts.c.name == name))
    return result.rowcount == 1


async def insert_token(conn: AsyncConnection, token: AccountToken) -> None:
    """Add an API token (its hash) to an account."""
    await conn.execute(insert(account_tokens).values(values(token)))


async def list_tokens(conn: AsyncConnection, account_name: str) -> list[AccountToken]:
    """An account's tokens, oldest first."""
    query = (
        select(account_tokens)
        .where(account_tokens.c.account_name == account_name)
        .order_by(account_tokens.c.created_at, account_tokens.c.id)
    )
    return [AccountToken(**row._mapping) for row in await conn.execute(query)]


async def find_token(conn: AsyncConnection, token_hash: str) -> AccountToken | None:
    """The token with that hash, or None."""
    query = select(account_tokens).where(account_tokens.c.token_hash == token_hash)
    row = (await conn.execute(query)).first()
    return None if row is None else AccountToken(**row._mapping)


async def delete_token(conn: AsyncConnection, account_name: str, token_id: int) -> bool:
    """Revoke one of an account's tokens; False if it has no such token."""
    result = await conn.execute(
        delete(account_tokens).where(
            account_tokens.c.account_name == account_name, account_tokens.c.id == token_id
        )
    )
    return result.rowcount == 1


async def list_group_grants(conn: AsyncConnection) -> list[GroupGrant]:
    """The rights granted to Unix groups, by group."""
    rows = await conn.execute(select(group_grants).order_by(group_grants.c.group_name))
    return [GroupGrant(**row._mapping) for row in rows]


async def put_group_grant(conn: AsyncConnection, grant: GroupGrant) -> None:
    """Grant a Unix group rights, replacing what it had."""
    statement = dialect_insert(conn, group_grants).values(values(grant))
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[group_grants.c.group_name], set_={"rights": grant.rights}
        )
    )


async def delete_group_grant(conn: AsyncConnection, group_name: str) -> bool:
    """Take a Unix group's grant away; False if it had none."""
    result = await conn.execute(delete(group_grants).where(group_grants.c.group_name == group_name))
    return result.rowcount == 1
