"""The public forum: start page, threads, and visitors' posts. No login; works without JavaScript.

CSRF as on the login page: the middleware's double-submit token (an HttpOnly cookie set on the first
page, echoed in each form). Posting is rate-limited per client address and per e-mail address, and a
honeypot field that people never see turns away the simplest robots.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import forum, forum_search, ratelimit
from app.errors import Invalid, NotFound
from app.i18n import N_
from app.web import forum_moves, visitor  # forum moves, visitors' mail (issue 8)
from app.web.base import error_text, page, redirect, t

HONEYPOT = "website"  # a field hidden from people (CSS and aria-hidden); robots fill it in


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _came_from(request: Request) -> str:
    """The page a visitor came from: the `ref` parameter, else the Referer when it is another site."""
    ref = request.query_params.get("ref", "")
    if not ref:
        referer = request.headers.get("referer", "")
        ref = referer if urlsplit(referer).netloc not in ("", request.headers.get("host")) else ""
    return ref[:forum.MAX_PAGE]


def _typed(form) -> dict:
    return {key: str(form.get(key, ""))[:forum.MAX_PAGE if key == "ref" else None]
            for key in ("topic", "title", "name", "email", "body", "parent_id", "ref", "notify")}


async def _admitted(request: Request, email: str, what: str = "forum") -> int | None:
    """Count this post (or vote) against the client's and the e-mail's limits; seconds to wait when refused."""
    settings = request.app.state.settings
    attempt = await ratelimit.count(request.app.state.redis, [
        (f"{what}:ip:{_client_ip(request)}", settings.forum_posts_per_client),
        (f"{what}:email:{email.strip().lower()[:254]}", settings.forum_posts_per_email),
    ], settings.forum_window_seconds)
    return attempt.retry_after


async def _post(request: Request, again, write) -> Response:
    """The steps every visitor's post shares: honeypot, checks, rate limits, writing; errors re-render `again`."""
    form = await request.form()
    typed = _typed(form)
    try:
        if form.get(HONEYPOT):
            raise Invalid(N_("Your post could not be accepted."))
        post = forum.clean_post(typed["name"], typed["email"], typed["body"])
        if retry_after := await _admitted(request, post.email):
            response = await again(429, typed=typed, error=t(request, "You have posted a lot in a short time. "
                                                                      "Wait a while and try again."))
            response.headers["retry-after"] = str(retry_after)
            return response
        return redirect(await write(post, typed, request.headers.get("user-agent", "")))
    except Invalid as exc:
        return await again(400, typed=typed, error=error_text(request, exc), error_field=exc.field)


async def start_page(request: Request) -> Response:
    db = request.app.state.db
    found = await forum.find(db, request.path_params["slug"])
    q = request.query_params.get("q", "")[:200]  # a search of the forum's threads, shown in place of the list
    return page(request, "pages/forum.html", forum=found, ref=_came_from(request), q=q,
                results=await forum_search.search(db, found, q) if q.strip() else None,
                threads=[] if q.strip() else await forum.threads(db, found))


async def similar(request: Request) -> Response:
    """Threads like the title being typed on the new-thread page (htmx, after a pause in typing)."""
    db = request.app.state.db
    found = await forum.find(db, request.path_params["slug"])
    title = request.query_params.get("title", "")[:forum.MAX_TITLE]
    return page(request, "partials/forum_similar.html", forum=found, similar=await forum_search.similar(db, found, title))


async def new_thread_form(request: Request) -> Response:
    found = await forum.find(request.app.state.db, request.path_params["slug"])
    return page(request, "pages/forum_new.html", forum=found, typed={"ref": _came_from(request)}, topics=forum.TOPICS)


async def new_thread(request: Request) -> Response:
    db = request.app.state.db
    found = await forum.find(db, request.path_params["slug"])

    async def again(status: int, **context) -> Response:
        return page(request, "pages/forum_new.html", status, forum=found, topics=forum.TOPICS, **context)

    async def write(post: forum.Post, typed: dict, user_agent: str) -> str:
        number = await forum.start_thread(db, found, topic=typed["topic"], title=typed["title"], post=post,
                                          user_agent=user_agent, page=typed["ref"])
        await visitor.follow_if_asked(request, found, number, post, typed)  # "notify me of answers" (issue 8)
        return f"/forum/{found.slug}/{number}"

    return await _post(request, again, write)


async def _thread_page(request: Request, found: forum.Forum, status: int = 200, **context) -> Response:
    try:
        shown = await forum.thread(request.app.state.db, found, request.path_params["number"])
    except NotFound:
        try:  # forum moves (issue 8): a thread moved to private mail shows the editor's note instead
            return await forum_moves.moved_page(request, found)
        except NotFound:  # hidden, spam or never there: one clear page, which tells nothing of which
            return page(request, "pages/forum_unavailable.html", 404, forum=found)
    context.setdefault("typed", {"ref": _came_from(request)})
    return page(request, "pages/forum_thread.html", status, forum=found, **shown, **context)


async def thread(request: Request) -> Response:
    found = await forum.find(request.app.state.db, request.path_params["slug"])
    return await _thread_page(request, found)


async def answer(request: Request) -> Response:
    """A visitor's answer in the thread, or their comment on one message in it (parent_id)."""
    db = request.app.state.db
    found = await forum.find(db, request.path_params["slug"])
    number = request.path_params["number"]
    await forum.thread(db, found, number)  # hidden or unknown: 404 before anything is counted

    async def again(status: int, **context) -> Response:
        return await _thread_page(request, found, status, **context)

    async def write(post: forum.Post, typed: dict, user_agent: str) -> str:
        parent = typed["parent_id"]
        message_id = await forum.add_post(db, found, number, post=post, user_agent=user_agent, page=typed["ref"],
                                          parent_id=int(parent) if parent.isdigit() and len(parent) < 19 else None)
        await visitor.follow_if_asked(request, found, number, post, typed)  # "notify me of answers" (issue 8)
        return f"/forum/{found.slug}/{number}#message-{message_id}"

    return await _post(request, again, write)


async def vote(request: Request) -> Response:
    """A visitor's "me too", once per e-mail address; the same limits as posting, counted apart."""
    db = request.app.state.db
    found = await forum.find(db, request.path_params["slug"])
    number = request.path_params["number"]
    await forum.thread(db, found, number)
    form = await request.form()
    email = str(form.get("email", ""))[:254]
    try:
        if form.get(HONEYPOT):
            raise Invalid(N_("Your post could not be accepted."))
        if retry_after := await _admitted(request, email, "forum-vote"):
            response = await _thread_page(request, found, 429, voter=email, vote_error=t(
                request, "You have posted a lot in a short time. Wait a while and try again."))
            response.headers["retry-after"] = str(retry_after)
            return response
        counted = await forum.vote(db, found, number, email)
    except Invalid as exc:
        return await _thread_page(request, found, 400, voter=email, vote_error=error_text(request, exc))
    return redirect(f"/forum/{found.slug}/{number}?voted={'1' if counted else 'again'}#votes")


routes = [
    Route("/forum/{slug}", start_page, methods=["GET"]),
    Route("/forum/{slug}/new", new_thread_form, methods=["GET"]),
    Route("/forum/{slug}/new", new_thread, methods=["POST"]),
    Route("/forum/{slug}/{number:int}", thread, methods=["GET"]),
    Route("/forum/{slug}/{number:int}", answer, methods=["POST"]),
    Route("/forum/{slug}/{number:int}/vote", vote, methods=["POST"]),
    Route("/forum/{slug}/similar", similar, methods=["GET"]),  # the forum's editor workflow and search (issue 8)
]
