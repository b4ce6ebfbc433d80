"""Invites and password resets hold for people in several organisations, under concurrency and partial failure."""
from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from app import accounts, channels
from app.errors import Invalid, NotFound
from tests.factories import PASSWORD, csrf_from, login, make_channel, make_member, make_org, unique_email

NEW_PASSWORD = "a long password"


async def _invite_path(db, settings, admin, email: str, role: str = "editor") -> str:
    invite_id = await accounts.invite(db, admin.actor, email, role)
    return f"/invite/{accounts.invite_token(settings.secret_key, invite_id)}"


def _without(html: str, *secrets: str) -> str:
    for s in secrets:
        html = html.replace(s, "X")
    return re.sub(r'name="csrf_token" value="[^"]+"|href="/login\?next=[^"]+"', "", html)


async def test_the_invite_page_is_the_same_whether_or_not_the_address_has_an_account(db, client, settings):
    admin = await make_org(db)
    someone_elsewhere = await make_org(db, "Annat AB", "Sara Finns")
    new_address = unique_email("ny")
    pages = {}
    for email in (someone_elsewhere.email, new_address):
        path = await _invite_path(db, settings, admin, email)
        pages[email] = _without((await client.get(path)).text, email, path)
    assert pages[someone_elsewhere.email] == pages[new_address]
    assert "Ditt namn" in pages[new_address]


async def test_the_invite_page_never_takes_an_existing_accounts_password(db, client, settings):
    admin = await make_org(db)
    elsewhere = await make_org(db, "Annat AB", "Sara Finns")
    path = await _invite_path(db, settings, admin, elsewhere.email)
    token = csrf_from((await client.get(path)).text)
    for password in ("gissning nummer ett", PASSWORD):  # not even the right one is checked here
        r = await client.post(path, data={"name": "Sara", "password": password, "password2": password,
                                          "csrf_token": token})
        assert r.status_code == 400 and "logga in" in r.text
        assert "samsyn_session" not in r.headers.get("set-cookie", "")
    assert await accounts.authenticate(db, elsewhere.email, PASSWORD) == elsewhere.actor.user_id
    assert [i["email"] for i in await accounts.open_invites(db, admin.actor.org_id)] == [elsewhere.email]


async def test_someone_with_an_account_joins_by_logging_in_first(db, client, settings):
    admin = await make_org(db, "Första AB")
    elsewhere = await make_org(db, "Andra AB", "Sara Finns")
    path = await _invite_path(db, settings, admin, elsewhere.email, "viewer")
    await login(client, elsewhere.email)
    page = await client.get(path)
    assert "Sara Finns" in page.text and 'name="password"' not in page.text
    joined = await client.post(path, data={"csrf_token": csrf_from(page.text)})
    assert joined.status_code == 303
    dashboard = (await client.get("/")).text
    assert re.search(rf'<option value="{admin.actor.org_id}"\s+selected', dashboard), "now working in Första AB"
    assert (await accounts.member(db, admin.actor.org_id, elsewhere.actor.user_id))["role"] == "viewer"
    assert await accounts.open_invites(db, admin.actor.org_id) == []
    assert (await client.get(path)).status_code == 404, "used once"


async def test_an_invite_for_another_address_is_refused_to_a_logged_in_person(db, client, settings):
    admin = await make_org(db)
    stranger = await make_org(db, "Annat AB", "Ture Fel")
    path = await _invite_path(db, settings, admin, unique_email("ratt"))
    await login(client, stranger.email)
    page = await client.get(path)
    r = await client.post(path, data={"csrf_token": csrf_from(page.text)})
    assert r.status_code == 400 and "annan e-postadress" in r.text
    with pytest.raises(NotFound):
        await accounts.member(db, admin.actor.org_id, stranger.actor.user_id)


