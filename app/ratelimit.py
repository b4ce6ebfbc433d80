"""Attempt counters in Redis with a fixed window (login attempts now, public posting later).

An attempt is counted before the work it guards, in the same atomic step as the check, so
simultaneous attempts cannot all slip under a limit; counters meant for failures only get
the attempt back afterwards when it succeeds (`take_back`, `clear`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import redis.asyncio as aioredis

log = logging.getLogger(__name__)

# A Redis fault lets the attempt through (logged): Redis carries no durable state, and a
# login outage is worse than a short gap in throttling.

# KEYS: the counters; ARGV[1]: the window in seconds, ARGV[1 + i]: KEYS[i]'s limit (0: never refuses).
# Refused: nothing is counted, returns {seconds until the fullest counter's window ends}.
# Admitted: every counter goes up by one, its window starting with its first count; returns {0, counts...}.
_COUNT = """
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[i + 1])
  if limit > 0 and tonumber(redis.call('GET', key) or '0') >= limit then
    wait = math.max(wait, redis.call('TTL', key), 1)
  end
end
if wait > 0 then return {wait} end
local counts = {0}
for i, key in ipairs(KEYS) do
  counts[i + 1] = redis.call('INCR', key)
  redis.call('EXPIRE', key, ARGV[1], 'NX')
end
return counts
"""

# Down by one where still counting; never creates a counter (one without an expiry would live forever).
_TAKE_BACK = """
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
"""

FIRST_DELAY_SECONDS = 0.25


@dataclass(frozen=True)
class Attempt:
    retry_after: int | None  # refused: seconds to wait (and nothing was counted); None: go ahead
    counts: tuple[int, ...]  # each counter's count with this attempt; zeros when refused or Redis failed


def _key(name: str) -> str:
    return f"samsyn:rl:{name}"


async def count(redis: aioredis.Redis | None, limits: list[tuple[str, int | None]],
                window_seconds: int) -> Attempt:
    """Count one attempt on every (name, limit) counter at once, unless one has reached its limit."""
    zeros = (0,) * len(limits)
    if redis is None:
        return Attempt(None, zeros)
    try:
        result = await redis.register_script(_COUNT)(
            keys=[_key(name) for name, _ in limits], args=[window_seconds, *(limit or 0 for _, limit in limits)])
    except Exception as exc:  # noqa: BLE001
        log.warning("rate limit count failed", extra={"error": repr(exc)})
        return Attempt(None, zeros)
    if result[0]:
        return Attempt(int(result[0]), zeros)
    return Attempt(None, tuple(int(n) for n in result[1:]))


def backoff(count: int, after: int, cap: float) -> float:
    """Seconds to hold back the count-th attempt: none up to `after`, then 0.25 s doubling, at most `cap`."""
    if count <= after:
        return 0
    return min(cap, FIRST_DELAY_SECONDS * 2 ** min(count - after - 1, 32))


async def take_back(redis: aioredis.Redis | None, names: list[str]) -> None:
    """Undo one counted attempt on these counters (it succeeded, and they count only failures)."""
    if redis is None:
        return
    try:
        await redis.register_script(_TAKE_BACK)(keys=[_key(name) for name in names])
    except Exception as exc:  # noqa: BLE001
        log.warning("rate limit take-back failed", extra={"error": repr(exc)})


async def clear(redis: aioredis.Redis | None, name: str) -> None:
    """Forget a counter altogether."""
    if redis is None:
        return
    try:
        await redis.delete(_key(name))
    except Exception as exc:  # noqa: BLE001
        log.warning("rate limit clear failed", extra={"error": repr(exc)})
