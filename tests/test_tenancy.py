"""No one sees another organisation's data: other organisations' pages answer 404."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

import asyncpg
import pytest

from app import accounts, blocking, canned, channels, conversations, followups, jobs
from app.mail import imap, ingress, receive
from tests.factories import csrf_from, login, make_channel, make_conversation, make_member, make_org, unique_email


async def test_conversation_of_another_organisation_is_not_found(db, client):
    ours, theirs = await make_org(db, "Vår AB"), await make_org(db, "Deras AB")
    secret = await make_conversation(db, theirs.actor.org_id, await make_channel(db, theirs),
                                     subject="Hemlig reklamation", body="Personnummer och allt")
    own = await make_conversation(db, ours.actor.org_id, await make_channel(db, ours), subject="Vårt eget ärende")
    await login(client, ours.email)
    assert (await client.get(f"/conversations/{own}")).status_code == 200
    response = await client.get(f"/conversations/{secret}")
    assert response.status_code == 404
    assert "Hemlig" not in response.text
    missing = await client.get("/conversations/999999999")
    assert missing.status_code == 404 and missing.text == response.text, "404 does not reveal existence"
    dashboard = (await client.get("/")).text
    assert "Vårt eget ärende" in dashboard and "Hemlig" not in dashboard


async def test_admin_cannot_change_members_of_another_organisation(db, client):
    ours, theirs = await make_org(db), await make_org(db)
    victim = await make_member(db, theirs.actor.org_id, "editor")
    token = await login(client, ours.email)
    for path, data in [(f"/admin/members/{victim.actor.user_id}/role", {"role": "viewer"}),
                       (f"/admin/members/{victim.actor.user_id}/away", {"away": "1"}),
                       (f"/admin/members/{victim.actor.user_id}/reset-link", {})]:
        response = await client.post(path, data=data, headers={"x-csrf-token": token})
        assert response.status_code == 404, path
    members_page = (await client.get("/admin/members")).text
    assert victim.email not in members_page


async def test_admin_edits_a_channel_and_its_address_stays_unique(db, client):
    ours, theirs = await make_org(db), await make_org(db)
    taken = unique_email("taken")
    await channels.create_channel(db, theirs.actor, kind="mailbox", name="Deras", colour="red", address=taken)
    channel = await make_channel(db, ours, name="Suport")
    await login(client, ours.email)
    page = await client.get(f"/admin/channels/{channel}")
    form = {"name": "Support", "colour": "purple", "address": taken, "response_target_minutes": "45",
            "csrf_token": csrf_from(page.text)}
    refused = await client.post(f"/admin/channels/{channel}", data=form)
    assert refused.status_code == 400 and "Adressen används redan." in refused.text
    form["address"] = unique_email("support")
    assert (await client.post(f"/admin/channels/{channel}", data=form)).status_code == 303
    saved = await channels.get_channel(db, ours.actor.org_id, channel)
    assert (saved["name"], saved["colour"], saved["address"], saved["response_target_minutes"]) == (
        "Support", "purple", form["address"], 45)


async def test_anonymous_visitors_are_sent_to_login(client):
    for path in ("/", "/admin/members", "/admin/channels", "/conversations/1"):
        response = await client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/login", path


async def test_channel_addresses_are_unique_across_organisations(db, client):
    ours, theirs = await make_org(db), await make_org(db)
    await login(client, theirs.email)
    token = (await client.get("/admin/channels")).text
    address = unique_email("support")
    form = {"kind": "mailbox", "name": "Support", "colour": "green", "address": address,
            "response_target_minutes": "120", "csrf_token": csrf_from(token)}
    assert (await client.post("/admin/channels", data=form)).status_code == 303
    client.cookies.clear()
    await login(client, ours.email)
    form["csrf_token"] = csrf_from((await client.get("/admin/channels")).text)
    response = await client.post("/admin/channels", data=form)
    assert response.status_code == 400 and "Adressen används redan." in response.text


async def _tenant_tables(settings) -> list[str]:
    conn = await asyncpg.connect(settings.database_owner_url)
    try:
        return [r["table_name"] for r in await conn.fetch(
            """SELECT c.relname AS table_name FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped
               WHERE n.nspname = 'public' AND c.relkind = 'r' AND has_table_privilege('samsyn_app', c.oid, 'SELECT')
               ORDER BY 1""")]
    finally:
        await conn.close()


async def _fill_every_tenant_table(db, settings, admin) -> None:
    org_id = admin.actor.org_id
    conv = await make_conversation(db, org_id, await make_channel(db, admin))
    await accounts.invite(db, admin.actor, unique_email("inbjuden"), "editor")
    async with db.transaction(org_id) as tx:
        await jobs.enqueue(tx, "tenancy.probe", {})
    await canned.create(db, admin.actor, title="Tack", body="Tack för ditt mejl!")
    # a follow-up, and a notification of a case the admin assigned
    await followups.set_follow_up(db, admin.actor, conv, datetime.now(timezone.utc) + timedelta(days=1))
    editor = await make_member(db, org_id, "editor", "Nora Notis")
    await conversations.assign(db, admin.actor, conv, editor.actor.user_id)
    await blocking.block(db, admin.actor, "reklam.example")  # case tools
    message = EmailMessage()
    message["From"], message["Subject"] = "kund@example.se", "Med bilaga"
    message.set_content("Hej")
    message.add_attachment(b"fil", maintype="application", subtype="octet-stream", filename="fil.bin")
    channel = await make_channel(db, admin)
    await receive.receive(db, org_id, await ingress.store(db, ingress.Mailbox(org_id, channel), message.as_bytes()))
    await imap.save_settings(db, admin.actor, channel, key=settings.mail_password_key, host="127.0.0.1",  # IMAP
                             port="1", security="none", username="info", password="x", folder="INBOX", enabled=True)
    conn = await asyncpg.connect(settings.database_owner_url)  # tables no domain function fills yet
    try:
        group = await conn.fetchval("INSERT INTO tag_groups (org_id, name) VALUES ($1, 'Ämne') RETURNING id", org_id)
        tag = await conn.fetchval("INSERT INTO tags (org_id, group_id, name) VALUES ($1, $2, 'Leverans') RETURNING id",
                                  org_id, group)
        await conn.execute("INSERT INTO conversation_tags (org_id, conversation_id, tag_id) VALUES ($1, $2, $3)",
                           org_id, conv, tag)
    finally:
        await conn.close()
    from app import drafts  # the reply composer (issue 7): a draft with a file

    await drafts.add_files(db, admin.actor, conv, None, [drafts.Upload("utkast.txt", "text/plain", b"hej")], 10_000,
                           body="Ett utkast")
    from app import forum  # the public forum (issue 8): a "me too" vote

    slug = f"forum-{unique_email()[:10]}"
    await channels.create_channel(db, admin.actor, kind="forum", name="Forum", colour="blue", address=slug)
    found = await forum.find(db, slug)
    idea = await forum.start_thread(db, found, topic="idea", title="Idé", post=forum.Post("Olle", unique_email(), "Hej"))
    await forum.vote(db, found, idea, unique_email("röst"))
    from app import forum_moves, visitor_mail  # forum moves (issue 8): a follow, a move, a publication

    thread_id = (await forum.thread(db, found, idea))["thread"]["id"]
    from app import forum_editing  # the forum's editor workflow (issue 8): an edited thread's revision (before it moves)

    await forum_editing.edit(db, admin.actor, thread_id, "Idé!", "Hej!")
    await visitor_mail.follow(db, org_id, thread_id, email=unique_email("olle"), name="Olle", locale="sv")
    await forum_moves.move_to_mail(db, admin.actor, thread_id, mailbox_id=channel, note="Per mejl.", message="Hej!")
    await forum_moves.publish(db, admin.actor, thread_id, forum_id=found.channel_id, title="Idé", question="Hur?",
                              answer="Så här.", edited=True)
    from app import barometer  # the customer barometer (issue 10): a scored message in every roll-up

    async with db.transaction(org_id, readonly=True) as tx:
        first = await tx.fetchval("SELECT min(id) FROM messages WHERE org_id = $1 AND conversation_id = $2", org_id, conv)
    await barometer.correct(db, admin.actor, first, "neg")  # the case is tagged (Ämne: Leverans) above
    # statistics (issue 10): stats_conversations and stats_daily fill themselves, by triggers, from the rows above


async def test_every_tenant_table_shows_only_the_current_organisations_rows(db, settings):
    ours, theirs = await make_org(db, "Vår AB"), await make_org(db, "Deras AB")
    for admin in (ours, theirs):
        await _fill_every_tenant_table(db, settings, admin)
    tables = await _tenant_tables(settings)
    assert {"invites", "conversation_tags", "events", "memberships"} <= set(tables)
    async with db.transaction(ours.actor.org_id, readonly=True) as tx:
        for table in tables:
            own = await tx.fetchval(f"SELECT count(*) FROM {table} WHERE org_id = $1", ours.actor.org_id)
            foreign = await tx.fetchval(f"SELECT count(*) FROM {table} WHERE org_id <> $1", ours.actor.org_id)
            assert (own > 0, foreign) == (True, 0), table
    async with db.transaction(None, readonly=True) as tx:
        for table in tables:
            assert await tx.fetchval(f"SELECT count(*) FROM {table}") == 0, table


async def test_people_are_visible_only_to_their_own_organisations_and_themselves(db):
    ours, theirs = await make_org(db), await make_org(db)
    async with db.transaction(None, readonly=True) as tx:
        assert await tx.fetchval("SELECT count(*) FROM users") == 0, "no organisation: no people, no hashes"
    async with db.transaction(ours.actor.org_id, readonly=True) as tx:
        assert {r["id"] for r in await tx.fetch("SELECT id FROM users")} == {ours.actor.user_id}
    async with db.transaction(None, user_id=theirs.actor.user_id, readonly=True) as tx:
        assert {r["id"] for r in await tx.fetch("SELECT id FROM users")} == {theirs.actor.user_id}
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with db.transaction(None) as tx:
            await tx.execute("DELETE FROM users WHERE id = $1", theirs.actor.user_id)
    async with db.transaction(ours.actor.org_id) as tx:  # another organisation's admin renames no one
        assert await tx.execute("UPDATE users SET name = 'Kapad' WHERE id = $1", theirs.actor.user_id) == "UPDATE 0"


async def test_the_app_cannot_read_or_write_sessions_directly(db, client):
    admin = await make_org(db)
    await login(client, admin.email)
    for statement in ("SELECT count(*) FROM sessions", "DELETE FROM sessions"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with db.transaction(None) as tx:
                await tx.execute(statement)
    assert (await client.get("/")).status_code == 200, "sessions still work through their functions"