@pytest.mark.parametrize("form,message", [
    ({"name": "Cecilia", "password": NEW_PASSWORD, "password2": "another long one"}, "Lösenorden stämmer inte"),
    ({"name": "Cecilia", "password": "kort", "password2": "kort"}, "minst 10 tecken"),
    ({"name": "   ", "password": NEW_PASSWORD, "password2": NEW_PASSWORD}, "Ange ett namn"),
    ({"name": "C" * 201, "password": NEW_PASSWORD, "password2": NEW_PASSWORD}, "högst 200 tecken"),
    ({"name": "Cecilia\u202eNy", "password": NEW_PASSWORD, "password2": NEW_PASSWORD}, "synliga tecken"),
    ({"name": "Cecilia\r\nNy", "password": NEW_PASSWORD, "password2": NEW_PASSWORD}, "synliga tecken"),
])
async def test_each_invite_form_error_answers_400_and_keeps_the_invite(db, client, settings, form, message):
    admin = await make_org(db)
    email = unique_email("cecilia")
    path = await _invite_path(db, settings, admin, email)
    token = csrf_from((await client.get(path)).text)
    r = await client.post(path, data={**form, "csrf_token": token})
    assert r.status_code == 400, r.text[:300]
    assert message in r.text
    assert await accounts.account_id(db, email) is None
    assert [i["email"] for i in await accounts.open_invites(db, admin.actor.org_id)] == [email]


async def test_a_failure_halfway_through_joining_leaves_no_account(db, settings, monkeypatch):
    admin = await make_org(db)
    email = unique_email("halv")
    token = accounts.invite_token(settings.secret_key, await accounts.invite(db, admin.actor, email, "editor"))

    async def broken(tx, user_id, role):
        raise ConnectionError("lost the database in the middle")

    monkeypatch.setattr(accounts, "_add_membership", broken)
    with pytest.raises(ConnectionError):
        await accounts.accept_invite(db, settings.secret_key, token, "Halv Vägs", NEW_PASSWORD)
    monkeypatch.undo()
    assert await accounts.account_id(db, email) is None, "no orphan account"
    user_id = await accounts.accept_invite(db, settings.secret_key, token, "Hel Vägs", NEW_PASSWORD)
    assert (await accounts.member(db, admin.actor.org_id, user_id))["name"] == "Hel Vägs"


async def test_an_invite_used_twice_at_once_makes_one_member(db, settings):
    admin = await make_org(db)
    email = unique_email("dubbel")
    token = accounts.invite_token(settings.secret_key, await accounts.invite(db, admin.actor, email, "editor"))
    results = await asyncio.gather(
        *(accounts.accept_invite(db, settings.secret_key, token, f"Person {i}", NEW_PASSWORD) for i in range(2)),
        return_exceptions=True)
    assert sum(isinstance(r, int) for r in results) == 1, results
    assert all(isinstance(r, (int, NotFound, Invalid)) for r in results), results


