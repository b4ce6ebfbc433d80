"""Pure ASGI middleware: request ids and logs, security headers, sessions, CSRF.

Pure ASGI (not BaseHTTPMiddleware) so the request body can be read for the CSRF check and
handed on unchanged, and so WebSocket scopes pass through untouched.
"""
from __future__ import annotations

import hmac
import logging
import re
import secrets
import time
import uuid
from urllib.parse import parse_qs, urlsplit

from itsdangerous import BadSignature, Signer
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse

from app import accounts
from app.logs import request_id_var

log = logging.getLogger("samsyn.http")

SESSION_COOKIE = "samsyn_session"
CSRF_COOKIE = "samsyn_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
NO_SESSION_PREFIXES = ("/static/", "/healthz")  # read-only, the same for everyone
MAX_FORM_BYTES = 1_000_000
CSRF_REFUSED = ("Formuläret har gått ut eller kom från en annan webbplats. Ladda om sidan och försök igen.\n"
                "The form has expired or came from another site. Reload the page and try again.\n")
BAD_FORM = ("Formuläret innehåller tecken som inte är giltig text.\n"
            "The form contains characters that are not valid text.\n")
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
       "object-src 'none'")


def session_signer(secret: str) -> Signer:
    return Signer(secret, salt="samsyn.session")


def cookie_header(name: str, value: str, *, secure: bool, max_age: int | None = None) -> str:
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


class RequestContext:
    """A request id on every request (and its log lines), an access log, and security headers."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        incoming = HTTPConnection(scope).headers.get("x-request-id", "")
        request_id = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 0

        async def send_with_headers(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["x-request-id"] = request_id
                headers.setdefault("content-security-policy", CSP)
                headers["x-content-type-options"] = "nosniff"
                headers["referrer-policy"] = "same-origin"
                headers["x-frame-options"] = "DENY"
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if scope["type"] == "http":
                log.info("request", extra={
                    "method": scope["method"], "path": scope["path"], "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                })
            request_id_var.reset(token)


class SessionAndCsrf:
    """Loads the session named by the signed cookie, and refuses state changes without the CSRF token.

    The expected token is the session's own; before login it is a random value kept in an
    HttpOnly cookie and echoed in the login form (double submit). htmx sends it as a header.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket") or scope["path"].startswith(NO_SESSION_PREFIXES):
            return await self.app(scope, receive, send)
        state = scope["app"].state
        conn = HTTPConnection(scope)
        session = None
        raw = conn.cookies.get(SESSION_COOKIE)
        if raw:
            try:
                token = session_signer(state.settings.secret_key).unsign(raw).decode()
                session = await accounts.load_session(state.db, token)
                scope.setdefault("state", {})["session_token"] = token
            except BadSignature:
                pass
        scope.setdefault("state", {})["session"] = session

        new_anon_token = None
        if session is not None:
            expected = session.csrf_token
        else:
            expected = conn.cookies.get(CSRF_COOKIE, "")
            if not re.fullmatch(r"[A-Za-z0-9_-]{32,64}", expected):
                expected = new_anon_token = secrets.token_urlsafe(32)
        scope["state"]["csrf_token"] = expected

        if scope["type"] == "websocket":
            return await self.app(scope, receive, send)

        if scope["method"] not in SAFE_METHODS:
            body, too_big = await _read_body(receive)
            if too_big:
                return await PlainTextResponse("Request body too large", 413)(scope, receive, send)
            try:
                fields = _form_fields(conn.headers.get("content-type", ""), body)
            except ValueError:
                return await PlainTextResponse(BAD_FORM, 400)(scope, receive, send)
            sent = conn.headers.get(CSRF_HEADER) or (fields.get(CSRF_FIELD) or [None])[0]
            if (new_anon_token or not sent or not hmac.compare_digest(sent, expected)
                    or not _same_origin(conn)):
                return await PlainTextResponse(CSRF_REFUSED, 403)(scope, receive, send)
            receive = _replay(body)

        async def send_with_cookie(message):
            if message["type"] == "http.response.start" and new_anon_token:
                MutableHeaders(scope=message).append(
                    "set-cookie", cookie_header(CSRF_COOKIE, new_anon_token, secure=state.settings.secure_cookies)
                )
            await send(message)

        await self.app(scope, receive, send_with_cookie)


async def _read_body(receive) -> tuple[bytes, bool]:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks), False


def _form_fields(content_type: str, body: bytes) -> dict[str, list[str]]:
    """A urlencoded form's fields; ValueError for bytes that are not UTF-8 text or hold NUL.

    Checked here, once, so no handler passes such a value on to PostgreSQL (which refuses NUL).
    Multipart uploads are not parsed here and must send the CSRF header.
    """
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return {}
    fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    if any("\x00" in v for values in fields.values() for v in values) or "\x00" in "".join(fields):
        raise ValueError("NUL in form")
    return fields


def _same_origin(conn: HTTPConnection) -> bool:
    # Browsers send Origin on cross-site POSTs; when present it must name this very site.
    origin = conn.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == conn.headers.get("host")


def _replay(body: bytes):
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
