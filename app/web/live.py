"""`/ws`: one WebSocket per tab, for the live layer (realtime/hub.py). Protocol: docs/realtime.md.

The session middleware has loaded the session from the cookie, as for any page; here the
handshake is refused (403, before any upgrade) without one, or from another site's page.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from starlette.websockets import WebSocket

from app.web.base import session_of


def _same_site(websocket: WebSocket) -> bool:
    # Browsers always send Origin on a WebSocket handshake; without it, or from elsewhere, no socket (CSWSH).
    origin = websocket.headers.get("origin")
    return origin is not None and urlsplit(origin).netloc == websocket.headers.get("host")


async def endpoint(websocket: WebSocket) -> None:
    session = session_of(websocket)
    # since: the seq the page was rendered at; case: the conversation whose page it is
    since, case = websocket.query_params.get("since", ""), websocket.query_params.get("case", "")
    if session is None or not _same_site(websocket) or not all(v == "" or v.isdigit() for v in (since, case)):
        await websocket.close(code=1008)  # before accept: the client sees HTTP 403
        return
    await websocket.accept()
    await websocket.app.state.hub.serve(websocket, session.actor, websocket.state.session_token,
                                       int(since) if since else None, int(case) if case else None)
