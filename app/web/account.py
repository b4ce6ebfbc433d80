"""A person's own settings: language, current organisation, away."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import accounts
from app.errors import Invalid, NotFound
from app.i18n import N_
from app.web.base import LANG_COOKIE, actor_of, login_required, redirect, session_of


def _back(request: Request) -> Response:
    back = request.headers.get("referer", "/")
    return redirect(back if back.startswith(str(request.base_url)) else "/")


async def set_language(request: Request) -> Response:
    form = await request.form()
    locale = str(form.get("locale", ""))
    if locale not in ("sv", "en"):
        raise Invalid(N_("Unknown language."))
    session = session_of(request)
    if session:
        await accounts.set_locale(request.app.state.db, session.actor.user_id, locale)
    response = _back(request)
    response.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, httponly=True, samesite="lax",
                        secure=request.app.state.settings.secure_cookies)
    return response


@login_required
async def switch_organization(request: Request) -> Response:
    form = await request.form()
    try:
        org_id = int(form.get("org_id", ""))
    except ValueError:
        raise NotFound() from None
    await accounts.switch_organization(request.app.state.db, request.state.session_token, org_id)
    return redirect("/")


@login_required
async def set_away(request: Request) -> Response:
    form = await request.form()
    actor = actor_of(request)
    await accounts.set_away(request.app.state.db, actor, actor.user_id, form.get("away") == "1")
    return _back(request)


routes = [
    Route("/language", set_language, methods=["POST"]),
    Route("/organization", switch_organization, methods=["POST"]),
    Route("/away", set_away, methods=["POST"]),
]
