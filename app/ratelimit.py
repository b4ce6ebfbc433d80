"""Failure counters in Redis with a fixed window (login attempts now, public posting later)."""
from __future__ import annotations

import logging

import redis.asyncio as aioredis

log = logging.getLogger(__name__)

# A Redis fault lets the attempt through (logged): Redis carries no durable state, and a
# login outage is worse than a short gap in throttling.


def _key(name: str) -> str:
    return f"samsyn:rl:{name}"


async def retry_after(redis: aioredis.Redis | None, limits: list[tuple[str, int]]) -> int | None:
    """Seconds to wait if any counter has reached its limit, else None."""
    if redis is None:
        return None
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for name, _ in limits:
                pipe.get(_key(name))
                pipe.ttl(_key(name))
            values = await pipe.execute()
    except Exception as exc:  # noqa: BLE001
        log.warning("rate limit check failed", extra={"error": repr(exc)})
        return None
    waits = [max(int(ttl), 1) for (_, limit), count, ttl in zip(limits, values[::2], values[1::2], strict=True)
             if count is not None and int(count) >= limit]
    return max(waits) if waits else None


async def count_failure(redis: aioredis.Redis | None, names: list[str], window_seconds: int) -> None:
    if redis is None:
        return
    try:
        async with redis.pipeline(transaction=True) as pipe:
            for name in names:
                pipe.incr(_key(name))
                pipe.expire(_key(name), window_seconds, nx=True)
            await pipe.execute()
    except Exception as exc:  # noqa: BLE001
        log.warning("rate limit count failed", extra={"error": repr(exc)})


async def clear(redis: aioredis.Redis | None, name: str) -> None:
    if redis is None:
        return
    try:
        await redis.delete(_key(name))
    except Exception:  # noqa: BLE001
        pass
