"""Fixed-window rate limits kept in Redis (login attempts now, public posting later)."""
from __future__ import annotations

import logging

import redis.asyncio as aioredis

log = logging.getLogger(__name__)


async def hit(redis: aioredis.Redis | None, key: str, limit: int, window_seconds: int) -> int | None:
    """Count one attempt; returns seconds to wait when over the limit, else None.

    A Redis fault lets the attempt through (logged): Redis carries no durable state, and a
    login outage is worse than a short gap in throttling.
    """
    if redis is None:
        return None
    full_key = f"samsyn:rl:{key}"
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(full_key)
            pipe.expire(full_key, window_seconds, nx=True)
            pipe.ttl(full_key)
            count, _, ttl = await pipe.execute()
    except Exception as exc:  # noqa: BLE001
        log.warning("rate limit check failed", extra={"key": key, "error": repr(exc)})
        return None
    if count > limit:
        return max(int(ttl), 1)
    return None


async def clear(redis: aioredis.Redis | None, key: str) -> None:
    if redis is None:
        return
    try:
        await redis.delete(f"samsyn:rl:{key}")
    except Exception:  # noqa: BLE001
        pass
