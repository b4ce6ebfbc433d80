"""Pure ASGI middleware: client address, request ids and logs, security headers, sessions, CSRF.

Pure ASGI (not BaseHTTPMiddleware) so the request body can be read for the CSRF check and
handed on unchanged, and so WebSocket scopes pass through untouched.
"""
from __future__ import annotations

import codecs
import hmac
import ipaddress
import logging
import re
import secrets
import time
import uuid
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit

from itsdangerous import BadSignature, Signer
from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header
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
# Routes that read their own body as a stream, with a larger limit: files uploaded to a draft.
STREAMED = re.compile(r"^/(?:conversations/[0-9]+|compose)/uploads$")
CSRF_REFUSED = ("Formuläret har gått ut eller kom från en annan webbplats. Ladda om sidan och försök igen.\n"
                "The form has expired or came from another site. Reload the page and try again.\n")
BAD_FORM = ("Formuläret innehåller tecken som inte är giltig text.\n"
            "The form contains characters that are not valid text.\n")
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# The forum's embeddable form (app/forum_embed.py): framed by the sites its forum lists (its own CSP says
# which), posted with its own token, since our cookies are third-party inside another site's frame.
EMBED = re.compile(r"^/forum/[^/]+/embed$")

HSTS = "max-age=31536000; includeSubDomains"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
       "object-src 'none'")


