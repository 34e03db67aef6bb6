"""Outbound routing: the groups of devices and the rules by country and area code."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from openfax.store.queries._shared import dialect_insert
from openfax.store.records import OutboundGroup, OutboundRule, values
from openfax.store.schema import outbound_groups, outbound_rules


async def list_outbound_groups(conn: AsyncConnection) -> list[OutboundGroup]:
    """The stored outbound routing groups, by name."""
    rows = await conn.execute(select(outbound_groups).order_by(outbound_groups.c.name))
    return [OutboundGroup(name=row.name, device_ids=list(row.device_ids)) for row in rows]


async def put_outbound_group(conn: AsyncConnection, group: OutboundGroup) -> None:
    """Store a group, replacing the one of that name."""
    statement = dialect_insert(conn, outbound_groups).values(values(group))
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["name"], set_={"device_ids": statement.excluded.device_ids}
        )
    )


async def delete_outbound_group(conn: AsyncConnection, name: str) -> bool:
    """Remove a group; False if there was none of that name."""
    result = await conn.execute(delete(outbound_groups).where(outbound_groups.c.name == name))
    return bool(result.rowcount)


async def list_outbound_rules(conn: AsyncConnection) -> list[OutboundRule]:
    """The stored outbound routing rules, by country code then area code."""
    query = select(outbound_rules).order_by(
        outbound_rules.c.country_code, outbound_rules.c.area_code
    )
    return [OutboundRule(**row._mapping) for row in await conn.execute(query)]


async def put_outbound_rule(conn: AsyncConnection, rule: OutboundRule) -> None:
    """Store a rule, replacing the one for the same country and area code."""
    statement = dialect_insert(conn, outbound_rules).values(values(rule))
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["country_code", "area_code"],
            set_={
                "group_name": statement.excluded.group_name,
                "device_id": statement.excluded.device_id,
                "t38_policy": statement.excluded.t38_policy,
            },
        )
    )


async def delete_outbound_rule(conn: AsyncConnection, country_code: int, area_code: int) -> bool:
    """Remove a rule; False if there was none for that country and area code."""
    result = await conn.execute(
        delete(outbound_rules).where(
            outbound_rules.c.country_code == country_code,
            outbound_rules.c.area_code == area_code,
        )
    )
    return bool(result.rowcount)
