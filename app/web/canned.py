"""The team's canned replies: listed for every member, kept by editors."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import canned, channels
from app.errors import Invalid
from app.web.base import actor_of, error_text, login_required, page, path_id, redirect


async def _page(request: Request, status: int = 200, **extra) -> Response:
    db, actor = request.app.state.db, actor_of(request)
    return page(request, "pages/canned.html", status, replies=await canned.library(db, actor.org_id),
                channels=await channels.list_channels(db, actor.org_id), variables=canned.VARIABLES, **extra)


@login_required
async def index(request: Request) -> Response:
    return await _page(request)


@login_required
async def create(request: Request) -> Response:
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("title", "body", "shortcut", "channel_id")}
    try:
        await canned.create(request.app.state.db, actor_of(request), title=values["title"], body=values["body"],
                            shortcut=values["shortcut"],
                            channel_id=int(values["channel_id"]) if values["channel_id"].isdigit() else None)
    except Invalid as exc:
        return await _page(request, 400, error=error_text(request, exc), form=values)
    return redirect("/canned")


@login_required
async def delete(request: Request) -> Response:
    await canned.delete(request.app.state.db, actor_of(request), path_id(request))
    return redirect("/canned")


routes = [
    Route("/canned", index),
    Route("/canned", create, methods=["POST"]),
    Route("/canned/{id:int}/delete", delete, methods=["POST"]),
]
