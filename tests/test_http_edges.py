"""The HTTP edges: client addresses behind proxies, cache and HSTS headers, form encodings, database errors in logs."""
from __future__ import annotations

import json
import logging
import uuid
from dataclasses import replace
from types import SimpleNamespace

import asyncpg
import httpx
import pytest

from app.config import Settings
from app.logs import JsonFormatter
from app.main import create_app
from app.serve import uvicorn_config
from app.web.middleware import BAD_FORM, RequestContext
from tests.factories import PASSWORD, csrf_from, login, make_org

BOUNDARY = "samsyn-test-boundary"


class Records(logging.Handler):
    """Keeps the records a logger writes, for a test to read."""

    def __init__(self, logger: str):
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.logger = logging.getLogger(logger)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> "Records":
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        self.logger.removeHandler(self)


# --- client address: X-Forwarded-For counts only from a configured proxy ---

async def client_address_seen_by_app(peer: str, forwarded_for: list[str], trusted: tuple[str, ...]) -> str:
    """The address a handler sees when `peer` connects with these X-Forwarded-For header lines."""
    scope = {"type": "http", "method": "GET", "path": "/", "client": (peer, 51000),
             "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded_for],
             "app": SimpleNamespace(state=SimpleNamespace(settings=Settings(trusted_proxies=trusted)))}
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["client"][0])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        pass

    await RequestContext(app)(scope, receive, send)
    return seen[0]


@pytest.mark.parametrize("peer, forwarded_for, trusted, expected", [
    ("198.51.100.4", ["203.0.113.9"], (), "198.51.100.4"),  # no proxy configured: the header means nothing
    ("127.0.0.1", ["203.0.113.9"], (), "127.0.0.1"),  # not even from loopback
    ("198.51.100.4", ["203.0.113.9"], ("10.0.0.0/8",), "198.51.100.4"),  # the peer is no proxy of ours
    ("10.0.0.2", ["203.0.113.9"], ("10.0.0.0/8",), "203.0.113.9"),
    ("10.0.0.2", ["203.0.113.9"], ("10.0.0.2",), "203.0.113.9"),
    # the client wrote the left part itself; the first address our proxies did not add is the client
    ("10.0.0.2", ["192.0.2.1, 203.0.113.9, 10.0.0.7"], ("10.0.0.0/8",), "203.0.113.9"),
    ("10.0.0.2", ["192.0.2.1", "203.0.113.9"], ("10.0.0.0/8",), "203.0.113.9"),  # two header lines are one list
    ("10.0.0.2", ["10.0.0.9, 10.0.0.7"], ("10.0.0.0/8",), "10.0.0.9"),  # a client inside the trusted network
    ("10.0.0.2", ["192.0.2.1, not-an-address"], ("10.0.0.0/8",), "10.0.0.2"),  # garbage stops the walk
    ("10.0.0.2", [], ("10.0.0.0/8",), "10.0.0.2"),
    ("::ffff:10.0.0.2", ["203.0.113.9"], ("10.0.0.0/8",), "203.0.113.9"),
    ("2001:db8::5", ["2001:db8:1::9, 2001:db8::7"], ("2001:db8::/64",), "2001:db8:1::9"),
])
async def test_forwarded_for_is_believed_only_from_configured_proxies(peer, forwarded_for, trusted, expected):
    assert await client_address_seen_by_app(peer, forwarded_for, trusted) == expected


async def test_web_server_ignores_a_spoofed_forwarded_for(settings, client):
    assert uvicorn_config(create_app(settings), settings).proxy_headers is False
    with Records("samsyn.http") as log:
        response = await client.get("/login", headers={"x-forwarded-for": "203.0.113.9"})
    assert response.status_code == 200
    assert [r.client for r in log.records if r.path == "/login"] == ["127.0.0.1"]


def test_a_malformed_trusted_proxy_stops_the_web_process_at_start(settings):
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        uvicorn_config(create_app(settings), replace(settings, trusted_proxies=("10.0.0.0/33",)))


