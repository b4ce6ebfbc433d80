"""A forum visitor's mail (app/visitor_mail.py): confirming their address and stopping answer mails, by
the links we mailed them. Each link opens a page with one button: mail scanners that fetch links
change nothing, only the person's click (a POST, with the anonymous CSRF token) does."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import forum, visitor_mail
from app.web.base import locale_of, page


async def follow_if_asked(request: Request, found: forum.Forum, number: int, post: forum.Post, typed: dict) -> None:
    """The visitor ticked "notify me of answers" with their post: follow the thread."""
    if typed.get("notify"):
        shown = await forum.thread(request.app.state.db, found, number)
        await visitor_mail.follow(request.app.state.db, found.org_id, shown["thread"]["id"], email=post.email,
                                  name=post.name, locale=locale_of(request))


def _secret(request: Request) -> str:
    return request.app.state.settings.secret_key


async def confirm_page(request: Request) -> Response:
    _, row = await visitor_mail.address_of_token(request.app.state.db, _secret(request), request.path_params["token"])
    return page(request, "pages/visitor_confirm.html", address=row, done=row["confirmed_at"] is not None)


async def confirm(request: Request) -> Response:
    db, token = request.app.state.db, request.path_params["token"]
    await visitor_mail.confirm(db, _secret(request), token)
    _, row = await visitor_mail.address_of_token(db, _secret(request), token)
    return page(request, "pages/visitor_confirm.html", address=row, done=True)


async def unsubscribe_page(request: Request) -> Response:
    _, row = await visitor_mail.subscription_of_token(request.app.state.db, _secret(request),
                                                      request.path_params["token"])
    return page(request, "pages/visitor_unsubscribe.html", subscription=row, done=False)


async def unsubscribe(request: Request) -> Response:
    db, token = request.app.state.db, request.path_params["token"]
    _, row = await visitor_mail.subscription_of_token(db, _secret(request), token)
    await visitor_mail.unsubscribe(db, _secret(request), token)
    return page(request, "pages/visitor_unsubscribe.html", subscription=row, done=True)


routes = [
    Route("/visitor/confirm/{token}", confirm_page, methods=["GET"]),
    Route("/visitor/confirm/{token}", confirm, methods=["POST"]),
    Route("/visitor/unsubscribe/{token}", unsubscribe_page, methods=["GET"]),
    Route("/visitor/unsubscribe/{token}", unsubscribe, methods=["POST"]),
]
