"""Start-up, health, logs, headers and language."""
from __future__ import annotations

import json
import logging

import pytest

from app.config import Settings
from app.db import StartupError
from app.main import create_app
from tests.factories import login, make_org


async def test_healthz_reports_postgres_and_redis(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "postgres": "ok", "redis": "ok"}


async def test_healthz_says_503_when_redis_is_unreachable(settings):
    import httpx
    from app.db import Database
    import redis.asyncio as aioredis

    app = create_app(settings)
    dead = aioredis.from_url("redis://127.0.0.1:1/0", socket_timeout=0.2, socket_connect_timeout=0.2)
    db = await Database.connect(settings, dead)
    app.state.db, app.state.redis = db, dead
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            response = await c.get("/healthz")
        assert response.status_code == 503
        body = response.json()
        assert body["postgres"] == "ok" and body["redis"].startswith("unreachable")
    finally:
        await db.close()


async def test_start_with_postgres_unreachable_fails_at_once_naming_database_url(settings):
    from dataclasses import replace

    app = create_app(replace(settings, database_url="postgresql://samsyn_app@127.0.0.1:1/samsyn"))
    with pytest.raises(StartupError, match="DATABASE_URL=postgresql://samsyn_app@127.0.0.1:1/samsyn"):
        async with app.router.lifespan_context(app):
            pass


def test_connection_urls_in_errors_hide_passwords():
    from app.config import redact

    assert redact("postgresql://app:s3cret@db:5432/x") == "postgresql://app:***@db:5432/x"


def test_settings_come_from_the_environment_with_defaults():
    s = Settings.from_env({})
    assert (s.web_host, s.web_port, s.smtp_host, s.smtp_port) == ("127.0.0.1", 8000, "127.0.0.1", 2525)
    s = Settings.from_env({"WEB_PORT": "9000", "PUBLIC_URL": "https://help.example.se"})
    assert s.web_port == 9000 and s.base_url == "https://help.example.se" and s.secure_cookies


async def test_missing_static_file_is_a_plain_404(client):
    response = await client.get("/static/nope.css")
    assert response.status_code == 404 and "Hittades inte" in response.text


async def test_every_response_carries_a_request_id_and_a_strict_csp(client):
    response = await client.get("/login", headers={"x-request-id": "abc12345-from-proxy"})
    assert response.headers["x-request-id"] == "abc12345-from-proxy"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert len((await client.get("/login")).headers["x-request-id"]) == 32


def test_log_lines_are_json_with_the_request_id():
    from app.logs import JsonFormatter, request_id_var

    token = request_id_var.set("req-123")
    try:
        record = logging.makeLogRecord({"msg": "hej %s", "args": ("världen",), "levelname": "INFO", "path": "/"})
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["msg"] == "hej världen" and line["request_id"] == "req-123" and line["path"] == "/"


async def test_ui_is_swedish_by_default_and_english_by_choice(db, client):
    admin = await make_org(db)
    login_page = await client.get("/login")
    assert 'lang="sv"' in login_page.text and "Logga in" in login_page.text
    token = await login(client, admin.email)
    assert "Öppna ärenden" in (await client.get("/")).text
    await client.post("/language", data={"locale": "en"}, headers={"x-csrf-token": token})
    page = (await client.get("/")).text
    assert 'lang="en"' in page and "Open conversations" in page
    client.cookies.clear()
    await login(client, admin.email)
    assert "Open conversations" in (await client.get("/")).text, "the choice is kept with the account"


def test_every_ui_string_has_a_swedish_translation():
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / "messages.pot"
        subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                        "-k", "N_", "-k", "t:2", "-o", str(pot), "--no-location", "."],
                       cwd=root, check=True, capture_output=True)
        extracted = {m.id for m in read_po(pot.open("rb")) if m.id}
    swedish = {m.id: m.string for m in read_po((root / "app/locale/sv/LC_MESSAGES/messages.po").open("rb")) if m.id}
    missing = sorted(i for i in extracted if not swedish.get(i))
    assert not missing, f"untranslated (run `make catalog` and translate): {missing}"


def test_dates_and_numbers_follow_the_locale_and_the_organisations_time_zone():
    from datetime import datetime, timezone

    from app.i18n import Formatter

    moment = datetime(2026, 7, 1, 22, 30, tzinfo=timezone.utc)  # 00:30 on 2 July in Stockholm
    assert Formatter("sv").date(moment) == "2 juli 2026"
    assert Formatter("en").date(moment) == "Jul 2, 2026"
    assert Formatter("sv").number(12345.5) == "12\xa0345,5"
    assert Formatter("en").number(12345.5) == "12,345.5"
