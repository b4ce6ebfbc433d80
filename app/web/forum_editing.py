"""The forum's editor workflow on a thread's case page (accept an answer, comment, edit, pin, order the
start page), and the chief editor's weekly review of a forum."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import conversations, forum_editing
from app.errors import Invalid
from app.web.base import actor_of, admin_required, error_text, login_required, page, path_id, redirect
from app.web.conversation import _int, _page


def _back(conversation_id: int, anchor: str = "") -> Response:
    return redirect(f"/conversations/{conversation_id}{anchor}")


@login_required
async def accept(request: Request) -> Response:
    conversation_id, form = path_id(request), await request.form()
    chosen = str(form.get("message_id", ""))  # "": no accepted answer
    await forum_editing.accept(request.app.state.db, actor_of(request), conversation_id,
                               _int(chosen, -1) if chosen else None)
    return _back(conversation_id)


@login_required
async def comment(request: Request) -> Response:
    conversation_id, form = path_id(request), await request.form()
    parent_id, body = _int(form.get("parent_id"), -1), str(form.get("body", ""))
    try:
        message_id = await forum_editing.comment(request.app.state.db, actor_of(request), conversation_id,
                                                 parent_id, body)
    except Invalid as exc:
        return await _page(request, conversation_id, 400, comment_for=parent_id, comment_draft=body,
                           comment_error=error_text(request, exc))
    return _back(conversation_id, f"#message-{message_id}")


@login_required
async def edit(request: Request) -> Response:
    conversation_id, form = path_id(request), await request.form()
    typed = {"subject": str(form.get("subject", ""))[:1000], "body": str(form.get("body", ""))}
    try:
        await forum_editing.edit(request.app.state.db, actor_of(request), conversation_id, **typed)
    except Invalid as exc:
        return await _page(request, conversation_id, 400, edit_typed=typed, edit_error=error_text(request, exc),
                           edit_error_field=exc.field)
    return _back(conversation_id)


@login_required
async def pin(request: Request) -> Response:
    conversation_id, form = path_id(request), await request.form()
    await forum_editing.pin(request.app.state.db, actor_of(request), conversation_id, form.get("pinned") != "0")
    return _back_or_review(request, form, conversation_id)


@login_required
async def pin_order(request: Request) -> Response:
    conversation_id, form = path_id(request), await request.form()
    try:
        await forum_editing.move(request.app.state.db, actor_of(request), conversation_id,
                                 up=form.get("direction") != "down")
    except Invalid:
        pass  # unpinned meanwhile: nothing to move, the page shows it as it is
    return _back_or_review(request, form, conversation_id)


def _back_or_review(request: Request, form, conversation_id: int) -> Response:
    """Back where the click came from: the weekly review (a forum's start page there) or the case page."""
    channel = _int(form.get("review"), 0)
    return redirect(f"/forum-review?forum={channel}#start") if channel else _back(conversation_id)


@admin_required
async def review(request: Request) -> Response:
    chosen = _int(request.query_params.get("forum"), 0) or None
    shown = await forum_editing.review(request.app.state.db, actor_of(request), chosen)
    return page(request, "pages/forum_review.html", **shown)


@admin_required
async def archive(request: Request) -> Response:
    """One click in the weekly review: the thread leaves the start page and search, its link still works."""
    conversation_id, form = path_id(request), await request.form()
    await conversations.set_status(request.app.state.db, actor_of(request), conversation_id, "archived")
    return redirect(f"/forum-review?forum={_int(form.get('review'), 0)}")


routes = [
    Route("/conversations/{id:int}/accept", accept, methods=["POST"]),
    Route("/conversations/{id:int}/comment", comment, methods=["POST"]),
    Route("/conversations/{id:int}/edit", edit, methods=["POST"]),
    Route("/conversations/{id:int}/pin", pin, methods=["POST"]),
    Route("/conversations/{id:int}/pin-order", pin_order, methods=["POST"]),
    Route("/forum-review", review, methods=["GET"]),
    Route("/forum-review/{id:int}/archive", archive, methods=["POST"]),
]
