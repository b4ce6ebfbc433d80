"""This process's sockets, per organisation: render each event once, fan it out, replay what was missed.

Each organisation with sockets here has a room. The bus rings the room's bell; the room's pump
reads the events after the last one it delivered from PostgreSQL (so order and completeness
never depend on Redis), renders each once per locale with realtime/fragments.py, and puts the
same frame bytes to every socket allowed to see it (realtime/wire.py: built once, written straight to
each socket's transport). What a socket has not yet taken is bounded: a socket that stops reading is
closed (TOO_SLOW) and, on return, replays from its last seq. What is rendered is kept for a while, so a
reconnect storm (hundreds of sockets replaying the same range after a restart) renders each (event,
locale) once and builds each frame once per audience. Protocol: docs/realtime.md.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Callable

from starlette.websockets import WebSocket, WebSocketDisconnect

from app import accounts, conversations
from app.actors import Actor
from app.db import Database, events_after, last_seq
from app.i18n import pick_locale
from realtime.bus import Bus
from realtime.fragments import ADMINS, EDITORS, MEMBERS, cases_of, render_event, user
from realtime.presence import STATES, Presence
from realtime.wire import EXTENSION, Frame

log = logging.getLogger(__name__)

SESSION_CHANGED = 4001  # the session ended, or its role or organisation changed: load the page again
TOO_SLOW = 4008  # the send queue overflowed: reconnect and replay from the last seq
MAX_MESSAGE = 4096  # a client's messages are small JSON objects
# A tab sends a message when it changes page, starts writing, sees a gap, or pings: far below this. A socket
# past it (a runaway script, a flood) is closed with 1008 rather than replaying and reading for it.
MESSAGES_PER_SECOND, MESSAGE_BURST = 10, 40
# Membership changes that may take pieces away from a socket: its person must authenticate again.
REAUTH_KINDS = {"member.role_changed", "member.removed"}
AHEAD = 8  # while one event is sent, the renders of this many after it are under way


def frame(kind: str, **fields) -> Frame:
    return Frame(json.dumps({"type": kind, **fields}, separators=(",", ":"), ensure_ascii=False))


class QueuedSink:
    """Under a server without realtime/wire.py's fast path: a queue and a writer task, ASGI's send per frame."""

    def __init__(self, websocket: WebSocket):
        self.websocket, self.queue, self.waiting, self.wake = websocket, deque(), 0, asyncio.Event()

    def __call__(self, f: Frame) -> int:
        self.queue.append(f)
        self.waiting += len(f.data)
        self.wake.set()
        return self.waiting

    async def run(self) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            while True:
                await self.wake.wait()
                self.wake.clear()
                while self.queue:
                    f = self.queue.popleft()
                    await self.websocket.send_text(f.text)
                    self.waiting -= len(f.data)


@dataclass(eq=False)
class Client:
    """One socket: who it is, how frames reach it, and the last seq sent to it."""

    actor: Actor
    token: str
    write: Callable[[Frame], int]  # writes a frame, returns the bytes the socket has not taken yet (-1: closing)
    limit: int  # past this many bytes not taken, the socket is too slow
    cursor: int = 0
    closing: int | None = None
    reader: asyncio.Task | None = None  # the task reading this socket's messages, while it does
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    allowance: float = MESSAGE_BURST  # messages it may still send now; refills at MESSAGES_PER_SECOND
    counted_at: float = field(default_factory=time.monotonic)
    presence: dict | None = None  # {user_id, name, conversation_id, state} while on a conversation
    case: int | None = None  # the conversation whose page the tab shows: only its sockets get that page's pieces

    def __post_init__(self):
        # what decides its frames, read once here, not for each of the thousands of frames a second
        self.view = (pick_locale(self.actor.locale), self.actor.time_zone)  # the render it takes
        self.role = (self.actor.is_admin, self.actor.can_edit)  # its frame, when no piece is personal or a page's
        self.own = user(self.actor.user_id)  # the audience of this person's own pieces

    def push(self, f: Frame) -> None:
        if self.closing is not None:
            return
        if self.write(f) > self.limit:
            log.info("socket too slow, closed", extra={"user_id": self.actor.user_id})
            self.close(TOO_SLOW)

    def may_send(self) -> bool:
        """Take one message from the socket's allowance (a token bucket); False when it is spent."""
        now = time.monotonic()
        self.allowance = min(MESSAGE_BURST, self.allowance + (now - self.counted_at) * MESSAGES_PER_SECOND) - 1
        self.counted_at = now
        return self.allowance >= 0

    def close(self, code: int) -> None:
        if self.closing is None:
            self.closing = code
            if self.reader is not None and self.reader is not asyncio.current_task():
                self.reader.cancel()  # it stops reading, and the socket is closed with `code`


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
    views: dict | None = None  # (locale, time zone) -> the cases its sockets show; None: to count again
    rung: int = 0  # the highest seq a doorbell told of
    carried: dict[int, dict] = field(default_factory=dict)  # events the doorbell brought whole, by seq, not yet sent


