"""A conversation's page, and working it: reply, note, status, assignment, "no reply needed"."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import accounts, canned, channels, conversations, tags
from app.errors import Invalid
from app.mail import raw
from app.web import composer
from app.web.base import actor_of, error_text, login_required, page, path_id, redirect


async def _page(request: Request, conversation_id: int, status: int = 200, **extra) -> Response:
    db, actor = request.app.state.db, actor_of(request)
    row, messages = await conversations.get(db, actor.org_id, conversation_id)
    editors = [m for m in await accounts.members(db, actor.org_id) if m["role"] != "viewer"]
    offered = [(r, canned.fill(r["body"], customer=row["customer_name"], case_number=row["case_number"],
                               editor=actor.name)) for r in await canned.offered(db, actor.org_id, row["channel_id"])]
    return page(request, "pages/conversation.html", status, row=row, messages=messages, editors=editors,
                all_tags=await tags.tag_list(db, actor.org_id), canned_replies=offered,
                statuses=conversations.STATUSES[row["kind"]],
                attachments=await raw.attachments_of(db, actor.org_id, row["id"]),
                seen=max((m["id"] for m in messages), default=0),
                # the reply composer: the person's draft and the mailbox's signature (issue 7)
                **(await composer.context(request, conversation_id) if actor.can_edit else {}),
                signature=(await channels.get_channel(db, actor.org_id, row["channel_id"]))["signature"],
                **extra)


@login_required
async def show(request: Request) -> Response:
    return await _page(request, path_id(request))


def _back(conversation_id: int) -> Response:
    return redirect(f"/conversations/{conversation_id}")


def _int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@login_required
async def reply(request: Request) -> Response:
    conversation_id, form = path_id(request), await request.form()
    try:
        composer.refuse_unattached(form)
        await conversations.reply(request.app.state.db, actor_of(request), conversation_id,
                                  str(form.get("body", "")), seen_message_id=_int(form.get("seen")),
                                  send_anyway=form.get("send_anyway") == "1", cc=str(form.get("cc", "")),
                                  bcc=str(form.get("bcc", "")))
    except conversations.NewerMessages as newer:
        # held: the writer reviews what arrived, then sends anyway or edits; the draft keeps what they wrote
        await composer.keep(request, conversation_id, form)
        return await _page(request, conversation_id, 409, newer=newer.messages)
    except Invalid as exc:
        await composer.keep(request, conversation_id, form)
        return await _page(request, conversation_id, 400, reply_error=error_text(request, exc))
    return _back(conversation_id)


@login_required
async def note(request: Request) -> Response:
    conversation_id, form = path_id(request), await request.form()
    body = str(form.get("body", ""))
    try:
        await conversations.add_note(request.app.state.db, actor_of(request), conversation_id, body)
    except Invalid as exc:
        return await _page(request, conversation_id, 400, note_draft=body, note_error=error_text(request, exc))
    return _back(conversation_id)


@login_required
async def status(request: Request) -> Response:
    conversation_id, form = path_id(request), await request.form()
    await conversations.set_status(request.app.state.db, actor_of(request), conversation_id,
                                   str(form.get("status", "")))
    return _back(conversation_id)


@login_required
async def assign(request: Request) -> Response:
    conversation_id, form = path_id(request), await request.form()
    assignee = str(form.get("assignee_id", ""))  # "" unassigns
    try:
        await conversations.assign(request.app.state.db, actor_of(request), conversation_id,
                                   _int(assignee, -1) if assignee else None)
    except Invalid as exc:
        return await _page(request, conversation_id, 400, assign_error=error_text(request, exc))
    return _back(conversation_id)


@login_required
async def tag(request: Request) -> Response:
    conversation_id, form = path_id(request), await request.form()
    await tags.tag(request.app.state.db, actor_of(request), conversation_id, _int(form.get("tag_id"), -1))
    return _back(conversation_id)


@login_required
async def untag(request: Request) -> Response:
    conversation_id, form = path_id(request), await request.form()
    await tags.untag(request.app.state.db, actor_of(request), conversation_id, _int(form.get("tag_id"), -1))
    return _back(conversation_id)


@login_required
async def no_reply_needed(request: Request) -> Response:
    conversation_id = path_id(request)
    await conversations.mark_no_reply_needed(request.app.state.db, actor_of(request), conversation_id)
    return _back(conversation_id)


# --- the reply composer: uploads, drafts, sending a failed reply again (issue 7) ---------------------

@login_required
async def upload(request: Request) -> Response:
    conversation_id = path_id(request)

    async def again(request: Request, status: int, **extra) -> Response:
        return await _page(request, conversation_id, status, **extra)

    return await composer.upload(request, conversation_id, f"/conversations/{conversation_id}#composer", again)


@login_required
async def draft(request: Request) -> Response:
    conversation_id = path_id(request)
    return await composer.save_draft(request, conversation_id, f"/conversations/{conversation_id}#composer")


@login_required
async def resend(request: Request) -> Response:
    conversation_id, form = path_id(request), await request.form()
    try:
        await conversations.resend(request.app.state.db, actor_of(request), conversation_id,
                                   _int(form.get("message_id"), -1))
    except Invalid as exc:
        return await _page(request, conversation_id, 400, resend_error=error_text(request, exc))
    return _back(conversation_id)


routes = [
    Route("/conversations/{id:int}", show),
    Route("/conversations/{id:int}/reply", reply, methods=["POST"]),
    Route("/conversations/{id:int}/note", note, methods=["POST"]),
    Route("/conversations/{id:int}/status", status, methods=["POST"]),
    Route("/conversations/{id:int}/assign", assign, methods=["POST"]),
    Route("/conversations/{id:int}/no-reply-needed", no_reply_needed, methods=["POST"]),
    Route("/conversations/{id:int}/tag", tag, methods=["POST"]),
    Route("/conversations/{id:int}/untag", untag, methods=["POST"]),
    # the reply composer (issue 7)
    Route("/conversations/{id:int}/uploads", upload, methods=["POST"]),
    Route("/conversations/{id:int}/draft", draft, methods=["POST"]),
    Route("/conversations/{id:int}/resend", resend, methods=["POST"]),
]
