"""Moving between forum and mail (app/forum_moves.py): the editor's move and publish forms, and what a
moved thread's public URL shows."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import forum, forum_moves
from app.errors import Invalid
from app.web.base import actor_of, error_text, login_required, page, path_id, redirect, t

MOVE_FIELDS = ("mailbox_id", "note", "message")
PUBLISH_FIELDS = ("forum_id", "title", "question", "answer", "edited")


def _typed(form, fields) -> dict:
    return {key: str(form.get(key, "")) for key in fields}


async def _move_page(request: Request, status: int = 200, **context) -> Response:
    db, actor = request.app.state.db, actor_of(request)
    offered = await forum_moves.move_form(db, actor, path_id(request))
    if "typed" not in context:
        context["typed"] = {"note": t(request, forum_moves.DEFAULT_NOTE),
                            "message": t(request, forum_moves.DEFAULT_MESSAGE) % {"name": offered["starter_name"]},
                            "mailbox_id": str(offered["mailboxes"][0]["id"]) if offered["mailboxes"] else ""}
    return page(request, "pages/forum_move.html", status, **offered, **context)


@login_required
async def move_form(request: Request) -> Response:
    return await _move_page(request)


@login_required
async def move(request: Request) -> Response:
    conversation_id, form = path_id(request), await request.form()
    typed = _typed(form, MOVE_FIELDS)
    try:
        await forum_moves.move_to_mail(request.app.state.db, actor_of(request), conversation_id,
                                       mailbox_id=typed["mailbox_id"], note=typed["note"], message=typed["message"],
                                       quote_header=t(request, forum_moves.QUOTE_HEADER))
    except Invalid as exc:
        return await _move_page(request, 400, typed=typed, error=error_text(request, exc), error_field=exc.field)
    return redirect(f"/conversations/{conversation_id}")


@login_required
async def ask_again(request: Request) -> Response:
    """The visitor of a moved thread gets a new link to confirm their address."""
    conversation_id = path_id(request)
    await forum_moves.ask_again(request.app.state.db, actor_of(request), conversation_id)
    return redirect(f"/conversations/{conversation_id}")


async def _publish_page(request: Request, status: int = 200, **context) -> Response:
    db, actor = request.app.state.db, actor_of(request)
    conversation_id = path_id(request)
    prefilled = await forum_moves.publish_form(db, actor, conversation_id)
    forums = await forum_moves.forums(db, actor.org_id)
    return page(request, "pages/forum_publish.html", status, conversation_id=conversation_id, forums=forums,
                **{"typed": prefilled, **context})


@login_required
async def publish_form(request: Request) -> Response:
    return await _publish_page(request)


@login_required
async def publish(request: Request) -> Response:
    conversation_id, form = path_id(request), await request.form()
    typed = _typed(form, PUBLISH_FIELDS)
    try:
        thread_id, _ = await forum_moves.publish(
            request.app.state.db, actor_of(request), conversation_id, forum_id=typed["forum_id"],
            title=typed["title"], question=typed["question"], answer=typed["answer"], edited=typed["edited"] == "1")
    except Invalid as exc:
        return await _publish_page(request, 400, typed=typed, error=error_text(request, exc), error_field=exc.field)
    return redirect(f"/conversations/{thread_id}")


async def moved_page(request: Request, found: forum.Forum) -> Response:
    """A thread that moved to private mail, at its old URL: the editor's note (and the thread published back)."""
    moved = await forum_moves.moved_thread(request.app.state.db, found.org_id, found.channel_id,
                                           request.path_params["number"])
    return page(request, "pages/forum_moved.html", forum=found, moved=moved)


routes = [
    Route("/conversations/{id:int}/move", move_form, methods=["GET"]),
    Route("/conversations/{id:int}/move", move, methods=["POST"]),
    Route("/conversations/{id:int}/move/ask-again", ask_again, methods=["POST"]),
    Route("/conversations/{id:int}/publish", publish_form, methods=["GET"]),
    Route("/conversations/{id:int}/publish", publish, methods=["POST"]),
]
