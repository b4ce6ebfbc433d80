"""Domain functions refuse what the acting party may not do, whichever route or worker calls them."""
from __future__ import annotations

import pytest

from app import accounts, channels, conversations
from app.actors import System, Visitor
from app.errors import Forbidden
from tests.factories import make_channel, make_conversation, make_member, make_org, unique_email


@pytest.fixture
async def org(db):
    admin = await make_org(db)
    org_id = admin.actor.org_id
    return {
        "admin": admin.actor,
        "editor": (await make_member(db, org_id, "editor", "Anna Lind")).actor,
        "viewer": (await make_member(db, org_id, "viewer", "Viktor Sand")).actor,
        "system": System(org_id, "smtp"),
        "visitor": Visitor(org_id, "Karin"),
        "mail": await make_channel(db, admin, "mailbox"),
        "forum": await make_channel(db, admin, "forum"),
    }


async def _refused(call) -> None:
    with pytest.raises(Forbidden):
        await call


async def test_a_viewer_changes_no_conversation(db, org):
    conv = await make_conversation(db, org["admin"].org_id, org["mail"])
    viewer = org["viewer"]
    await _refused(conversations.set_status(db, viewer, conv, "closed"))
    await _refused(conversations.assign(db, viewer, conv, viewer.user_id))
    await _refused(conversations.mark_no_reply_needed(db, viewer, conv))
    for kind in ("editor", "note", "comment", "customer"):
        await _refused(conversations.add_message(db, viewer, conv, kind=kind, body="Hej"))
    row, messages = await conversations.get(db, viewer.org_id, conv)
    assert (row["status"], row["assignee_id"], len(messages)) == ("open", None, 1)


async def test_editors_work_conversations_but_never_write_as_the_customer(db, org):
    conv = await make_conversation(db, org["admin"].org_id, org["mail"])
    editor = org["editor"]
    await conversations.add_message(db, editor, conv, kind="editor", body="Hej! Vi tittar på det.")
    await conversations.assign(db, editor, conv, editor.user_id)
    await conversations.set_status(db, editor, conv, "waiting")
    await _refused(conversations.add_message(db, editor, conv, kind="customer", body="Låtsaskund"))
    await _refused(conversations.open_conversation(db, editor, channel_id=org["mail"], subject="x", body="y"))


async def test_the_system_stores_mail_but_answers_and_assigns_nothing(db, org):
    system = org["system"]
    conv = await conversations.open_conversation(db, system, channel_id=org["mail"], subject="Faktura",
                                                 body="Hej, fakturan stämmer inte.", customer_email=unique_email())
    await conversations.add_message(db, system, conv, kind="customer", body="Och en sak till.")
    await conversations.set_status(db, system, conv, "closed")  # sweeps close and reopen
    await _refused(conversations.add_message(db, system, conv, kind="editor", body="Svar från ingen"))
    await _refused(conversations.assign(db, system, conv, org["editor"].user_id))
    await _refused(conversations.mark_no_reply_needed(db, system, conv))
    await _refused(conversations.open_conversation(db, system, channel_id=org["forum"], subject="x", body="y"))


async def test_a_visitor_posts_and_comments_in_the_forum_only(db, org):
    visitor = org["visitor"]
    thread = await conversations.open_conversation(db, visitor, channel_id=org["forum"], subject="Idé",
                                                   body="Mörkt läge, tack!")
    await conversations.add_message(db, visitor, thread, kind="comment", body="Jag med!")
    await _refused(conversations.add_message(db, visitor, thread, kind="editor", body="Officiellt svar"))
    await _refused(conversations.add_message(db, visitor, thread, kind="note", body="Intern"))
    await _refused(conversations.set_status(db, visitor, thread, "archived"))
    await _refused(conversations.assign(db, visitor, thread, None))
    mail = await make_conversation(db, org["admin"].org_id, org["mail"])
    await _refused(conversations.add_message(db, visitor, mail, kind="customer", body="In i någons mejl"))
    await _refused(conversations.open_conversation(db, visitor, channel_id=org["mail"], subject="x", body="y"))


async def test_only_admins_manage_members_and_channels(db, org):
    for who in ("editor", "viewer", "system", "visitor"):
        actor = org[who]
        await _refused(accounts.set_role(db, actor, org["admin"].user_id, "viewer"))
        await _refused(accounts.invite(db, actor, unique_email(), "editor"))
        await _refused(accounts.reset_link_token(db, actor, "secret", org["editor"].user_id))
        await _refused(channels.create_channel(db, actor, kind="forum", name="Nytt", colour="red",
                                               address=f"f-{unique_email()[:10]}"))
        await _refused(channels.update_channel(db, actor, org["mail"], name="Omdöpt", colour="red",
                                               address=unique_email(), response_target_minutes=60))
    assert (await accounts.member(db, org["admin"].org_id, org["admin"].user_id))["role"] == "admin"


async def test_set_away_for_someone_else_needs_an_admin(db, org):
    await _refused(accounts.set_away(db, org["editor"], org["viewer"].user_id, True))
    await _refused(accounts.set_away(db, org["system"], org["viewer"].user_id, True))
    await accounts.set_away(db, org["viewer"], org["viewer"].user_id, True)  # oneself: anyone
    await accounts.set_away(db, org["admin"], org["editor"].user_id, True)
    away = {m["id"]: m["away"] for m in await accounts.members(db, org["admin"].org_id)}
    assert away[org["viewer"].user_id] and away[org["editor"].user_id]


async def test_an_actor_of_another_organisation_finds_nothing(db, org):
    other = (await make_org(db)).actor
    conv = await make_conversation(db, org["admin"].org_id, org["mail"])
    from app.errors import NotFound

    for call in (conversations.set_status(db, other, conv, "closed"),
                 conversations.assign(db, other, conv, other.user_id),
                 conversations.add_message(db, other, conv, kind="note", body="Smygtitt"),
                 conversations.add_message(db, System(other.org_id), conv, kind="customer", body="In"),
                 accounts.set_away(db, other, org["editor"].user_id, True)):
        with pytest.raises(NotFound):
            await call


async def test_editors_tag_cases_and_only_admins_keep_the_tag_list(db, org):
    from app import tags

    conv = await make_conversation(db, org["admin"].org_id, org["mail"])
    faktura = await tags.create_tag(db, org["admin"], "Faktura")
    for who in ("editor", "viewer", "system", "visitor"):
        await _refused(tags.create_tag(db, org[who], f"Av {who}"))
        await _refused(tags.create_group(db, org[who], f"Grupp {who}"))
    for who in ("viewer", "system", "visitor"):
        await _refused(tags.tag(db, org[who], conv, faktura))
    await tags.tag(db, org["editor"], conv, faktura)
    await tags.tag(db, org["editor"], conv, faktura)  # twice: still once, one event
    assert (await conversations.find_row(db, org["admin"].org_id, conv))["tags"] == ["Faktura"]
    await _refused(tags.untag(db, org["viewer"], conv, faktura))
    await tags.untag(db, org["editor"], conv, faktura)
    assert (await conversations.find_row(db, org["admin"].org_id, conv))["tags"] == []
    other = (await make_org(db)).actor
    from app.errors import NotFound

    with pytest.raises(NotFound):
        await tags.tag(db, other, conv, faktura)
