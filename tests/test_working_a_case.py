"""Working a case over HTTP: reply, internal note, status, assignment, and replies that would cross."""
from __future__ import annotations

import pytest

from app import conversations
from app.actors import System
from tests.factories import login, make_channel, make_conversation, make_member, make_org


@pytest.fixture
async def case(db, client):
    admin = await make_org(db, "Ärendebolaget AB")
    anna = await make_member(db, admin.actor.org_id, "editor", "Anna Lind")
    conversation_id = await make_conversation(db, admin.actor.org_id, await make_channel(db, admin),
                                              subject="Var är mitt paket?")
    token = await login(client, anna.email)
    return admin, anna, conversation_id, token


async def _newest(db, org_id, conversation_id) -> int:
    _, messages = await conversations.get(db, org_id, conversation_id)
    return messages[-1]["id"]


async def test_an_editor_replies_and_the_reply_is_queued_to_go_out(db, client, case):
    admin, anna, conv, token = case
    seen = await _newest(db, admin.actor.org_id, conv)
    r = await client.post(f"/conversations/{conv}/reply", data={"body": "Hej! Det kommer i morgon.", "seen": seen},
                          headers={"x-csrf-token": token})
    assert r.status_code == 303
    row, messages = await conversations.get(db, admin.actor.org_id, conv)
    assert (messages[-1]["kind"], messages[-1]["author_name"], messages[-1]["delivery_state"]) == (
        "editor", "Anna Lind", "queued")
    assert not row["needs_reply"]
    assert "Inte skickat än" in (await client.get(f"/conversations/{conv}")).text


async def test_a_note_stays_inside_the_team(db, client, case):
    admin, anna, conv, token = case
    r = await client.post(f"/conversations/{conv}/note", data={"body": "Kollar med lagret."},
                          headers={"x-csrf-token": token})
    assert r.status_code == 303
    row, messages = await conversations.get(db, admin.actor.org_id, conv)
    assert (messages[-1]["kind"], messages[-1]["delivery_state"], row["needs_reply"]) == ("note", None, True)


async def test_a_reply_that_would_cross_a_newer_message_is_held_until_sent_anyway(db, client, case):
    admin, anna, conv, token = case
    seen = await _newest(db, admin.actor.org_id, conv)
    await conversations.add_message(db, System(admin.actor.org_id), conv, kind="customer",
                                    body="Glöm det, paketet kom nu!")
    draft = {"body": "Vi skickar ett nytt paket.", "seen": seen}
    held = await client.post(f"/conversations/{conv}/reply", data=draft, headers={"x-csrf-token": token})
    assert held.status_code == 409
    assert "Medan du skrev" in held.text and "Vi skickar ett nytt paket." in held.text, "the draft is kept"
    _, messages = await conversations.get(db, admin.actor.org_id, conv)
    assert [m["kind"] for m in messages] == ["customer", "customer"]
    sent = await client.post(f"/conversations/{conv}/reply", data={**draft, "send_anyway": "1"},
                             headers={"x-csrf-token": token})
    assert sent.status_code == 303


async def test_another_editors_reply_holds_mine_too(db, client, case):
    admin, anna, conv, token = case
    seen = await _newest(db, admin.actor.org_id, conv)
    await conversations.reply(db, admin.actor, conv, "Lena svarar först.", seen_message_id=seen)
    held = await client.post(f"/conversations/{conv}/reply", data={"body": "Anna svarar också.", "seen": seen},
                             headers={"x-csrf-token": token})
    assert held.status_code == 409 and "Lena Admin" in held.text


async def test_an_empty_reply_is_a_clear_error(db, client, case):
    admin, anna, conv, token = case
    r = await client.post(f"/conversations/{conv}/reply", data={"body": "   ", "seen": "0"},
                          headers={"x-csrf-token": token})
    assert r.status_code == 400 and "Skriv något först." in r.text


async def test_status_and_assignment_change_from_the_page(db, client, case):
    admin, anna, conv, token = case
    for path, data in (("status", {"status": "waiting"}), ("assign", {"assignee_id": str(anna.actor.user_id)})):
        assert (await client.post(f"/conversations/{conv}/{path}", data=data,
                                  headers={"x-csrf-token": token})).status_code == 303
    row, _ = await conversations.get(db, admin.actor.org_id, conv)
    assert (row["status"], row["assignee_id"]) == ("waiting", anna.actor.user_id)
    r = await client.post(f"/conversations/{conv}/assign", data={"assignee_id": "12345678"},
                          headers={"x-csrf-token": token})
    assert r.status_code == 400 and "Bara redaktörer" in r.text
    assert (await client.post(f"/conversations/{conv}/assign", data={"assignee_id": ""},
                              headers={"x-csrf-token": token})).status_code == 303
    assert (await conversations.get(db, admin.actor.org_id, conv))[0]["assignee_id"] is None


async def test_an_editor_tags_a_case_and_the_dashboard_shows_it(db, client, case):
    from app import tags

    admin, anna, conv, token = case
    leverans = await tags.create_tag(db, admin.actor, "Leverans", await tags.create_group(db, admin.actor, "Ämne"))
    assert (await client.post(f"/conversations/{conv}/tag", data={"tag_id": leverans},
                              headers={"x-csrf-token": token})).status_code == 303
    assert 'class="badge tag">Leverans<' in (await client.get("/")).text
    assert (await client.post(f"/conversations/{conv}/untag", data={"tag_id": leverans},
                              headers={"x-csrf-token": token})).status_code == 303
    assert 'class="badge tag">Leverans<' not in (await client.get("/")).text
    # the same name twice is a clear error on the admin page
    client.cookies.clear()
    admin_token = await login(client, admin.email)
    r = await client.post("/admin/tags", data={"name": "Leverans", "group_id": ""}, headers={"x-csrf-token": admin_token})
    assert r.status_code == 400 and "Namnet används redan." in r.text


async def test_canned_replies_are_kept_by_editors_and_filled_in_for_the_case(db, client, case):
    from app import canned
    from app.errors import Forbidden, Invalid

    admin, anna, conv, token = case
    r = await client.post("/canned", data={"title": "Leverans", "shortcut": "/leverans",
                                           "body": "Hej {kund}! Ditt ärende {ärende} är på väg. /{redaktör}"},
                          headers={"x-csrf-token": token})
    assert r.status_code == 303
    page = (await client.get(f"/conversations/{conv}")).text
    assert 'data-text="Hej Karin Berg! Ditt ärende #1 är på väg. /Anna Lind"' in page
    assert 'data-shortcut="leverans"' in page
    twice = await client.post("/canned", data={"title": "Igen", "shortcut": "leverans", "body": "x"},
                              headers={"x-csrf-token": token})
    assert twice.status_code == 400 and "Ett annat svar har redan det kortkommandot." in twice.text
    viewer = await make_member(db, admin.actor.org_id, "viewer", "Viktor Sand")
    with pytest.raises(Forbidden):
        await canned.create(db, viewer.actor, title="Nej", body="Läsare skriver inga svar")
    with pytest.raises(Invalid):
        await canned.create(db, anna.actor, title="Tomt", body="   ")
