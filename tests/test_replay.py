"""For every event kind: the page before + the pushed fragments == the page after."""
from __future__ import annotations

import pytest

from app import accounts, channels, conversations
from app.events import KINDS
from realtime.fragments import FRAGMENTS
from tests.factories import login, make_channel, make_conversation, make_member, make_org, unique_email
from tests.replay import apply_push, assert_replay_equals_fresh, normalised

COVERED: set[str] = set()


@pytest.fixture
async def team(db, client):
    admin = await make_org(db)
    await login(client, admin.email)
    return admin


async def check(db, client, admin, path, change, *kinds):
    COVERED.update(kinds)
    await assert_replay_equals_fresh(db, client, admin.actor.org_id, path, change, expect_kinds=set(kinds))


async def test_channel_created_on_channels_page_and_dashboard(db, client, team):
    await make_channel(db, team, name="Befintlig")
    for path in ("/admin/channels", "/"):
        await check(db, client, team, path, lambda: channels.create_channel(
            db, team.actor, kind="forum", name="Kundservice SV", colour="teal",
            address=f"forum-{unique_email()[:12]}"), "channel.created")


async def test_channel_updated_on_channels_page_and_dashboard(db, client, team):
    channel = await make_channel(db, team, name="Support")
    await make_conversation(db, team.actor.org_id, channel)
    for path, name in (("/admin/channels", "Kundtjänst"), ("/", "Kundtjänst e-post")):
        await check(db, client, team, path, lambda name=name: channels.update_channel(
            db, team.actor, channel, name=name, colour="orange", address=unique_email("kt"),
            response_target_minutes=90), "channel.updated")


async def test_role_and_away_change_on_team_page(db, client, team):
    editor = await make_member(db, team.actor.org_id, "editor", "Björn Ek")
    await check(db, client, team, "/admin/members",
                lambda: accounts.set_role(db, team.actor, editor.actor.user_id, "viewer"), "member.role_changed")
    await check(db, client, team, "/admin/members",
                lambda: accounts.set_away(db, team.actor, editor.actor.user_id, True), "member.away_changed")


async def test_invite_and_join_on_team_page(db, client, team, settings):
    email = unique_email("cecilia")
    holder = {}

    async def invite():
        holder["id"] = await accounts.invite(db, team.actor, email, "editor")

    await check(db, client, team, "/admin/members", invite, "member.invited")

    async def join():
        token = accounts.invite_token(settings.secret_key, holder["id"])
        await accounts.accept_invite(db, settings.secret_key, token, "Cecilia Ny", "a long password")

    await check(db, client, team, "/admin/members", join, "member.joined")


async def test_conversation_lifecycle_on_dashboard(db, client, team):
    org_id = team.actor.org_id
    channel = await make_channel(db, team)
    older = await make_conversation(db, org_id, channel, subject="Äldre ärende")
    await make_conversation(db, org_id, channel, subject="Nyare ärende")
    holder = {}

    async def arrive():
        holder["id"] = await make_conversation(db, org_id, channel, subject="Trasig kaffebryggare")

    await check(db, client, team, "/", arrive, "conversation.created", "message.added")
    conv = holder["id"]
    await check(db, client, team, "/", lambda: conversations.add_message(
        db, org_id, conv, kind="editor", body="Hej! Vi skickar en ny.", author_id=team.actor.user_id),
        "message.added")
    await check(db, client, team, "/", lambda: conversations.assign(
        db, org_id, conv, team.actor.user_id, actor_id=team.actor.user_id), "conversation.assigned")
    await check(db, client, team, "/", lambda: conversations.add_message(
        db, org_id, conv, kind="customer", body="Tack så mycket!"), "message.added")
    await check(db, client, team, "/", lambda: conversations.mark_no_reply_needed(
        db, org_id, conv, actor_id=team.actor.user_id), "conversation.no_reply_needed")
    await check(db, client, team, "/", lambda: conversations.set_status(
        db, org_id, older, "closed", actor_id=team.actor.user_id), "conversation.status_changed")
    # reopened: back at its arrival position, not on top
    await check(db, client, team, "/", lambda: conversations.set_status(
        db, org_id, older, "open", actor_id=team.actor.user_id), "conversation.status_changed")


def test_every_event_kind_has_fragments_and_a_replay_test():
    assert set(FRAGMENTS) == set(KINDS)
    # runs last in this module (pytest keeps file order), after the tests above filled COVERED
    assert COVERED == set(KINDS), f"event kinds without a replay test: {set(KINDS) - COVERED}"


def test_apply_push_follows_htmx_oob_rules():
    page = '<html><body><main><ol id="q"><li id="a">A</li></ol><p id="x">x</p></main></body></html>'
    push = ('<ol hx-swap-oob="afterbegin:#q"><li id="b">B</li></ol>'
            '<li id="a" hx-swap-oob="true">A2</li><div id="x" hx-swap-oob="delete"></div>'
            '<p id="missing" hx-swap-oob="true">ignored</p>')
    assert normalised(apply_push(page, push)) == '<main><ol id="q"><li id="b">B</li><li id="a">A2</li></ol></main>'
