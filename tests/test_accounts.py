"""Login, sessions, CSRF, invites, roles, away and password resets, over real HTTP."""
from __future__ import annotations

import re

import httpx
import pytest

from app import accounts
from app.errors import NotFound
from tests.factories import PASSWORD, csrf_from, login, make_member, make_org, unique_email


async def test_login_lands_on_dashboard_with_httponly_signed_cookie(db, client):
    admin = await make_org(db)
    page = await client.get("/login")
    response = await client.post("/login", data={"email": admin.email, "password": PASSWORD,
                                                 "csrf_token": csrf_from(page.text)})
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("samsyn_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "." in cookie.split(";")[0], "the session cookie is signed"
    dashboard = await client.get("/")
    assert dashboard.status_code == 200 and admin.actor.name in dashboard.text


async def test_wrong_password_and_unknown_account_get_the_same_answer(db, client):
    admin = await make_org(db)
    token = csrf_from((await client.get("/login")).text)
    wrong = await client.post("/login", data={"email": admin.email, "password": "nope nope nope", "csrf_token": token})
    unknown = await client.post("/login", data={"email": unique_email(), "password": "nope nope nope",
                                                "csrf_token": token})
    assert wrong.status_code == unknown.status_code == 400
    message = re.search(r'role="alert">([^<]+)<', wrong.text).group(1)
    assert message == re.search(r'role="alert">([^<]+)<', unknown.text).group(1)
    assert "samsyn_session" not in wrong.headers.get("set-cookie", "")


async def test_post_without_csrf_token_is_refused_and_changes_nothing(db, client):
    admin = await make_org(db)
    editor = await make_member(db, admin.actor.org_id, "editor")
    await login(client, admin.email)
    response = await client.post(f"/admin/members/{editor.actor.user_id}/role", data={"role": "viewer"})
    assert response.status_code == 403
    forged = await client.post(f"/admin/members/{editor.actor.user_id}/role",
                               data={"role": "viewer", "csrf_token": "x" * 43})
    assert forged.status_code == 403
    assert (await accounts.member(db, admin.actor.org_id, editor.actor.user_id))["role"] == "editor"


async def test_post_from_a_foreign_origin_is_refused_even_with_the_token(db, client):
    admin = await make_org(db)
    editor = await make_member(db, admin.actor.org_id, "editor")
    token = await login(client, admin.email)
    response = await client.post(f"/admin/members/{editor.actor.user_id}/away", data={"away": "1"},
                                 headers={"x-csrf-token": token, "origin": "https://evil.example"})
    assert response.status_code == 403
    assert (await accounts.member(db, admin.actor.org_id, editor.actor.user_id))["away"] is False
    same_site = await client.post(f"/admin/members/{editor.actor.user_id}/away", data={"away": "1"},
                                  headers={"x-csrf-token": token, "origin": str(client.base_url).rstrip("/")})
    assert same_site.status_code == 303


async def test_anyone_sets_themselves_away_and_back(db, client):
    admin = await make_org(db)
    viewer = await make_member(db, admin.actor.org_id, "viewer", "Viktor Sand")
    token = await login(client, viewer.email)
    assert (await client.post("/away", data={"away": "1"}, headers={"x-csrf-token": token})).status_code == 303
    assert (await accounts.member(db, admin.actor.org_id, viewer.actor.user_id))["away"] is True
    assert "Jag är tillbaka" in (await client.get("/")).text
    await client.post("/away", data={"away": "0"}, headers={"x-csrf-token": token})
    assert (await accounts.member(db, admin.actor.org_id, viewer.actor.user_id))["away"] is False


async def test_login_form_needs_its_csrf_cookie(client):
    response = await client.post("/login", data={"email": "a@b.se", "password": "x", "csrf_token": "y" * 43})
    assert response.status_code == 403


async def test_logout_ends_the_session_on_the_server(db, client):
    admin = await make_org(db)
    token = await login(client, admin.email)
    old_cookie = client.cookies.get("samsyn_session")
    assert (await client.post("/logout", headers={"x-csrf-token": token})).status_code == 303
    client.cookies.set("samsyn_session", old_cookie)  # a stolen copy of the cookie is dead too
    assert (await client.get("/")).headers["location"] == "/login"


async def test_tampered_or_foreign_invite_link_is_not_found(db, client, settings):
    admin = await make_org(db)
    invite_id = await accounts.invite(db, admin.actor, unique_email(), "editor")
    good = accounts.invite_token(settings.secret_key, invite_id)
    assert (await client.get(f"/invite/{good}")).status_code == 200
    assert (await client.get(f"/invite/{good[:-2]}xx")).status_code == 404
    forged = accounts.invite_token("another secret", invite_id)
    assert (await client.get(f"/invite/{forged}")).status_code == 404


async def test_admin_changes_role_and_marks_someone_away(db, client):
    admin = await make_org(db)
    editor = await make_member(db, admin.actor.org_id, "editor", "Anna Lind")
    token = await login(client, admin.email)
    uid = editor.actor.user_id
    assert (await client.post(f"/admin/members/{uid}/role", data={"role": "viewer"},
                              headers={"x-csrf-token": token})).status_code == 303
    assert (await client.post(f"/admin/members/{uid}/away", data={"away": "1"},
                              headers={"x-csrf-token": token})).status_code == 303
    member = await accounts.member(db, admin.actor.org_id, uid)
    assert member["role"] == "viewer" and member["away"] is True
    page = await client.get("/admin/members")
    assert "Borta" in page.text


async def test_last_admin_cannot_be_demoted(db, client):
    admin = await make_org(db)
    token = await login(client, admin.email)
    r = await client.post(f"/admin/members/{admin.actor.user_id}/role", data={"role": "editor"},
                          headers={"x-csrf-token": token})
    assert r.status_code == 400
    assert (await accounts.member(db, admin.actor.org_id, admin.actor.user_id))["role"] == "admin"


async def test_editors_and_viewers_cannot_use_admin_screens(db, client):
    admin = await make_org(db)
    editor = await make_member(db, admin.actor.org_id, "editor")
    token = await login(client, editor.email)
    assert (await client.get("/admin/members")).status_code == 403
    r = await client.post(f"/admin/members/{admin.actor.user_id}/role", data={"role": "viewer"},
                          headers={"x-csrf-token": token})
    assert r.status_code == 403
    assert (await accounts.member(db, admin.actor.org_id, admin.actor.user_id))["role"] == "admin"


async def test_password_reset_link_works_once_and_ends_old_sessions(db, client, server):
    admin = await make_org(db)
    editor = await make_member(db, admin.actor.org_id, "editor")
    async with httpx.AsyncClient(base_url=server) as editors_browser:
        await login(editors_browser, editor.email)
        assert (await editors_browser.get("/")).status_code == 200
        await _reset_through_the_link(db, client, server, admin, editor)
        assert (await editors_browser.get("/")).headers["location"] == "/login", "the old session has ended"


async def _reset_through_the_link(db, client, server, admin, editor):
    token = await login(client, admin.email)
    page = await client.post(f"/admin/members/{editor.actor.user_id}/reset-link", headers={"x-csrf-token": token})
    path = re.search(r'value="(http[^"]+/reset/[^"]+)"', page.text).group(1).removeprefix(server)
    client.cookies.clear()
    form = await client.get(path)
    assert form.status_code == 200
    done = await client.post(path, data={"password": "brand new secret", "password2": "brand new secret",
                                         "csrf_token": csrf_from(form.text)})
    assert done.status_code == 303
    assert await accounts.authenticate(db, editor.email, "brand new secret") == editor.actor.user_id
    assert await accounts.authenticate(db, editor.email, PASSWORD) is None
    client.cookies.clear()
    assert (await client.get(path)).status_code == 404, "a used reset link is dead"


async def test_expired_reset_link_is_refused(db, settings, monkeypatch):
    admin = await make_org(db)
    token = await accounts.reset_link_token(db, admin.actor, settings.secret_key, admin.actor.user_id)
    assert await accounts.user_for_reset(db, settings.secret_key, token) == admin.actor.user_id
    monkeypatch.setattr(accounts, "RESET_MAX_AGE", -1)  # as if 24 hours had passed
    with pytest.raises(NotFound):
        await accounts.user_for_reset(db, settings.secret_key, token)


async def test_a_person_in_two_organisations_switches_between_them(db, client):
    first = await make_org(db, "Första AB")
    second_org = await accounts.create_organization(db, "Andra AB")
    await accounts.add_member(db, second_org, first.actor.user_id, "viewer")
    token = await login(client, first.email)
    page = await client.get("/")
    assert "Första AB" in page.text and "Andra AB" in page.text
    r = await client.post("/organization", data={"org_id": str(second_org)}, headers={"x-csrf-token": token})
    assert r.status_code == 303
    page = await client.get("/")
    assert re.search(rf'<option value="{second_org}"\s+selected', page.text)
    assert "Läsare" in page.text  # viewer there
    # not a member: no switch
    stranger = await accounts.create_organization(db, "Främmande AB")
    r = await client.post("/organization", data={"org_id": str(stranger)}, headers={"x-csrf-token": token})
    assert r.status_code == 404


async def test_oversized_form_is_refused_with_413(db, client):
    admin = await make_org(db)
    token = await login(client, admin.email)
    response = await client.post("/admin/channels", content=b"name=" + b"x" * 1_100_000,
                                 headers={"x-csrf-token": token, "content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413


async def test_swedish_and_emoji_text_is_stored_exactly(db, client):
    admin = await make_org(db)
    token = await login(client, admin.email)
    name = "Kundtjänst åäö ÅÄÖ 👩‍💻 עברית"
    form = {"kind": "forum", "name": name, "colour": "blue", "address": f"f-{unique_email()[:10]}",
            "response_target_minutes": "30"}
    assert (await client.post("/admin/channels", data=form, headers={"x-csrf-token": token})).status_code == 303
    assert name in (await client.get("/admin/channels")).text
