"""Login, logout, invite acceptance, password reset."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import accounts, ratelimit
from app.errors import Invalid
from app.web.base import page, redirect, session_of, t
from app.web.middleware import SESSION_COOKIE, cookie_header, session_signer


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _login_response(request: Request, token: str) -> Response:
    settings = request.app.state.settings
    response = redirect("/")
    signed = session_signer(settings.secret_key).sign(token).decode()
    response.headers.append("set-cookie", cookie_header(
        SESSION_COOKIE, signed, secure=settings.secure_cookies, max_age=accounts.SESSION_DAYS * 86400))
    return response


async def login_form(request: Request) -> Response:
    if session_of(request):
        return redirect("/")
    return page(request, "pages/login.html")


async def login(request: Request) -> Response:
    state = request.app.state
    form = await request.form()
    email = str(form.get("email", "")).strip().lower()[:254]
    password = str(form.get("password", ""))
    settings = state.settings
    counters = [(f"login:email:{email}", settings.login_attempts),
                (f"login:ip:{_client_ip(request)}", settings.login_attempts_per_address)]
    if wait := await ratelimit.retry_after(state.redis, counters):
        return _too_many(request, email, wait)
    user_id = await accounts.authenticate(state.db, email, password)
    token = await accounts.start_session(state.db, user_id) if user_id else None
    if token is None:
        await ratelimit.count_failure(state.redis, [name for name, _ in counters], settings.login_window_seconds)
        # One message whether or not the account exists.
        return page(request, "pages/login.html", 400, email=email,
                    error=t(request, "Wrong e-mail address or password."))
    await ratelimit.clear(state.redis, f"login:email:{email}")
    return _login_response(request, token)


def _too_many(request: Request, email: str, retry_after: int) -> Response:
    response = page(request, "pages/login.html", 429, email=email,
                    error=t(request, "Too many attempts. Wait a while and try again."))
    response.headers["retry-after"] = str(retry_after)
    return response


async def logout(request: Request) -> Response:
    token = request.state.session_token if session_of(request) else None
    if token:
        await accounts.end_session(request.app.state.db, token)
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def invite_page(request: Request) -> Response:
    state = request.app.state
    token = request.path_params["token"]
    invite, existing_user = await accounts.invite_from_token(state.db, state.settings.secret_key, token)
    if request.method == "GET":
        return page(request, "pages/invite.html", invite=invite, existing=existing_user is not None)
    form = await request.form()
    password = str(form.get("password", ""))
    if existing_user is None and password != str(form.get("password2", "")):
        return page(request, "pages/invite.html", 400, invite=invite, existing=False, name=form.get("name", ""),
                    error=t(request, "The passwords do not match."))
    try:
        user_id = await accounts.accept_invite(state.db, state.settings.secret_key, token,
                                               str(form.get("name", "")), password)
    except Invalid as exc:
        return page(request, "pages/invite.html", 400, invite=invite, existing=existing_user is not None,
                    name=form.get("name", ""), error=t(request, exc.message))
    return _login_response(request, await accounts.start_session(state.db, user_id))


async def reset_page(request: Request) -> Response:
    state = request.app.state
    token = request.path_params["token"]
    await accounts.user_for_reset(state.db, state.settings.secret_key, token)
    if request.method == "GET":
        return page(request, "pages/reset.html")
    form = await request.form()
    password = str(form.get("password", ""))
    if password != str(form.get("password2", "")):
        return page(request, "pages/reset.html", 400, error=t(request, "The passwords do not match."))
    try:
        user_id = await accounts.reset_password(state.db, state.settings.secret_key, token, password)
    except Invalid as exc:
        return page(request, "pages/reset.html", 400, error=t(request, exc.message))
    token = await accounts.start_session(state.db, user_id)
    return _login_response(request, token) if token else redirect("/login")


routes = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/invite/{token}", invite_page, methods=["GET", "POST"]),
    Route("/reset/{token}", reset_page, methods=["GET", "POST"]),
]