def views_of(clients) -> dict[tuple, set]:
    """(locale, time zone) -> the cases whose pages these sockets show."""
    views: dict[tuple, set] = {}
    for c in clients:
        views.setdefault(c.view, set()).add(c.case)
    return views


class _ReadOnce:
    """A read-only transaction whose reads are each run once: an event's renders in several locales (and with
    several case pages) read the same rows, so the second render reads nothing."""

    def __init__(self, tx):
        self.tx, self.org_id, self.results = tx, tx.org_id, {}

    async def _once(self, method: str, sql: str, args: tuple):
        key = (method, sql, repr(args))  # the arguments are ids, lists of ids, text: repr tells them apart
        if key not in self.results:
            self.results[key] = await getattr(self.tx, method)(sql, *args)
        found = self.results[key]
        return list(found) if isinstance(found, list) else found  # a caller may sort its list

    async def fetch(self, sql: str, *args):
        return await self._once("fetch", sql, args)

    async def fetchrow(self, sql: str, *args):
        return await self._once("fetchrow", sql, args)

    async def fetchval(self, sql: str, *args):
        return await self._once("fetchval", sql, args)

    def __getattr__(self, name: str):
        return getattr(self.tx, name)


class _OneTransaction(Database):
    """The database as one event's renders see it: their read-only reads in the organisation share one
    transaction (a round trip to PostgreSQL per query, not three: BEGIN, query, COMMIT), each read once."""

    def __init__(self, db: Database, tx):
        super().__init__(db.pool, db.redis)
        self.tx = _ReadOnce(tx)

    @contextlib.asynccontextmanager
    async def transaction(self, org_id, *, user_id=None, readonly=False):
        if readonly and user_id is None and org_id == self.tx.org_id:
            yield self.tx
        else:
            async with super().transaction(org_id, user_id=user_id, readonly=readonly) as tx:
                yield tx


class Rendered:
    """One event's pieces in one locale, and the frame for each audience and case page, each built once."""

    __slots__ = ("seq", "pieces", "personal", "cases", "frames")

    def __init__(self, seq: int, pieces: list | None):
        self.seq, self.pieces, self.frames = seq, pieces, {}
        self.personal = {p.audience for p in pieces or () if p.audience not in (MEMBERS, EDITORS, ADMINS)}
        self.cases = {p.case for p in pieces or () if p.case is not None}

    def frame_for(self, c: Client) -> Frame:
        key = (c.role, c.own if c.own in self.personal else None, c.case if c.case in self.cases else None) \
            if self.personal or self.cases else c.role
        f = self.frames.get(key)
        if f is None:
            if self.pieces is None:  # rendering failed: never a silent gap, the page reloads instead
                f = frame("reload", seq=self.seq)
            else:
                (admin, editor), own, case = c.role, c.own, c.case
                allowed = {MEMBERS, *((own,) if own in self.personal else ()), *((ADMINS,) if admin else ()),
                           *((EDITORS,) if editor else ())}
                f = frame("event", seq=self.seq, html="".join(
                    p.html for p in self.pieces if p.audience in allowed and p.case in (None, case)))
            self.frames[key] = f
        return f


