"""Who is looking at or writing on which conversation: ephemeral, in Redis, never in PostgreSQL.

One hash per organisation, a field per socket: {user_id, name, conversation_id, state, until}. The
process holding the socket refreshes its fields every heartbeat; a field whose `until` has passed
(its process died) is ignored and pruned, so a crashed process's presence fades within EXPIRE_SECONDS.
A change rings the organisation's events channel with {"org_id", "presence": conversation_id}
(no seq: presence is never stored or replayed); each hub then sends that conversation's people.
"""
from __future__ import annotations

import json
import time

import redis.asyncio as aioredis

from app.db import events_channel

EXPIRE_SECONDS = 45  # three heartbeats
STATES = ("viewing", "replying")


def _key(org_id: int) -> str:
    return f"samsyn:org:{org_id}:presence"


class Presence:
    def __init__(self, redis: aioredis.Redis):
        self.redis = redis

    async def set(self, org_id: int, socket_id: str, entry: dict) -> None:
        """Put (or refresh) one socket's presence: entry has user_id, name, conversation_id, state."""
        value = json.dumps({**entry, "until": time.time() + EXPIRE_SECONDS})
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(_key(org_id), socket_id, value)
            pipe.expire(_key(org_id), EXPIRE_SECONDS * 2)  # an organisation no one is in leaves nothing behind
            await pipe.execute()

    async def refresh(self, org_id: int, entries: dict[str, dict]) -> None:
        if entries:
            until = time.time() + EXPIRE_SECONDS
            mapping = {sid: json.dumps({**entry, "until": until}) for sid, entry in entries.items()}
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hset(_key(org_id), mapping=mapping)
                pipe.expire(_key(org_id), EXPIRE_SECONDS * 2)
                await pipe.execute()

    async def remove(self, org_id: int, socket_id: str) -> None:
        await self.redis.hdel(_key(org_id), socket_id)

    async def ring(self, org_id: int, conversation_id: int) -> None:
        await self.redis.publish(events_channel(org_id), json.dumps({"org_id": org_id, "presence": conversation_id}))

    async def everyone(self, org_id: int) -> dict[int, list[dict]]:
        """The people on each conversation now: one entry per person, writing before viewing."""
        now, found = time.time(), {}
        for raw in (await self.redis.hgetall(_key(org_id))).values():
            entry = json.loads(raw)
            if entry["until"] > now:
                found.setdefault(entry["conversation_id"], []).append(entry)
        return {conversation_id: _people(entries) for conversation_id, entries in found.items()}

    async def prune(self, org_id: int) -> set[int]:
        """Remove the entries whose process stopped refreshing them; the conversations they were on."""
        now, gone = time.time(), set()
        for socket_id, raw in (await self.redis.hgetall(_key(org_id))).items():
            entry = json.loads(raw)
            # only the process that removes it rings, so several pruning at once ring once
            if entry["until"] <= now and await self.redis.hdel(_key(org_id), socket_id):
                gone.add(entry["conversation_id"])
        return gone


def _people(entries: list[dict]) -> list[dict]:
    by_person: dict[int, dict] = {}
    for e in entries:
        kept = by_person.get(e["user_id"])
        if kept is None or (e["state"] == "replying" and kept["state"] != "replying"):
            by_person[e["user_id"]] = {"user_id": e["user_id"], "name": e["name"], "state": e["state"]}
    return sorted(by_person.values(), key=lambda p: p["name"])
