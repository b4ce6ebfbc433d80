"""The dashboard (every channel's open conversations in arrival order) and a conversation."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import channels, conversations
from app.mail import raw
from app.web.base import actor_of, login_required, page, path_id


@login_required
async def index(request: Request) -> Response:
    db, actor = request.app.state.db, actor_of(request)
    return page(request, "pages/dashboard.html",
                channels=await channels.list_channels(db, actor.org_id),
                rows=await conversations.queue(db, actor.org_id))


@login_required
async def conversation(request: Request) -> Response:
    db, actor = request.app.state.db, actor_of(request)
    row, messages = await conversations.get(db, actor.org_id, path_id(request))
    return page(request, "pages/conversation.html", row=row, messages=messages,
                attachments=await raw.attachments_of(db, actor.org_id, row["id"]))


routes = [
    Route("/", index),
    Route("/conversations/{id:int}", conversation),
]
