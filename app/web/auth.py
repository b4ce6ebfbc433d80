"""Login, logout, invite acceptance, password reset, "forgot password"."""
from __future__ import annotations

import asyncio
import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import accounts, ratelimit
from app.errors import Invalid, NotFound
from app.i18n import N_
from app.web.base import error_text, page, redirect, session_of, t
from app.web.middleware import SESSION_COOKIE, cookie_header, session_signer


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


LOCAL_PATH = re.compile(r"/(?!/)[\x21-\x5b\x5d-\x7e]*")


def _local_path(value) -> str:
    """Where to go after logging in: a path on this site only, never another site (open redirect)."""
    value = str(value or "")
    # printable ASCII without backslashes, not "//…": browsers drop tabs and read "\\" as "/"
    return value if LOCAL_PATH.fullmatch(value) else "/"


def _login_response(request: Request, token: str, then: str = "/") -> Response:
    settings = request.app.state.settings
    response = redirect(then)
    signed = session_signer(settings.secret_key).sign(token).decode()
    response.headers.append("set-cookie", cookie_header(
        SESSION_COOKIE, signed, secure=settings.secure_cookies, max_age=accounts.SESSION_DAYS * 86400))
    return response


async def login_form(request: Request) -> Response:
    then = _local_path(request.query_params.get("next"))
    if session_of(request):
        return redirect(then)
    return page(request, "pages/login.html", then=then)


async def login(request: Request) -> Response:
    state = request.app.state
    form = await request.form()
    email = str(form.get("email", "")).strip().lower()[:254]
    password = str(form.get("password", ""))
    settings = state.settings
    ip = _client_ip(request)
    pair, address, account = f"login:pair:{ip} {email}", f"login:ip:{ip}", f"login:account:{email}"
    # Counted before the password is checked, so simultaneous guesses cannot all slip under the limits.
    attempt = await ratelimit.count(state.redis, [(pair, settings.login_attempts),
                                                  (address, settings.login_attempts_per_address),
                                                  (account, None)], settings.login_window_seconds)
    if attempt.retry_after:
        return _too_many(request, email, attempt.retry_after)
    # Per account a slow-down, never a 429: strangers elsewhere must not lock the owner out.
    if delay := ratelimit.backoff(attempt.counts[2], settings.login_slowdown_after,
                                  settings.login_slowdown_max_seconds):
        await asyncio.sleep(delay)
    user_id = await accounts.authenticate(state.db, email, password)
    token = await accounts.start_session(state.db, user_id) if user_id else None
    then = _local_path(form.get("next"))
    if user_id and token is None and then.startswith("/invite/"):
        # in no organisation now (a former member, say): the invite they came from lets them in again
        token, then = await _join_by_invite(request, then.removeprefix("/invite/"), user_id, email), "/"
    if token is None:
        # One message whether or not the account exists.
        return page(request, "pages/login.html", 400, email=email, then=_local_path(form.get("next")),
                    error=t(request, "Wrong e-mail address or password."))
    # Only failures count: the owner's own slips are forgotten; address and account get this attempt back.
    await ratelimit.clear(state.redis, pair)
    await ratelimit.take_back(state.redis, [address, account])
    return _login_response(request, token, then)


async def _join_by_invite(request: Request, invite: str, user_id: int, email: str) -> str | None:
    state = request.app.state
    try:
        await accounts.accept_invite_as(state.db, state.settings.secret_key, invite, user_id, email)
    except (Invalid, NotFound):
        return None
    return await accounts.start_session(state.db, user_id)


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
    """Join an organisation: a new account here, or, for an address with an account, after logging in."""
    state = request.app.state
    token = request.path_params["token"]
    invite = await accounts.invite_from_token(state.db, state.settings.secret_key, token)
    session = session_of(request)
    if request.method == "GET":
        return page(request, "pages/invite.html", invite=invite)
    if session is not None:
        try:
            org_id = await accounts.accept_invite_as(state.db, state.settings.secret_key, token,
                                                     session.actor.user_id, session.actor.email)
        except Invalid as exc:
            return page(request, "pages/invite.html", 400, invite=invite, error=error_text(request, exc))
        await accounts.switch_organization(state.db, request.state.session_token, org_id)
        return redirect("/")
    form = await request.form()
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    try:
        if password != str(form.get("password2", "")):
            raise Invalid(N_("The passwords do not match."), "password2")
        user_id = await accounts.accept_invite(state.db, state.settings.secret_key, token, name, password)
    except Invalid as exc:
        return page(request, "pages/invite.html", 400, invite=invite, name=name, error=error_text(request, exc),
                    error_field=exc.field)
    return _login_response(request, await accounts.start_session(state.db, user_id))


async def reset_page(request: Request) -> Response:
    state = request.app.state
    token = request.path_params["token"]
    await accounts.user_for_reset(state.db, state.settings.secret_key, token)
    if request.method == "GET":
        return page(request, "pages/reset.html")
    form = await request.form()
    password = str(form.get("password", ""))
    try:
        if password != str(form.get("password2", "")):
            raise Invalid(N_("The passwords do not match."), "password2")
        user_id = await accounts.reset_password(state.db, state.settings.secret_key, token, password)
    except Invalid as exc:
        return page(request, "pages/reset.html", 400, error=error_text(request, exc), error_field=exc.field)
    token = await accounts.start_session(state.db, user_id)
    return _login_response(request, token) if token else redirect("/login")


async def forgot_form(request: Request) -> Response:
    return page(request, "pages/forgot.html")


async def forgot(request: Request) -> Response:
    """Mail a reset link if the address has an account: the same answer either way, and no mail is sent
    here (the worker does), so both answers take about as long."""
    state, settings = request.app.state, request.app.state.settings
    form = await request.form()
    email = str(form.get("email", "")).strip()[:254]
    client = await ratelimit.count(state.redis, [(f"forgot:ip:{_client_ip(request)}", settings.forgot_per_client)],
                                   settings.forgot_window_seconds)
    if client.retry_after:
        response = page(request, "pages/forgot.html", 429, email=email,
                        error=t(request, "Too many attempts. Wait a while and try again."))
        response.headers["retry-after"] = str(client.retry_after)
        return response
    try:
        email = accounts.normalise_email(email)
    except Invalid as exc:
        return page(request, "pages/forgot.html", 400, email=email, error=error_text(request, exc))
    # Past the limit for an address: no more mail, the same answer (no one can block another's reset).
    mine = await ratelimit.count(state.redis, [(f"forgot:email:{email}", settings.forgot_per_email)],
                                 settings.forgot_window_seconds)
    if mine.retry_after is None:
        await accounts.request_password_reset(state.db, email)
    return page(request, "pages/forgot.html", sent=email)


routes = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/invite/{token}", invite_page, methods=["GET", "POST"]),
    Route("/reset/{token}", reset_page, methods=["GET", "POST"]),
    Route("/forgot", forgot_form, methods=["GET"]),
    Route("/forgot", forgot, methods=["POST"]),
]
