"""A conversation's page, and working it: reply, note, status, assignment, "no reply needed"."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import accounts, blocking, canned, case_tools, conversations, followups, history, tags
from app import forum_editing
from app.errors import Invalid, NotFound
from app.web import composer
from app.web.base import actor_of, error_text, login_required, page, path_id, redirect


async def _page(request: Request, conversation_id: int, status: int = 200, **extra) -> Response:
    db, actor = request.app.state.db, actor_of(request)
    case = await history.case(db, actor.org_id, conversation_id)  # row, messages, timeline, customer's cases
    row, messages = case["row"], case["messages"]
    editors = [m for m in await accounts.members(db, actor.org_id) if m["role"] != "viewer"]
    offered = [(r, canned.fill(r["body"], customer=row["customer_name"], case_number=row["case_number"],
                               editor=actor.name)) for r in await canned.offered(db, actor.org_id, row["channel_id"])]
    return page(request, "pages/conversation.html", status, **case, editors=editors,
                all_tags=await tags.tag_list(db, actor.org_id), canned_replies=offered,
                statuses=conversations.STATUSES[row["kind"]],
                seen=max((m["id"] for m in messages), default=0),
                # the reply composer: the person's draft and the mailbox's signature (issue 7)
                **(await composer.context(request, conversation_id, row["channel_id"]) if actor.can_edit else {}),
                # the forum's editor workflow (issue 8): pinned, earlier versions
                forum_tools=(await forum_editing.tools(db, actor.org_id, conversation_id)
                             if row["kind"] == "forum" else None),
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


@login_required
async def follow_up(request: Request) -> Response:
    conversation_id, form, actor = path_id(request), await request.form(), actor_of(request)
    typed = str(form.get("follow_up_at", ""))
    try:
        at = None if form.get("clear") else followups.chosen_time(actor, typed, str(form.get("quick", "")))
        await followups.set_follow_up(request.app.state.db, actor, conversation_id, at)
    except Invalid as exc:
        return await _page(request, conversation_id, 400, follow_up_draft=typed,
                           follow_up_error=error_text(request, exc))
    return _back(conversation_id)


# --- case tools: spam, blocking the sender, split, merge, the formatted mail ---------------------


@login_required
async def spam(request: Request) -> Response:
    conversation_id, form = path_id(request), await request.form()
    await case_tools.mark_spam(request.app.state.db, actor_of(request), conversation_id, form.get("spam") != "0")
    return _back(conversation_id)


@login_required
async def block(request: Request) -> Response:
    db, actor, conversation_id = request.app.state.db, actor_of(request), path_id(request)
    form = await request.form()
    row = await conversations.find_row(db, actor.org_id, conversation_id)
    if row is None:
        raise NotFound()
    if not row["customer_email"]:
        return _back(conversation_id)
    sender = row["customer_email"] if form.get("scope") != "domain" else blocking.domain_of(row["customer_email"])
    await blocking.block(db, actor, sender)
    return await _page(request, conversation_id, blocked_now=sender)


@login_required
async def split(request: Request) -> Response:
    conversation_id, form = path_id(request), await request.form()
    try:
        new_id = await case_tools.split(request.app.state.db, actor_of(request), conversation_id,
                                        _int(form.get("message_id"), -1), str(form.get("reason", "")))
    except Invalid as exc:
        return await _page(request, conversation_id, 400, split_error=error_text(request, exc))
    return _back(new_id)


@login_required
async def merge(request: Request) -> Response:
    conversation_id, form = path_id(request), await request.form()
    into = str(form.get("into", ""))
    try:
        target = await case_tools.merge(request.app.state.db, actor_of(request), conversation_id, into)
    except Invalid as exc:
        return await _page(request, conversation_id, 400, merge_error=error_text(request, exc), merge_into=into)
    return _back(target)


# The mail's sanitised HTML, shown in a sandboxed frame on the case page: no scripts, no remote images.
FORMATTED_CSP = ("default-src 'none'; img-src data: cid:; style-src 'unsafe-inline'; sandbox; "
                 "frame-ancestors 'self'; base-uri 'none'; form-action 'none'")


@login_required
async def formatted(request: Request) -> Response:
    html = await history.message_html(request.app.state.db, actor_of(request).org_id, path_id(request))
    document = f'<!doctype html><html><head><meta charset="utf-8"></head><body>{html}</body></html>'
    return Response(document, media_type="text/html", headers={
        "content-security-policy": FORMATTED_CSP, "x-frame-options": "SAMEORIGIN"})


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
    Route("/conversations/{id:int}/follow-up", follow_up, methods=["POST"]),
    # case tools
    Route("/conversations/{id:int}/spam", spam, methods=["POST"]),
    Route("/conversations/{id:int}/block", block, methods=["POST"]),
    Route("/conversations/{id:int}/split", split, methods=["POST"]),
    Route("/conversations/{id:int}/merge", merge, methods=["POST"]),
    Route("/messages/{id:int}/html", formatted),
    # the reply composer (issue 7)
    Route("/conversations/{id:int}/uploads", upload, methods=["POST"]),
    Route("/conversations/{id:int}/draft", draft, methods=["POST"]),
    Route("/conversations/{id:int}/resend", resend, methods=["POST"]),
]
