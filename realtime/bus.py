"""The doorbell: one Redis pub/sub connection per web process, subscribed to the channel of each
organisation this process holds sockets for.

A message carries one committed event (org, seq, kind, payload), or says "presence on conversation C
changed" (realtime/presence.py). The hub takes an event as carried when it is the next one it lacks and
reads the rest from PostgreSQL, the truth: pub/sub is at-most-once, so after every (re)connect the hub
is told to catch up from the database, and its heartbeat catches a publish that never came.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Callable

import redis.asyncio as aioredis

from app.db import SESSIONS_CHANNEL, events_channel

log = logging.getLogger(__name__)

RETRY_SECONDS = (0.2, 0.5, 1, 2, 5)  # back-off while Redis is away


class Bus:
    def __init__(self, redis_url: str, on_event: Callable[[dict], None], on_reconnect: Callable[[], None],
                 on_sessions: Callable[[dict], None]):
        # No read timeout: the subscriber sits idle between events by design.
        self.redis = aioredis.from_url(redis_url, socket_connect_timeout=1)
        self.on_event, self.on_reconnect, self.on_sessions = on_event, on_reconnect, on_sessions
        self.orgs: set[int] = set()
        self.pubsub = None
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="realtime-bus")

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await self.redis.aclose()

    async def subscribe(self, org_id: int) -> None:
        self.orgs.add(org_id)
        await self._tell("subscribe", org_id)

    async def unsubscribe(self, org_id: int) -> None:
        self.orgs.discard(org_id)
        await self._tell("unsubscribe", org_id)

    async def _tell(self, command: str, org_id: int) -> None:
        # While Redis is away the reconnect subscribes to self.orgs, so a failure here loses nothing.
        if self.pubsub is not None:
            try:
                await getattr(self.pubsub, command)(events_channel(org_id))
            except Exception as exc:  # noqa: BLE001 - Redis trouble: the reader reconnects
                log.warning("bus %s failed", command, extra={"org_id": org_id, "error": repr(exc)})

    async def _run(self) -> None:
        failures = 0
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.ping()  # connect now, so a Redis outage shows here
                await pubsub.subscribe(SESSIONS_CHANNEL)
                subscribed: set[int] = set()
                # rooms opened while this ran were not told to a pubsub: subscribe them before taking over
                while missing := self.orgs - subscribed:
                    subscribed |= missing
                    await pubsub.subscribe(*(events_channel(o) for o in missing))
                self.pubsub = pubsub
                self.on_reconnect()  # what was published while we were away is in PostgreSQL
                failures = 0
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message and message["type"] == "message":
                        self._ring(message["channel"], message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any Redis fault: reconnect with back-off
                log.warning("bus connection lost", extra={"error": repr(exc)})
                self.pubsub = None
                await asyncio.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
                failures += 1
            finally:
                self.pubsub = None
                await asyncio.shield(pubsub.aclose())

    def _ring(self, channel: bytes, data: bytes) -> None:
        try:
            message = json.loads(data)
            if channel == SESSIONS_CHANNEL.encode():
                self.on_sessions(message)
            else:
                message["org_id"] = int(message["org_id"])
                self.on_event(message)
        except (ValueError, KeyError, TypeError):
            log.warning("bus: malformed message", extra={"data": data[:200]})
