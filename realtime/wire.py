"""Frames built once and written to many sockets: what keeps fan-out cheap (docs/realtime.md, "Speed").

ASGI's `websocket.send` costs 16-20 µs per frame and socket here (a task wake-up, the ASGI call chain,
framing per socket); at 1,000 sockets x 50 events/s that is a whole core. So the web process runs uvicorn
with `LiveProtocol`: uvicorn's own websockets-sansio protocol, which still does the handshake and hands
the socket to the Starlette app (auth, Origin check, `/ws` routing stay as they are), and which also puts
a `write_frame` callable in the socket's ASGI scope. The hub builds each frame's bytes once (header and
payload) and writes the same bytes to every socket's transport with it: no task, no await, no copy.
Under any other server the scope lacks it and the hub falls back to ASGI's send.
"""
from __future__ import annotations

import asyncio
import struct

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState

EXTENSION = "samsyn.write_frame"  # the key in scope["extensions"]


class Frame:
    """One text message, encoded and framed once (unmasked, as a server sends it); one copy of the bytes."""

    __slots__ = ("wire", "data")

    def __init__(self, text: str):
        data = text.encode()
        n = len(data)
        if n < 126:
            head = bytes((0x81, n))
        elif n < 65536:
            head = struct.pack("!BBH", 0x81, 126, n)
        else:
            head = struct.pack("!BBQ", 0x81, 127, n)
        self.wire = head + data
        self.data = memoryview(self.wire)[len(head):]  # the payload, without a copy

    @property
    def text(self) -> str:
        return str(self.data, "utf-8")


class _Inbox:
    """What uvicorn's protocol needs of its asyncio.Queue (one consumer): a list and one waiter, not four
    deques (~2.5 KB less per idle socket)."""

    __slots__ = ("items", "waiter")

    def __init__(self):
        self.items, self.waiter = [], None

    def put_nowait(self, item) -> None:
        self.items.append(item)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def empty(self) -> bool:
        return not self.items

    async def get(self):
        while not self.items:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        return self.items.pop(0)


class _Gate:
    """What uvicorn's protocol needs of its `writable` asyncio.Event, without a deque per socket."""

    __slots__ = ("open", "waiters")

    def __init__(self):
        self.open, self.waiters = True, []

    def set(self) -> None:
        self.open = True
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_result(True)
        self.waiters = []

    def clear(self) -> None:
        self.open = False

    async def wait(self) -> bool:
        if not self.open:
            waiter = asyncio.get_running_loop().create_future()
            self.waiters.append(waiter)
            await waiter
        return True


class LiveProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol plus `write_frame` in the scope (see the module's docstring), and
    lighter per socket: an idle socket is mostly this object (uvicorn >= 0.54's attributes, tested by
    tests/test_live.py, which runs every socket through it)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.queue, self.writable = _Inbox(), _Gate()

    def handle_connect(self, event) -> None:
        super().handle_connect(event)
        if getattr(self, "scope", None) is not None:  # a valid upgrade: the app decides next
            self.scope["extensions"][EXTENSION] = self.write_frame

    async def send(self, message) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept":  # the handshake's request and response are done with
            self.request = self.response = None

    def write_frame(self, frame: Frame) -> int:
        """Write the frame now; returns the bytes still waiting in this socket's buffer, -1 once it is closing."""
        if self.close_sent or self.disconnected or self.transport.is_closing():
            return -1
        if self.conn.extensions:  # permessage-deflate was negotiated: it compresses per socket
            try:
                self.conn.send_text(frame.data)
            except InvalidState:
                return -1
            self.transport.write(b"".join(self.conn.data_to_send()))
        else:
            self.transport.write(frame.wire)
        return self.transport.get_write_buffer_size()
