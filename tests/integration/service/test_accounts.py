"""Accounts in the service on both stores: the sign-in caches keep only what signed in and
are bounded; failed sign-ins, of unknown accounts alike, are throttled and audited."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from openfax.errors import SignInThrottledError
from openfax.service import FaxService, ManualClock
from openfax.service.accounts import (
    FIRST_DELAY,
    FREE_FAILURES,
    MOST_DELAY,
    ExpiringCache,
    SignInThrottle,
    new_token,
)

from .conftest import MakeConfig

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
    assert principal is not None
    assert principal.name == "alice"
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
    assert stale.get(1) is None
    assert len(stale) == 0


def test_the_sign_in_throttle_doubles_its_delay_and_forgets_on_success() -> None:
    throttle = SignInThrottle()
    for _ in range(FREE_FAILURES):
        assert throttle.failed("account:a", "address:x") == {}
    assert throttle.wait("account:a") == 0
    assert throttle.failed("account:a") == {"account:a": (FREE_FAILURES + 1, FIRST_DELAY)}
    assert 0 < throttle.wait("account:a", "address:y") <= FIRST_DELAY
    assert throttle.failed("account:a")["account:a"][1] == 2 * FIRST_DELAY
    for _ in range(2000):  # an attack of weeks: the delay stays a number
        delays = throttle.failed("account:a")
    assert delays["account:a"][1] == MOST_DELAY
    throttle.succeeded("account:a")
    assert throttle.wait("account:a") == 0
    assert throttle.failed("account:a") == {}


async def test_an_unknown_account_and_a_wrong_password_are_answered_alike_and_throttled(
    tmp_path: Path, clock: ManualClock, make_config: MakeConfig
) -> None:
    # The first delay a minute, not a second: the attempt after it comes within it, however
    # long a loaded machine takes to check the password before (the delay is wall time).
    config = make_config(tmp_path / "data", api={"sign_in_delay_seconds": 60})
    async with FaxService(config, clock=clock) as service:
        accounts = service.accounts
        await accounts.add_account("alice", "secret")
        for _ in range(FREE_FAILURES):
            assert await accounts.sign_in_password("alice", "wrong", "10.0.0.1") is None
            assert await accounts.sign_in_password("nobody", "wrong", "10.0.0.2") is None

        async def sign_in_twice(name: str) -> None:
            for _ in range(2):
                await accounts.sign_in_password(name, "wrong", "10.0.0.3")

        for name in ("alice", "nobody"):
            with pytest.raises(SignInThrottledError):
                await sign_in_twice(name)
        # The right password is not checked while alice must wait.
        with pytest.raises(SignInThrottledError) as raised:
            await accounts.sign_in_password("alice", "secret", "10.0.0.4")
        assert raised.value.retry_after >= 1
        entries = await service.options.get_audit(None, 0, 100)
    throttled = {e.object_id for e in entries if e.action == "sign_in_throttled"}
    assert throttled == {"account:alice", "account:nobody"}


async def test_guesses_sent_all_at_once_wait_like_guesses_in_a_row(service: FaxService) -> None:
    accounts = service.accounts
    await accounts.add_account("alice", "secret")
    guesses = [accounts.sign_in_password("alice", f"guess{n}", "10.0.0.9") for n in range(20)]
    answers = await asyncio.gather(*guesses, return_exceptions=True)
    checked = [a for a in answers if a is None]
    assert len(checked) == FREE_FAILURES + 1
    assert all(isinstance(a, SignInThrottledError) for a in answers if a is not None)