@lru_cache(maxsize=8)
def proxy_networks(trusted_proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """TRUSTED_PROXIES as networks; ValueError names an entry that is neither an address nor a CIDR network."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted_proxies)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    return getattr(address, "ipv4_mapped", None) or address  # ::ffff:10.0.0.2 is 10.0.0.2


def client_address(peer: str, forwarded_for: list[str], trusted_proxies: tuple[str, ...]) -> str:
    """The TCP peer, or behind our own proxies the nearest address in X-Forwarded-For that none of them is."""
    networks = proxy_networks(trusted_proxies)

    def is_proxy(address) -> bool:
        return address is not None and any(address in network for network in networks)

    if not is_proxy(_ip(peer)):
        return peer
    client = peer
    # Proxies append on the right; whatever lies left of the first address they did not add is the client's say.
    for entry in reversed(",".join(forwarded_for).split(",")):
        hop = _ip(entry)
        if hop is None:
            break  # not an address: believe nothing written further left
        client = str(hop)
        if not is_proxy(hop):
            break
    return client


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
    """The client address, a request id on every request (and its log lines), an access log, security headers.

    uvicorn runs with proxy headers off (app/serve.py): X-Forwarded-For counts only from TRUSTED_PROXIES.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        settings = scope["app"].state.settings
        conn = HTTPConnection(scope)
        if scope.get("client") and settings.trusted_proxies:
            forwarded_for = conn.headers.getlist("x-forwarded-for")
            scope["client"] = (client_address(scope["client"][0], forwarded_for, settings.trusted_proxies), 0)
        incoming = conn.headers.get("x-request-id", "")
        request_id = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 0
        # Pages can show live invite and reset links: no cache may keep them. Static files may be cached.
        no_store = not scope["path"].startswith("/static/")
        hsts = settings.public_url.startswith("https://")

        async def send_with_headers(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["x-request-id"] = request_id
                headers.setdefault("content-security-policy", CSP)
                headers["x-content-type-options"] = "nosniff"
                headers["referrer-policy"] = "same-origin"
                if not EMBED.match(scope["path"]):
                    headers.setdefault("x-frame-options", "DENY")  # the formatted mail may be framed by our own pages
                if no_store:
                    headers.setdefault("cache-control", "no-store")
                if hsts:
                    headers["strict-transport-security"] = HSTS
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if scope["type"] == "http":
                log.info("request", extra={
                    "method": scope["method"], "path": scope["path"], "status": status,
                    "client": scope["client"][0] if scope.get("client") else None,
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
            if STREAMED.match(scope["path"]):
                # Uploads: their handler reads the body as a stream, up to the mail size limit
                # (app/web/composer.py), so the token comes in the header or the query string.
                sent = conn.headers.get(CSRF_HEADER) or conn.query_params.get(CSRF_FIELD)
            else:
                body, too_big = await _read_body(receive)
                if too_big:
                    return await PlainTextResponse("Request body too large", 413)(scope, receive, send)
                try:
                    fields, body = _form_fields(conn.headers.get("content-type", ""), body)
                except ValueError:
                    return await PlainTextResponse(BAD_FORM, 400)(scope, receive, send)
                sent = conn.headers.get(CSRF_HEADER) or (fields.get(CSRF_FIELD) or [None])[0]
                receive = _replay(body)
            own_token = EMBED.match(scope["path"])  # checked by its handler; the Origin check still holds
            if ((not own_token and (new_anon_token or not sent or not hmac.compare_digest(sent, expected)))
                    or not _same_origin(conn)):
                return await PlainTextResponse(CSRF_REFUSED, 403)(scope, receive, send)

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


def _form_fields(content_type: str, body: bytes) -> tuple[dict[str, list[str]], bytes]:
    """A form's text fields, urlencoded or multipart, and the body to hand on; ValueError for any
    field that is not UTF-8 text or holds NUL.

    Checked here, once, so no handler passes such a value on to PostgreSQL (which refuses NUL) or
    stores it garbled. The content type is read as Starlette's request.form() reads it.
    """
    media_type, options = parse_options_header(content_type)
    if media_type == b"multipart/form-data":
        return _multipart_fields(options, body), body
    if media_type != b"application/x-www-form-urlencoded":
        return {}, body
    pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    if any("\x00" in name + value for name, value in pairs):
        raise ValueError("NUL in form")
    fields: dict[str, list[str]] = {}
    for name, value in pairs:
        fields.setdefault(name, []).append(value)
    # Starlette reads unencoded bytes as latin-1: percent-encode raw UTF-8 (from curl, scripts) first
    return fields, body if body.isascii() else urlencode(pairs).encode()


def _multipart_fields(options: dict[bytes, bytes], body: bytes) -> dict[str, list[str]]:
    """The text fields of a multipart body, split as Starlette splits it but decoded strictly.

    Starlette falls back to latin-1 for bytes that are not valid in the charset, so its decoding hides them.
    """
    try:
        utf8 = codecs.lookup(options.get(b"charset", b"utf-8").decode("latin-1")).name == "utf-8"
    except LookupError:
        utf8 = False
    if not utf8 or not options.get(b"boundary"):
        raise ValueError("multipart form without a boundary or not in UTF-8")
    parts: list[list] = []  # [Content-Disposition, data] of each part, as bytes
    header_name, header_value = bytearray(), bytearray()

    def on_header_end() -> None:
        if header_name.lower() == b"content-disposition":
            parts[-1][0] = bytes(header_value)  # the last one counts, as in Starlette
        header_name.clear()
        header_value.clear()

    parser = MultipartParser(options[b"boundary"], {
        "on_part_begin": lambda: parts.append([b"", bytearray()]),
        "on_header_field": lambda data, start, end: header_name.extend(data[start:end]),
        "on_header_value": lambda data, start, end: header_value.extend(data[start:end]),
        "on_header_end": on_header_end,
        "on_part_data": lambda data, start, end: parts[-1][1].extend(data[start:end]),
    })
    parser.write(body)
    parser.finalize()
    fields: dict[str, list[str]] = {}
    for disposition, data in parts:
        _, params = parse_options_header(disposition)
        if b"name" not in params:
            raise ValueError("form part without a name")
        name = form_text(params[b"name"])
        if b"filename" in params:
            form_text(params[b"filename"])  # a file's content is bytes, its name is text
        else:
            fields.setdefault(name, []).append(form_text(data))
    return fields


def form_text(raw: bytes | bytearray) -> str:
    """A form field (or file name) as text: strict UTF-8, no NUL; ValueError otherwise (the upload route reads its own)."""
    text = raw.decode("utf-8")  # strict: UnicodeDecodeError is a ValueError
    if "\x00" in text:
        raise ValueError("NUL in form")
    return text


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
