"""The dashboard: every channel's open conversations in arrival order."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import channels, conversations
from app.web.base import actor_of, login_required, page


@login_required
async def index(request: Request) -> Response:
    db, actor = request.app.state.db, actor_of(request)
    return page(request, "pages/dashboard.html",
                channels=await channels.list_channels(db, actor.org_id),
                rows=await conversations.queue(db, actor.org_id))


routes = [
    Route("/", index),
]