# --- caching and HSTS ---

async def test_pages_are_never_stored_by_caches_but_static_files_may_be(db, client):
    admin = await make_org(db)
    assert (await client.get("/login")).headers["cache-control"] == "no-store"
    await login(client, admin.email)
    for path in ("/", "/admin/members", "/reset/not-a-real-token"):
        assert (await client.get(path)).headers["cache-control"] == "no-store", path
    static = await client.get("/static/app.css")
    assert static.status_code == 200 and "cache-control" not in static.headers


@pytest.mark.parametrize("public_url, hsts", [
    ("https://help.example.se", "max-age=31536000; includeSubDomains"),
    ("http://127.0.0.1:8000", None),
])
async def test_hsts_is_sent_only_when_the_public_url_is_https(settings, public_url, hsts):
    app = create_app(replace(settings, public_url=public_url))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.get("/static/app.css")
    assert response.status_code == 200
    assert response.headers.get("strict-transport-security") == hsts


# --- forms: every encoding gets the same check for NUL and invalid UTF-8 ---

def multipart(*parts: tuple[bytes, bytes], content_type: str = "multipart/form-data") -> tuple[str, bytes]:
    """A multipart/form-data body from (Content-Disposition parameters, value) pairs, byte for byte."""
    body = b"".join(b"--%s\r\nContent-Disposition: form-data; %s\r\n\r\n%s\r\n" % (BOUNDARY.encode(), params, value)
                    for params, value in parts)
    return f"{content_type}; boundary={BOUNDARY}", body + b"--%s--\r\n" % BOUNDARY.encode()


URLENCODED_TYPES = ["application/x-www-form-urlencoded", "Application/X-WWW-Form-Urlencoded",
                    "application/x-www-form-urlencoded; charset=UTF-8", "APPLICATION/X-WWW-FORM-URLENCODED;charset=utf-8"]
BAD_URLENCODED = [b"email=a%00%40b.se&password=x", b"email=%FF%FE%40b.se&password=x",
                  b"email=\xff\xfe&password=x", b"na%00me=x&password=y"]
BAD_MULTIPART = [
    multipart((b'name="email"', b"a\x00@b.se"), (b'name="password"', b"x")),
    multipart((b'name="email"', b"\xff\xfe@b.se"), (b'name="password"', b"x")),
    multipart((b'name="em\x00ail"', b"a@b.se")),
    multipart((b'name="e\xe5mail"', b"a@b.se")),  # a latin-1 field name
    multipart((b'name="avatar"; filename="a\x00.png"', b"\x89PNG")),
    multipart((b'name="email"', b"a\x00@b.se"), content_type="Multipart/Form-Data"),
    # valid UTF-8 that would be read as latin-1, i.e. stored garbled
    multipart((b'name="email"', b"bj\xc3\xb6rn@b.se"), content_type="multipart/form-data; charset=iso-8859-1"),
]


@pytest.mark.parametrize("content_type, body", [
    *((content_type, body) for content_type in URLENCODED_TYPES for body in BAD_URLENCODED),
    *BAD_MULTIPART,
])
async def test_form_with_nul_or_invalid_utf8_gets_a_clear_400_in_every_encoding(client, content_type, body):
    token = csrf_from((await client.get("/login")).text)
    response = await client.post("/login", content=body,
                                 headers={"content-type": content_type, "x-csrf-token": token})
    assert response.status_code == 400 and response.text == BAD_FORM


@pytest.mark.parametrize("content_type", ["Application/X-WWW-Form-Urlencoded", "multipart/form-data"])
async def test_login_form_works_in_any_encoding_with_the_token_in_the_body(db, client, content_type):
    admin = await make_org(db)
    token = csrf_from((await client.get("/login")).text).encode()
    if content_type.startswith("multipart"):
        content_type, body = multipart((b'name="email"', admin.email.encode()), (b'name="password"', PASSWORD.encode()),
                                       (b'name="csrf_token"', token),
                                       (b'name="attachment"; filename="x.bin"', b"\x00\xff binary is fine in a file"))
    else:
        body = b"email=%s&password=%s&csrf_token=%s" % (admin.email.encode(), PASSWORD.replace(" ", "+").encode(), token)
    response = await client.post("/login", content=body, headers={"content-type": content_type})
    assert response.status_code == 303 and response.headers["location"] == "/"