async def test_a_reset_link_used_twice_at_once_works_once(db, settings):
    admin = await make_org(db)
    editor = await make_member(db, admin.actor.org_id, "editor")
    token = await accounts.reset_link_token(db, admin.actor, settings.secret_key, editor.actor.user_id)
    results = await asyncio.gather(
        *(accounts.reset_password(db, settings.secret_key, token, f"new password {i}") for i in range(2)),
        return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["NotFound", "int"], results
    winner = results.index(editor.actor.user_id)
    assert await accounts.authenticate(db, editor.email, f"new password {winner}") == editor.actor.user_id


async def test_an_admin_resets_only_people_whose_every_organisation_they_administer(db, client, settings):
    a = await make_org(db, "A AB")
    b_org = await accounts.create_organization(db, "B AB")
    both = await make_member(db, a.actor.org_id, "viewer", "Ville Båda")
    await accounts.add_member(db, b_org, both.actor.user_id, "admin")  # an admin elsewhere
    with pytest.raises(Invalid):
        await accounts.reset_link_token(db, a.actor, settings.secret_key, both.actor.user_id)
    token = await login(client, a.email)
    page = await client.post(f"/admin/members/{both.actor.user_id}/reset-link", headers={"x-csrf-token": token})
    assert page.status_code == 400 and "/reset/" not in page.text
    assert "en organisation som du inte administrerar" in page.text
    # an admin of both organisations may
    await accounts.add_member(db, b_org, a.actor.user_id, "admin")
    assert await accounts.reset_link_token(db, a.actor, settings.secret_key, both.actor.user_id)


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(db):
    first = await make_org(db)
    second = await make_member(db, first.actor.org_id, "admin", "Andra Admin")
    results = await asyncio.gather(
        accounts.set_role(db, first.actor, second.actor.user_id, "editor"),
        accounts.set_role(db, second.actor, first.actor.user_id, "editor"),
        return_exceptions=True)
    assert sum(r is None for r in results) == 1, results
    roles = [m["role"] for m in await accounts.members(db, first.actor.org_id)]
    assert roles.count("admin") == 1


@pytest.mark.parametrize("name", ["\u200b", "Support\u202e", "\ufeffSupport", "Sup\r\nport", "Sup\tport",
                                  "Sup\u2028port", "\u200dSupport"])
async def test_names_with_invisible_or_control_characters_are_refused(db, name):
    admin = await make_org(db)
    with pytest.raises(Invalid) as refused:
        await channels.create_channel(db, admin.actor, kind="forum", name=name, colour="blue",
                                      address=f"f-{unique_email()[:10]}")
    assert refused.value.field == "name"
    with pytest.raises(Invalid):
        await accounts.create_user(db, unique_email(), name, NEW_PASSWORD)
    with pytest.raises(Invalid):
        await accounts.create_organization(db, name)


@pytest.mark.parametrize("address", ["info\u200b@demo.samsyn.se", "info@demo.samsyn.se\u202e", "in fo@demo.se",
                                     "info@demo.samsyn.se\r\nBcc: x@evil.se"])
async def test_addresses_with_invisible_characters_are_refused(db, address):
    admin = await make_org(db)
    with pytest.raises(Invalid):
        await channels.create_channel(db, admin.actor, kind="mailbox", name="Info", colour="blue", address=address)
    with pytest.raises(Invalid):
        await accounts.invite(db, admin.actor, address, "editor")


async def test_names_are_stored_in_one_normal_form(db):
    admin = await make_org(db, "Fo\u0308retaget AB")  # "ö" as o + combining diaeresis
    channel = await make_channel(db, admin, kind="forum", name="Kundtja\u0308nst 👩‍💻")
    assert (await channels.get_channel(db, admin.actor.org_id, channel))["name"] == "Kundtjänst 👩‍💻"
    orgs = await accounts.organizations_of(db, admin.actor.user_id)
    assert orgs[0][1] == "Företaget AB"


async def test_a_name_over_the_limit_is_a_clear_error_not_a_database_failure(db):
    with pytest.raises(Invalid) as refused:
        await accounts.create_user(db, unique_email(), "N" * 201, NEW_PASSWORD)
    assert refused.value.params == {"max": 200}


async def test_a_person_in_two_organisations_sees_each_ones_data_only_there(db, server):
    first = await make_org(db, "Första AB")
    second = await make_org(db, "Andra AB")
    await accounts.add_member(db, second.actor.org_id, first.actor.user_id, "viewer")
    await make_channel(db, second, name="Andras inkorg")
    async with httpx.AsyncClient(base_url=server) as c:
        token = await login(c, first.email)
        await c.post("/organization", data={"org_id": str(first.actor.org_id)}, headers={"x-csrf-token": token})
        assert "Andras inkorg" not in (await c.get("/")).text
        await c.post("/organization", data={"org_id": str(second.actor.org_id)}, headers={"x-csrf-token": token})
        page = (await c.get("/")).text
        assert "Andras inkorg" in page
        assert (await c.get("/admin/members")).status_code == 403, "a viewer there, whatever they are elsewhere"


async def test_log_in_to_join_comes_back_to_the_invite_and_never_leaves_the_site(db, client, settings):
    admin = await make_org(db)
    elsewhere = await make_org(db, "Annat AB", "Sara Finns")
    path = await _invite_path(db, settings, admin, elsewhere.email)
    link = re.search(r'href="(/login\?next=[^"]+)"', (await client.get(path)).text).group(1)
    form = await client.get(link.replace("&amp;", "&"))
    assert f'name="next" value="{path}"' in form.text
    for then, lands in ((path, path), ("//evil.example/x", "/"), ("/\\evil.example", "/"), ("https://evil.example", "/")):
        client.cookies.clear()
        token = csrf_from((await client.get("/login")).text)
        r = await client.post("/login", data={"email": elsewhere.email, "password": PASSWORD, "next": then,
                                              "csrf_token": token})
        assert (r.status_code, r.headers["location"]) == (303, lands), then