class Hub:
    def __init__(self, db: Database, redis_url: str, *, heartbeat_seconds: float = 15.0,
                 replay_window: int = 500, buffer_bytes: int = 2 * 1024 * 1024, cached_renders: int = 1024):
        self.db = db
        self.heartbeat_seconds, self.replay_window, self.buffer_bytes = heartbeat_seconds, replay_window, buffer_bytes
        self.cached_renders = cached_renders
        # (org_id, seq, locale, time zone, case pages) -> the render, shared by the live path and every replay
        self.renders: OrderedDict[tuple, asyncio.Future] = OrderedDict()
        self.rendering: set[asyncio.Task] = set()  # renders under way (a task needs a reference while it runs)
        self.rooms: dict[int, Room] = {}
        self.rooms_lock = asyncio.Lock()
        self.bus = Bus(redis_url, self._ring, self._ring_all, self._sessions_changed)
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

    async def serve(self, websocket: WebSocket, actor: Actor, token: str, since: int | None,
                    case: int | None = None) -> None:
        """Run an accepted socket until it closes: replay after `since`, then live events and heartbeats.
        `case`: the conversation whose page the tab shows (its pieces are for this organisation's events only,
        so another organisation's id gets nothing)."""
        write = websocket.scope.get("extensions", {}).get(EXTENSION)  # realtime/wire.py
        sink = None if write else QueuedSink(websocket)
        client = Client(actor, token, write or sink, self.buffer_bytes, case=case)
        writer = asyncio.create_task(sink.run()) if sink else None  # replay streams out as it is read
        try:
            room = await self._join(client, since)
            # read in this task (not one more per socket) until the socket closes or the hub closes it
            client.reader = asyncio.current_task()
            try:
                if client.closing is None:  # not already closed while it joined (too slow during its replay)
                    await self._read(websocket, client, room)
            except asyncio.CancelledError:
                if client.closing is None:
                    raise  # the server is stopping
                asyncio.current_task().uncancel()
            finally:
                client.reader = None
                await self._absent(client)
                await self._leave(room, client)
        finally:
            if writer:
                writer.cancel()
        if client.closing is not None:
            # a socket that stopped reading may never take the close frame: don't wait on it for long
            with contextlib.suppress(Exception):
                await asyncio.wait_for(websocket.close(client.closing), 2)

    async def _read(self, websocket: WebSocket, client: Client, room: Room) -> None:
        try:
            await self._read_messages(websocket, client, room)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        except Exception:  # noqa: BLE001 - e.g. PostgreSQL away mid-replay: this socket ends, it reconnects
            log.exception("realtime: socket failed", extra={"user_id": client.actor.user_id})
            client.close(1011)

    async def _read_messages(self, websocket: WebSocket, client: Client, room: Room) -> None:
        """The client's messages: `replay` (it saw a gap), `page` (it shows another page), presence, `ping`;
        see docs/realtime.md."""
        while client.closing is None:
            received = await websocket.receive()
            if received["type"] == "websocket.disconnect":
                return
            if not client.may_send():
                client.close(1008)  # too many messages: this socket only
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
            elif kind == "page" and isinstance(message.get("since"), int) and \
                    isinstance(message.get("conversation_id"), int | None):
                await self._page(client, room, message["since"], message.get("conversation_id"))
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
                if client.cursor < room.last:  # what the pump delivered meanwhile; after room.last it sends itself
                    await self._replay(client, client.cursor, upto=room.last)
                room.clients.add(client)
                room.views = None
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
            room.views = None
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
        elif (seq := int(message.get("seq", 0))) > room.last:
            room.rung = max(room.rung, seq)
            if "payload" in message and len(room.carried) < self.replay_window:  # past that, the pump reads
                room.carried[seq] = message
            room.bell.set()

    def _ring_all(self) -> None:
        for room in self.rooms.values():
            room.bell.set()

    def _sessions_changed(self, message: dict) -> None:
        """Sessions ended (logout, password reset) or moved to another organisation: their sockets close now."""
        for room in self.rooms.values():
            for c in room.clients:  # rare: the token's hash is made here, not kept for every socket
                if c.actor.user_id == message.get("user_id") or accounts.session_id(c.token) == message.get("session"):
                    c.close(SESSION_CHANGED)

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

    async def _catch_up(self, room: Room, *, check: bool = False) -> None:
        """Deliver every committed event after the room's last one, in order (call with room.lock held): the next
        one as the doorbell carried it, if it did; else read from PostgreSQL, as is everything when `check`ing
        (the heartbeat: a publish that was lost)."""
        while True:
            if (carried := room.carried.pop(room.last + 1, None)) is not None:
                events = [carried]
            elif check or room.rung > room.last:
                events = await events_after(self.db, room.org_id, room.last, limit=self.replay_window)
                check = len(events) == self.replay_window  # more to read
                if not events:
                    break
            else:
                break
            for i, event in enumerate(events):
                for later in events[i + 1:i + AHEAD]:  # a backlog renders side by side, and is sent in order
                    self._renders(later, self._views(room))
                await self._send(event, [c for c in room.clients if c.cursor < event["seq"]], self._views(room))
                room.last = event["seq"]
                if event["kind"] in REAUTH_KINDS:
                    for c in room.clients:
                        if c.actor.user_id == event["payload"]["user_id"]:
                            c.close(SESSION_CHANGED)
        for seq in [s for s in room.carried if s <= room.last]:  # read from PostgreSQL before their bell rang
            del room.carried[seq]

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

    async def _page(self, client: Client, room: Room, since: int, case: int | None) -> None:
        """The tab shows another page, rendered at `since` (of conversation `case`, or none): from here on the
        socket gets that page's pieces. The `page` frame marks where they start (the client ignores events
        until it), then what the page lacks is replayed with them; under the room's lock, so no live event
        comes between."""
        async with room.lock:
            client.case, room.views = case, None
            client.push(frame("page", seq=since))
            if since < client.cursor:
                await self._replay(client, since, upto=client.cursor)

    @staticmethod
    def _views(room: Room) -> dict[tuple, set]:
        """The room's renders: (locale, time zone) -> the cases whose pages its sockets show, counted on change."""
        if room.views is None:
            room.views = views_of(room.clients)
        return room.views

    def _renders(self, event: dict, views: dict[tuple, set]) -> dict[tuple, asyncio.Future]:
        """The event's renders: one per view, with the pages of the conversations it touched that are shown.
        Each is made once per process while it is recent: one under way is awaited, not repeated (a page's rows
        are read at render time, after the event committed, and every later change brings its own event, so a
        kept render never leaves a page behind). Those not made yet are made together, from one read."""
        touched, futures, missing = cases_of(event), {}, {}
        for view, cases in views.items():
            key = (event["org_id"], event["seq"], *view, frozenset(touched & cases))
            future = self.renders.get(key)
            if future is None:
                future = missing[key] = self.renders[key] = asyncio.get_running_loop().create_future()
                future.add_done_callback(lambda f, key=key: self._forget_failed(key, f))
            else:
                self.renders.move_to_end(key)
            futures[view] = future
        if missing:
            task = asyncio.create_task(self._render(event, missing))
            self.rendering.add(task)
            task.add_done_callback(self.rendering.discard)
            while len(self.renders) > self.cached_renders:
                self.renders.popitem(last=False)
        return futures

    async def _send(self, event: dict, clients: list[Client], views: dict[tuple, set] | None = None) -> None:
        """Write the event's frame to each socket: the same bytes to every socket of one audience. `views`:
        the renders these sockets take, if known (views_of)."""
        seq = event["seq"]
        # every locale's render at once: they wait on PostgreSQL side by side, not one after the other
        renders = self._renders(event, views or views_of(clients))
        done = await asyncio.gather(*(asyncio.shield(f) for f in renders.values()))  # shielded: a socket that
        # goes away mid-replay leaves the render to the others
        rendered = dict(zip(renders, done, strict=True))
        for c in clients:
            c.push(rendered[c.view].frame_for(c))
            if c.cursor < seq:
                c.cursor = seq

    def _forget_failed(self, key: tuple, future: asyncio.Future) -> None:
        if future.cancelled() or future.result().pieces is None:  # the next one tries again
            self.renders.pop(key, None)

    async def _render(self, event: dict, renders: dict[tuple, asyncio.Future]) -> None:
        """Make each of the event's renders (keyed as in Hub.renders) in one read-only transaction."""
        try:
            async with self.db.transaction(event["org_id"], readonly=True) as tx:
                db = _OneTransaction(self.db, tx)
                for (_, seq, locale, time_zone, cases), future in renders.items():
                    future.set_result(Rendered(seq, await render_event(db, event, locale, time_zone, cases)))
        except Exception:  # noqa: BLE001 - never a silent gap: the page reloads instead
            log.exception("realtime: rendering failed", extra={"kind": event["kind"], "seq": event["seq"]})
        finally:
            for future in renders.values():
                if not future.done():
                    future.set_result(Rendered(event["seq"], None))

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
            await self._catch_up(room, check=True)
            latest = room.last
        beat = frame("heartbeat", seq=latest)
        try:  # keep this process's presence alive; let a dead process's fade
            await self.presence.refresh(room.org_id, {c.id: c.presence for c in room.clients if c.presence})
            for conversation_id in await self.presence.prune(room.org_id):
                await self.presence.ring(room.org_id, conversation_id)
        except Exception as exc:  # noqa: BLE001 - Redis away: presence is liveness only
            log.warning("presence not refreshed", extra={"error": repr(exc)})
        clients = list(room.clients)
        live = await accounts.live_sessions(self.db, {c.token for c in clients})  # one query for all sockets
        for c in clients:
            if live.get(c.token) != (c.actor.org_id, c.actor.role):
                c.close(SESSION_CHANGED)
            else:
                c.push(beat)