async def test_swedish_text_in_a_multipart_form_is_stored_exactly(db, client):
    admin = await make_org(db)
    token = await login(client, admin.email)
    name = "Kundtjänst åäö ÅÄÖ 👩‍💻"
    content_type, body = multipart((b'name="kind"', b"forum"), (b'name="name"', name.encode()),
                                   (b'name="colour"', b"blue"), (b'name="address"', f"f-{uuid.uuid4().hex[:10]}".encode()),
                                   (b'name="response_target_minutes"', b"30"), (b'name="csrf_token"', token.encode()))
    response = await client.post("/admin/channels", content=body, headers={"content-type": content_type})
    assert response.status_code == 303
    assert name in (await client.get("/admin/channels")).text


# --- logs: a database error's DETAIL (the failing row) never reaches a log line ---

async def check_violation(db) -> asyncpg.PostgresError:
    """A real CHECK violation from PostgreSQL, as the app's role meets it, on a row like a person's.

    The e-mail address holds a line break, so the failing row spans lines.
    """
    row = ("karin@secret.example\nrow line two", "x" * 201, "$argon2id$v=19$m=65536,t=3,p=4$c2VjcmV0LXNhbHQ")
    with pytest.raises(asyncpg.CheckViolationError) as caught:
        async with db.transaction(None) as tx:
            await tx.execute("CREATE TEMP TABLE people (email text, name text CHECK (length(name) <= 200), "
                             "password_hash text) ON COMMIT DROP")
            await tx.execute("INSERT INTO people VALUES ($1, $2, $3)", *row)
    assert "row line two" in str(caught.value), "the error itself carries the row"
    return caught.value


def logged_lines(how: str, error: Exception) -> list[dict]:
    """The JSON lines for the error logged with its traceback (raised `how`), then in a message."""
    logger = logging.getLogger("samsyn.test.db_errors")
    with Records(logger.name) as log:
        try:
            if how == "directly":
                raise error
            if how == "as cause":
                raise RuntimeError("could not create the account") from error
            try:
                raise error
            except asyncpg.PostgresError:
                raise RuntimeError("could not create the account")  # noqa: B904 - the context is the point
        except Exception:
            logger.exception("request failed")
        logger.error("saving failed: %s", error)
    return [json.loads(JsonFormatter().format(record)) for record in log.records]


@pytest.mark.parametrize("how", ["directly", "as cause", "as context"])
async def test_database_errors_are_logged_without_the_failing_row(db, how):
    with_traceback, in_message = logged_lines(how, await check_violation(db))
    constraint = 'new row for relation "people" violates check constraint "people_name_check"'
    assert f"asyncpg.exceptions.CheckViolationError: {constraint}" in with_traceback["exc"]
    assert in_message["msg"] == f"saving failed: {constraint}"
    for line in (with_traceback, in_message):
        text = json.dumps(line)
        for secret in ("karin@secret.example", "row line two", "argon2id", "xxxx", "DETAIL", "Failing row"):
            assert secret not in text


async def test_unencoded_swedish_in_an_urlencoded_form_is_stored_exactly(db, client):
    """Browsers percent-encode; curl and scripts may send raw UTF-8, which Starlette alone would read as latin-1."""
    admin = await make_org(db)
    token = await login(client, admin.email)
    name = "Kundtjänst åäö 👩‍💻"
    body = (f"kind=forum&name={name}&colour=blue&address=f-{uuid.uuid4().hex[:10]}&response_target_minutes=30"
            f"&csrf_token={token}").encode()
    response = await client.post("/admin/channels", content=body,
                                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 303
    assert name in (await client.get("/admin/channels")).text
