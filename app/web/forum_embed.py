"""The forum's embeddable form (app/forum_embed.py) and, on the forum's admin page, the sites that may frame it."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import forum, forum_embed
from app.errors import Invalid
from app.web import admin, visitor
from app.web import forum as forum_web  # the public form's steps (honeypot, checks, rate limits), shared
from app.web.base import actor_of, admin_required, error_text, page, path_id, redirect, t
from app.web.middleware import CSP


async def _form(request: Request, found: forum.Forum, status: int = 200, **context) -> Response:
    """The form, framable by the forum's listed sites only, with a fresh token of its own."""
    db, secret = request.app.state.db, request.app.state.settings.secret_key
    context.setdefault("typed", {"ref": forum_web._came_from(request)})
    response = page(request, "pages/forum_embed.html", status, forum=found, topics=forum.TOPICS,
                    embed_token=forum_embed.form_token(secret, found.channel_id), **context)
    response.headers["content-security-policy"] = forum_embed.frame_policy(
        CSP, await forum_embed.origins_of(db, found.org_id, found.channel_id))
    return response


async def embed_form(request: Request) -> Response:
    found = await forum.find(request.app.state.db, request.path_params["slug"])
    return await _form(request, found, sent=request.query_params.get("sent") == "1")


async def embed_post(request: Request) -> Response:
    """A post from the embedded form: its own token instead of the CSRF cookie, then the public form's steps."""
    db = request.app.state.db
    found = await forum.find(db, request.path_params["slug"])
    form = await request.form()
    if not forum_embed.token_ok(request.app.state.settings.secret_key, found.channel_id,
                                str(form.get("embed_token", ""))):
        return await _form(request, found, 403, typed=forum_web._typed(form),
                           error=t(request, "The form has expired. Send it again."))

    async def again(status: int, **context) -> Response:
        return await _form(request, found, status, **context)

    async def write(post: forum.Post, typed: dict, user_agent: str) -> str:
        number = await forum.start_thread(db, found, topic=typed["topic"], title=typed["title"], post=post,
                                          user_agent=user_agent, page=typed["ref"])
        await visitor.follow_if_asked(request, found, number, post, typed)
        return f"/forum/{found.slug}/embed?sent=1"

    return await forum_web._post(request, again, write)


@admin_required
async def save_origins(request: Request) -> Response:
    """The sites that may frame a forum's form, from its admin page."""
    channel_id, form = path_id(request), await request.form()
    typed = str(form.get("embed_origins", ""))
    try:
        await forum_embed.save_origins(request.app.state.db, actor_of(request), channel_id, typed)
    except Invalid as exc:
        return await admin._channel_page(request, 400, embed_error=error_text(request, exc), embed_typed=typed)
    return redirect(f"/admin/channels/{channel_id}#embed")


routes = [
    Route("/forum/{slug}/embed", embed_form, methods=["GET"]),
    Route("/forum/{slug}/embed", embed_post, methods=["POST"]),
    Route("/admin/channels/{id:int}/embed", save_origins, methods=["POST"]),
]
