"""Accounts in the service on both stores: the sign-in caches keep only what signed in and
are bounded."""

from __future__ import annotations

import pytest

from openfax.service import FaxService
from openfax.service.accounts import ExpiringCache, new_token

pytestmark = pytest.mark.anyio


async def test_unknown_tokens_are_not_cached_and_known_ones_stay_bounded(
    service: FaxService,
) -> None:
    accounts = service.accounts
    for _ in range(500):
        assert await accounts.sign_in_token(new_token()) is None
    assert len(accounts._tokens) == 0
    await accounts.add_account("alice")
    _, token = await accounts.add_token("alice")
    principal = await accounts.sign_in_token(token)
    assert principal is not None and principal.name == "alice"
    assert len(accounts._tokens) == 1


def test_an_expiring_cache_forgets_its_least_recently_used_entry_when_full() -> None:
    cache: ExpiringCache[int, str] = ExpiringCache(60.0, size=3)
    for key in range(3):
        cache.put(key, str(key))
    assert cache.get(0) == "0"  # 0 is now the most recently used
    cache.put(3, "3")
    assert len(cache) == 3
    assert cache.get(1) is None
    assert [cache.get(k) for k in (0, 2, 3)] == ["0", "2", "3"]
    stale: ExpiringCache[int, str] = ExpiringCache(0.0)
    stale.put(1, "1")
    assert stale.get(1) is None and len(stale) == 0
