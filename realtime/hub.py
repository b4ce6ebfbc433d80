"""This process's sockets, per organisation: render each event once, fan it out, replay what was missed.

Each organisation with sockets here has a room. The bus rings the room's bell; the room's pump
reads the events after the last one it delivered from PostgreSQL (so order and completeness
never depend on Redis), renders each once per locale with realtime/fragments.py, and puts the
same frame on the send queue of every socket allowed to see it. A socket's queue is bounded:
a socket that stops reading is closed (TOO_SLOW) and, on return, replays from its last seq.
Protocol: docs/realtime.md.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from dataclasses import dataclass, field

from starlette.websockets import WebSocket, WebSocketDisconnect

from app import accounts, conversations
from app.actors import Actor
from app.db import Database, events_after, last_seq
from app.i18n import pick_locale
from realtime.bus import Bus
from realtime.fragments import ADMINS, MEMBERS, render_event, user
from realtime.presence import STATES, Presence

log = logging.getLogger(__name__)

SESSION_CHANGED = 4001  # the session ended, or its role or organisation changed: load the page again
TOO_SLOW = 4008  # the send queue overflowed: reconnect and replay from the last seq
MAX_MESSAGE = 4096  # a client's messages are small JSON objects
# Membership changes that may take pieces away from a socket: its person must authenticate again.
REAUTH_KINDS = {"member.role_changed", "member.removed"}


def frame(kind: str, **fields) -> str:
    return json.dumps({"type": kind, **fields}, separators=(",", ":"), ensure_ascii=False)


@dataclass(eq=False)
class Client:
    """One socket: who it is, its bounded send queue, and the last seq queued for it."""

    actor: Actor
    token: str
    queue: asyncio.Queue
    cursor: int = 0
    closing: int | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    presence: dict | None = None  # {user_id, name, conversation_id, state} while on a conversation

    @property
    def locale(self) -> str:
        return pick_locale(self.actor.locale)

    def push(self, text: str) -> None:
        if self.closing is not None:
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            log.info("socket too slow, closed", extra={"user_id": self.actor.user_id})
            self.close(TOO_SLOW)

    def close(self, code: int) -> None:
        if self.closing is None:
            self.closing = code
            self.done.set()


@dataclass(eq=False)
class Room:
    org_id: int
    last: int = 0  # the last seq the pump delivered
    holders: int = 0  # sockets joined or joining
    clients: set[Client] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    bell: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None
    presence_changed: set[int] = field(default_factory=set)  # conversations whose people to send


class Hub:
    def __init__(self, db: Database, redis_url: str, *, heartbeat_seconds: float = 15.0,
                 replay_window: int = 500, queue_frames: int = 1000):
        self.db = db
        self.heartbeat_seconds, self.replay_window, self.queue_frames = heartbeat_seconds, replay_window, queue_frames
        self.rooms: dict[int, Room] = {}
        self.rooms_lock = asyncio.Lock()
        self.bus = Bus(redis_url, self._ring, self._ring_all)
        self.presence = Presence(db.redis)
        self.heartbeat_task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.bus.start()
        self.heartbeat_task = asyncio.create_task(self._heartbeats(), name="realtime-heartbeat")

    async def stop(self) -> None:
        tasks = [self.heartbeat_task, *(room.task for room in self.rooms.values())]
        for task in tasks:
            if task:
                task.cancel()
        await asyncio.gather(*(t for t in tasks if t), return_exceptions=True)
        await self.bus.stop()

    # --- one socket ---------------------------------------------------------------------------

    async def serve(self, websocket: WebSocket, actor: Actor, token: str, since: int | None) -> None:
        """Run an accepted socket until it closes: replay after `since`, then live events and heartbeats."""
        client = Client(actor, token, asyncio.Queue(self.queue_frames))
        writer = asyncio.create_task(self._write(websocket, client))  # replay streams out as it is read
        try:
            room = await self._join(client, since)
            reader = asyncio.create_task(self._read(websocket, client))
            closed = asyncio.create_task(client.done.wait())
            try:
                await asyncio.wait([writer, reader, closed], return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (reader, closed):
                    task.cancel()
                await self._absent(client)
                await self._leave(room, client)
        finally:
            writer.cancel()
        if client.closing is not None:
            # a socket that stopped reading may never take the close frame: don't wait on it for long
            with contextlib.suppress(Exception):
                await asyncio.wait_for(websocket.close(client.closing), 2)

    async def _write(self, websocket: WebSocket, client: Client) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            while True:
                await websocket.send_text(await client.queue.get())

    async def _read(self, websocket: WebSocket, client: Client) -> None:
        try:
            await self._read_messages(websocket, client)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        except Exception:  # noqa: BLE001 - e.g. PostgreSQL away mid-replay: this socket ends, it reconnects
            log.exception("realtime: socket failed", extra={"user_id": client.actor.user_id})
            client.close(1011)

    async def _read_messages(self, websocket: WebSocket, client: Client) -> None:
        """The client's messages: `replay` (it saw a gap), presence, `ping`; see docs/realtime.md."""
        while client.closing is None:
            received = await websocket.receive()
            if received["type"] == "websocket.disconnect":
                return
            text = received.get("text")
            if text is None or len(text) > MAX_MESSAGE:
                client.close(1003 if text is None else 1009)  # binary, or too big: this socket only
                return
            try:
                message = json.loads(text)
                kind = message.get("type")
            except (ValueError, AttributeError):
                client.close(1003)  # not our protocol
                return
            if kind == "replay" and isinstance(message.get("since"), int):
                await self._replay(client, message["since"], upto=client.cursor)
            elif kind in STATES and isinstance(message.get("conversation_id"), int):
                await self._present(client, kind, message["conversation_id"])
            elif kind == "left":
                await self._absent(client)
            elif kind != "ping":
                client.push(frame("error", message="unknown message type"))

    # --- rooms ----------------------------------------------------------------------------------

    async def _join(self, client: Client, since: int | None) -> Room:
        org_id = client.actor.org_id
        async with self.rooms_lock:
            room = self.rooms.get(org_id)
            if room is None:
                room = Room(org_id)
                await self.bus.subscribe(org_id)  # subscribed first, then read where we stand: no gap
                room.last = await last_seq(self.db, org_id)
                room.task = asyncio.create_task(self._pump(room), name=f"realtime-room-{org_id}")
                self.rooms[org_id] = room
            room.holders += 1
        try:
            client.cursor = room.last if since is None else since
            if since is not None:
                await self._replay(client, since)  # the long part, without holding up the room
            async with room.lock:
                await self._replay(client, client.cursor)  # whatever committed meanwhile
                room.clients.add(client)
                client.push(frame("hello", seq=client.cursor, heartbeat=self.heartbeat_seconds))
                # who is where now; later changes come through the pump, which waits for this lock
                for conversation_id, people in (await self._everyone(org_id)).items():
                    client.push(frame("presence", conversation_id=conversation_id, people=people))
        except BaseException:
            await self._leave(room, client)
            raise
        return room

    async def _leave(self, room: Room, client: Client) -> None:
        async with self.rooms_lock:
            room.clients.discard(client)
            room.holders -= 1
            if room.holders == 0 and self.rooms.get(room.org_id) is room:
                del self.rooms[room.org_id]
                room.task.cancel()
                await self.bus.unsubscribe(room.org_id)

    def _ring(self, message: dict) -> None:
        room = self.rooms.get(message["org_id"])
        if room is None:
            return
        if "presence" in message:
            room.presence_changed.add(int(message["presence"]))
            room.bell.set()
        elif int(message.get("seq", 0)) > room.last:
            room.bell.set()

    def _ring_all(self) -> None:
        for room in self.rooms.values():
            room.bell.set()

    async def _pump(self, room: Room) -> None:
        while True:
            await room.bell.wait()
            room.bell.clear()
            try:
                async with room.lock:
                    await self._catch_up(room)
                    await self._send_presence(room)
            except Exception:  # noqa: BLE001 - e.g. PostgreSQL away: the next bell or heartbeat retries
                log.exception("realtime: delivering events failed", extra={"org_id": room.org_id})

    async def _catch_up(self, room: Room) -> None:
        """Deliver every committed event after the room's last one, in order (call with room.lock held)."""
        while events := await events_after(self.db, room.org_id, room.last, limit=self.replay_window):
            for event in events:
                await self._send(event, [c for c in room.clients if c.cursor < event["seq"]])
                room.last = event["seq"]
                if event["kind"] in REAUTH_KINDS:
                    for c in room.clients:
                        if c.actor.user_id == event["payload"]["user_id"]:
                            c.close(SESSION_CHANGED)

    async def _replay(self, client: Client, since: int, upto: int | None = None) -> None:
        """The events after `since` (up to `upto`) for one socket; past the replay window, tell it to reload."""
        events = await events_after(self.db, client.actor.org_id, since, limit=self.replay_window + 1)
        latest = await last_seq(self.db, client.actor.org_id)
        if len(events) > self.replay_window or since > latest:
            client.push(frame("reload", seq=latest))
            client.cursor = max(client.cursor, latest)
            return
        for event in events:
            if upto is not None and event["seq"] > upto:
                break
            await self._send(event, [client])

    async def _send(self, event: dict, clients: list[Client]) -> None:
        """Render the event once per locale and queue the same frame for every socket of one audience."""
        pieces_by_locale: dict[str, list | None] = {}
        frames: dict[tuple, str] = {}
        for c in clients:
            if c.locale not in pieces_by_locale:
                try:
                    pieces_by_locale[c.locale] = await render_event(self.db, event, c.locale, c.actor.time_zone)
                except Exception:  # noqa: BLE001 - never a silent gap: the page reloads instead
                    log.exception("realtime: rendering failed", extra={"kind": event["kind"], "seq": event["seq"]})
                    pieces_by_locale[c.locale] = None
            pieces = pieces_by_locale[c.locale]
            own = user(c.actor.user_id)
            if pieces is None:
                key: tuple = ("reload",)
            else:
                key = (c.locale, c.actor.is_admin, own if any(p.audience == own for p in pieces) else None)
            if key not in frames:
                if pieces is None:
                    frames[key] = frame("reload", seq=event["seq"])
                else:
                    allowed = {MEMBERS, own, *((ADMINS,) if c.actor.is_admin else ())}
                    html = "".join(p.html for p in pieces if p.audience in allowed)
                    frames[key] = frame("event", seq=event["seq"], html=html)
            c.push(frames[key])
            c.cursor = max(c.cursor, event["seq"])

    # --- presence ------------------------------------------------------------------------------------

    async def _present(self, client: Client, state: str, conversation_id: int) -> None:
        """The socket's person is viewing (or writing a reply on) a conversation of their organisation."""
        actor = client.actor
        if (state == "replying" and not actor.can_edit) or \
                await conversations.find_row(self.db, actor.org_id, conversation_id) is None:
            client.push(frame("error", message="not allowed"))  # another org's id: nothing told, nothing kept
            return
        before = client.presence
        client.presence = {"user_id": actor.user_id, "name": actor.name, "conversation_id": conversation_id,
                           "state": state}
        try:
            await self.presence.set(actor.org_id, client.id, client.presence)
            for changed in {conversation_id, *((before["conversation_id"],) if before else ())}:
                await self.presence.ring(actor.org_id, changed)
        except Exception as exc:  # noqa: BLE001 - Redis away: presence is liveness, never a failure
            log.warning("presence not kept", extra={"error": repr(exc)})

    async def _absent(self, client: Client) -> None:
        before, client.presence = client.presence, None
        if before is not None:
            try:
                await self.presence.remove(client.actor.org_id, client.id)
                await self.presence.ring(client.actor.org_id, before["conversation_id"])
            except Exception as exc:  # noqa: BLE001 - it fades within the expiry anyway
                log.warning("presence not removed", extra={"error": repr(exc)})

    async def _everyone(self, org_id: int) -> dict[int, list[dict]]:
        try:
            return await self.presence.everyone(org_id)
        except Exception as exc:  # noqa: BLE001 - Redis away: no presence shown
            log.warning("presence not read", extra={"error": repr(exc)})
            return {}

    async def _send_presence(self, room: Room) -> None:
        """The people on each conversation whose presence changed, the same frame to every socket."""
        if not room.presence_changed:
            return
        changed, room.presence_changed = room.presence_changed, set()
        everyone = await self._everyone(room.org_id)
        for conversation_id in changed:
            text = frame("presence", conversation_id=conversation_id, people=everyone.get(conversation_id, []))
            for c in room.clients:
                c.push(text)

    # --- heartbeats -------------------------------------------------------------------------------

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            for room in list(self.rooms.values()):
                try:
                    await self._heartbeat(room)
                except Exception:  # noqa: BLE001 - PostgreSQL away: try again next beat
                    log.exception("realtime: heartbeat failed", extra={"org_id": room.org_id})

    async def _heartbeat(self, room: Room) -> None:
        """Deliver any event whose publish was lost, end sockets whose session ended, then tell every
        socket the organisation's latest seq (so a client notices what it still lacks)."""
        async with room.lock:
            await self._catch_up(room)
            latest = room.last
        beat = frame("heartbeat", seq=latest)
        try:  # keep this process's presence alive; let a dead process's fade
            await self.presence.refresh(room.org_id, {c.id: c.presence for c in room.clients if c.presence})
            for conversation_id in await self.presence.prune(room.org_id):
                await self.presence.ring(room.org_id, conversation_id)
        except Exception as exc:  # noqa: BLE001 - Redis away: presence is liveness only
            log.warning("presence not refreshed", extra={"error": repr(exc)})
        for c in list(room.clients):
            session = await accounts.load_session(self.db, c.token)
            if session is None or (session.actor.org_id, session.actor.role) != (c.actor.org_id, c.actor.role):
                c.close(SESSION_CHANGED)
            else:
                c.push(beat)
