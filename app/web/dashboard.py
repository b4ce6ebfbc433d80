"""The dashboard: views over every channel's conversations, a page at a time, and bulk actions."""
from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import accounts, channels, queues, tags
from app.errors import Invalid
from app.web.base import actor_of, error_text, login_required, page, redirect


async def _dashboard(request: Request, query: queues.Query, status: int = 200, **extra) -> Response:
    db, actor = request.app.state.db, actor_of(request)
    rows = await queues.page(db, actor.org_id, actor.user_id, query)
    if request.query_params.get("rows") and request.headers.get("hx-request"):
        return page(request, "partials/queue_page.html", query=query, page=rows)  # the next page, on scroll
    listed = await channels.list_channels(db, actor.org_id)
    editing = {}
    if actor.can_edit:
        editing = {"editors": await accounts.editors(db, actor.org_id),
                   "all_tags": await tags.tag_list(db, actor.org_id)}
    return page(request, "pages/dashboard.html", status, query=query, page=rows, views=list(queues.VIEWS),
                counts=await queues.counts(db, actor.org_id, [actor.user_id]), channels=listed,
                channel=next((c for c in listed if c["id"] == query.channel_id), None),
                form=extra.pop("form", {}), **editing, **extra)


@login_required
async def index(request: Request) -> Response:
    return await _dashboard(request, queues.Query.parse(request.query_params))


@login_required
async def bulk(request: Request) -> Response:
    """Assign, tag or close the selected conversations; back to the same view, or the view with the error."""
    form = await request.form()
    query = queues.Query.parse(form)
    action = str(form.get("action", ""))
    selected = [i for i in map(queues.whole, form.getlist("conversation_id")) if i is not None]
    value = queues.whole(form.get("tag_id" if action == "tag" else "assignee_id"))
    try:
        await queues.bulk(request.app.state.db, actor_of(request), selected, action, value)
    except Invalid as exc:
        return await _dashboard(request, query, 400, bulk_error=error_text(request, exc), selected=set(selected),
                                form={k: str(form.get(k, "")) for k in ("assignee_id", "tag_id")})
    params = query.params()
    return redirect("/" + (f"?{urlencode(params)}" if params else ""))


routes = [
    Route("/", index),
    Route("/bulk", bulk, methods=["POST"]),
]
