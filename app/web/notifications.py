"""A person's own notifications: the list, opening one (marks it read, goes to the case), mark all read."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import notifications
from app.web.base import actor_of, login_required, page, path_id, redirect


@login_required
async def index(request: Request) -> Response:
    actor = actor_of(request)
    listed = await notifications.of_person(request.app.state.db, actor.org_id, actor.user_id)
    return page(request, "pages/notifications.html", notifications=listed)


@login_required
async def open_one(request: Request) -> Response:
    conversation_id = await notifications.open_notification(request.app.state.db, actor_of(request),
                                                            path_id(request))
    return redirect(f"/conversations/{conversation_id}")


@login_required
async def read_all(request: Request) -> Response:
    await notifications.mark_all_read(request.app.state.db, actor_of(request))
    return redirect("/notifications")


routes = [
    Route("/notifications", index),
    Route("/notifications/{id:int}/open", open_one, methods=["POST"]),
    Route("/notifications/read-all", read_all, methods=["POST"]),
]
