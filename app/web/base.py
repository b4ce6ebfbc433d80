"""What every handler shares: rendering a page with the viewer's context, access guards, errors."""
from __future__ import annotations

from functools import wraps

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from app.accounts import Session
from app.actors import Actor
from app.errors import Forbidden, Invalid, NotFound
from app.i18n import pick_locale, translations
from app.templating import render

LANG_COOKIE = "samsyn_lang"


def session_of(request: Request) -> Session | None:
    return getattr(request.state, "session", None)  # none on paths the session middleware skips


def actor_of(request: Request) -> Actor:
    return request.state.session.actor


def locale_of(request: Request) -> str:
    session = session_of(request)
    return pick_locale(session.actor.locale if session else None, request.cookies.get(LANG_COOKIE))


def t(request: Request, message: str) -> str:
    """The message in the viewer's language."""
    return translations(locale_of(request)).gettext(message)


def error_text(request: Request, exc: Invalid) -> str:
    """A domain error's message in the viewer's language."""
    return exc.text(translations(locale_of(request)).gettext)


def page(request: Request, template: str, status: int = 200, /, **context) -> HTMLResponse:
    session = session_of(request)
    html = render(
        template,
        request=request,
        session=session,
        actor=session.actor if session else None,
        csrf_token=getattr(request.state, "csrf_token", ""),
        locale=locale_of(request),
        time_zone=session.actor.time_zone if session else "Europe/Stockholm",
        **context,
    )
    return HTMLResponse(html, status_code=status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def login_required(handler):
    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        if session_of(request) is None:
            if request.headers.get("hx-request"):
                return Response(status_code=401, headers={"HX-Redirect": "/login"})
            return redirect("/login")
        return await handler(request)

    return wrapper


def admin_required(handler):
    @login_required
    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        if not actor_of(request).is_admin:
            raise Forbidden()
        return await handler(request)

    return wrapper


def path_id(request: Request, name: str = "id") -> int:
    """An id from the path; out-of-range numbers are simply not found."""
    value = request.path_params[name]
    if not 0 < value < 2**63:
        raise NotFound()
    return value


async def not_found(request: Request, exc: Exception) -> Response:
    return page(request, "pages/error.html", 404, title=t(request, "Not found"),
                message=t(request, "There is nothing here, or you do not have access to it."))


async def forbidden(request: Request, exc: Exception) -> Response:
    return page(request, "pages/error.html", 403, title=t(request, "Not allowed"),
                message=t(request, "Your role does not allow this. Ask an admin."))


async def invalid(request: Request, exc: Invalid) -> Response:
    return page(request, "pages/error.html", 400, title=t(request, "Could not save"),
                message=error_text(request, exc))


async def http_error(request: Request, exc) -> Response:
    if exc.status_code == 404:
        return await not_found(request, exc)
    return page(request, "pages/error.html", exc.status_code, title=str(exc.status_code), message=exc.detail or "")


EXCEPTION_HANDLERS = {NotFound: not_found, Forbidden: forbidden, Invalid: invalid}
