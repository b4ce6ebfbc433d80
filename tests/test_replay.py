"""For every event kind: the page before + the pushed fragments == the page after, per audience.

Each kind has a scenario in SCENARIOS; the test is parametrised over the catalogue, so a new
kind without a scenario fails on its own, in any order, and alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from app import accounts, canned, channels, conversations, followups, notifications, tags
from app import blocking, case_tools
from app.actors import Actor, System
from app.events import KINDS
from app.mail import ingress, receive
from realtime import fragments
from realtime.fragments import FRAGMENTS, MEMBERS, Piece
from devtools.services import free_port
from tests.factories import login, make_channel, make_conversation, make_member, make_org, unique_email
from tests.test_mail_out import queue_reply, relay_at, smtp_sink, work_off
from tests.replay import apply_push, assert_replay_equals_fresh, normalised
from app.mail import account_mail  # accounts
from tests.test_account_mail import invite_state, work_off_account_mail  # accounts
from tests.test_mail_out import make_due_now  # accounts


@dataclass
class Team:
    db: object
    admin: Actor
    viewer: Actor
    clients: dict[str, httpx.AsyncClient]
    settings: object

    @property
    def org_id(self) -> int:
        return self.admin.org_id

    async def check(self, path: str, change, kind: str) -> None:
        await assert_replay_equals_fresh(self.db, self.clients, self.org_id, path, change, expect_kinds={kind})


@pytest.fixture
async def team(db, server, settings):
    admin = await make_org(db)
    viewer = await make_member(db, admin.actor.org_id, "viewer", "Viktor Sand")
    clients = {}
    for who, person in (("member", viewer), ("admin", admin)):
        clients[who] = httpx.AsyncClient(base_url=server, timeout=10)
        await login(clients[who], person.email)
    yield Team(db, admin.actor, viewer.actor, clients, settings)
    for client in clients.values():
        await client.aclose()


async def channel_created(t: Team) -> None:
    await make_channel(t.db, t.admin, name="Befintlig")
    for path in ("/admin/channels", "/"):
        await t.check(path, lambda: channels.create_channel(
            t.db, t.admin, kind="forum", name="Kundservice SV", colour="teal",
            address=f"forum-{unique_email()[:12]}"), "channel.created")


async def channel_updated(t: Team) -> None:
    channel = await make_channel(t.db, t.admin, name="Support")
    await make_conversation(t.db, t.org_id, channel)
    for path, name in (("/admin/channels", "Kundtjänst"), ("/", "Kundtjänst e-post")):
        await t.check(path, lambda name=name: channels.update_channel(
            t.db, t.admin, channel, name=name, colour="orange", address=unique_email("kt"),
            response_target_minutes=90), "channel.updated")


async def role_changed(t: Team) -> None:
    editor = await make_member(t.db, t.org_id, "editor", "Björn Ek")
    await t.check("/admin/members", lambda: accounts.set_role(t.db, t.admin, editor.actor.user_id, "viewer"),
                  "member.role_changed")


async def away_changed(t: Team) -> None:
    editor = await make_member(t.db, t.org_id, "editor", "Björn Ek")
    await t.check("/admin/members", lambda: accounts.set_away(t.db, t.admin, editor.actor.user_id, True),
                  "member.away_changed")


async def invited(t: Team) -> None:
    await t.check("/admin/members", lambda: accounts.invite(t.db, t.admin, unique_email("cecilia"), "editor"),
                  "member.invited")


async def joined(t: Team) -> None:
    token = accounts.invite_token(t.settings.secret_key,
                                  await accounts.invite(t.db, t.admin, unique_email("cecilia"), "editor"))
    await t.check("/admin/members", lambda: accounts.accept_invite(
        t.db, t.settings.secret_key, token, "Cecilia Ny", "a long password"), "member.joined")


async def invite_accepted(t: Team) -> None:
    # someone who is a member already: no one joins, but the invite leaves the list
    existing = await make_member(t.db, t.org_id, "editor", "Dora Finns")
    async with t.db.transaction(t.org_id) as tx:  # invited before they joined some other way
        invite_id = await tx.fetchval(
            "INSERT INTO invites (org_id, email, role) VALUES ($1, $2, 'editor') RETURNING id",
            t.org_id, existing.email)
        await tx.emit("member.invited", invite_id=invite_id, actor_id=t.admin.user_id)
    token = accounts.invite_token(t.settings.secret_key, invite_id)
    await t.check("/admin/members", lambda: accounts.accept_invite_as(
        t.db, t.settings.secret_key, token, existing.actor.user_id, existing.email), "member.invite_accepted")


async def conversation_created(t: Team) -> None:
    channel = await make_channel(t.db, t.admin)
    await make_conversation(t.db, t.org_id, channel, subject="Äldre ärende")
    await t.check("/", lambda: make_conversation(t.db, t.org_id, channel, subject="Trasig kaffebryggare"),
                  "conversation.created")


async def message_added(t: Team) -> None:
    conv = await make_conversation(t.db, t.org_id, await make_channel(t.db, t.admin))
    await t.check("/", lambda: conversations.add_message(
        t.db, t.admin, conv, kind="editor", body="Hej! Vi skickar en ny."), "message.added")
    await t.check("/", lambda: conversations.add_message(
        t.db, System(t.org_id), conv, kind="customer", body="Tack så mycket!"), "message.added")
    # the case page's history takes each message too (a note as well), as a viewer sees it
    for kind, actor, body in (("customer", System(t.org_id), "En sak till."), ("note", t.admin, "Ring henne.")):
        await _check_case_page(t, f"/conversations/{conv}", lambda kind=kind, actor=actor, body=body:
                               conversations.add_message(t.db, actor, conv, kind=kind, body=body), "message.added")


async def assigned(t: Team) -> None:
    conv = await make_conversation(t.db, t.org_id, await make_channel(t.db, t.admin))
    await t.check("/", lambda: conversations.assign(t.db, t.admin, conv, t.admin.user_id), "conversation.assigned")


async def no_reply_needed(t: Team) -> None:
    conv = await make_conversation(t.db, t.org_id, await make_channel(t.db, t.admin))
    await t.check("/", lambda: conversations.mark_no_reply_needed(t.db, t.admin, conv),
                  "conversation.no_reply_needed")
    await conversations.add_message(t.db, System(t.org_id), conv, kind="customer", body="Tack igen!")
    await _check_case_page(t, f"/conversations/{conv}", lambda: conversations.mark_no_reply_needed(t.db, t.admin, conv),
                           "conversation.no_reply_needed")


async def status_changed(t: Team) -> None:
    channel = await make_channel(t.db, t.admin)
    older = await make_conversation(t.db, t.org_id, channel, subject="Äldre ärende")
    await make_conversation(t.db, t.org_id, channel, subject="Nyare ärende")
    await t.check("/", lambda: conversations.set_status(t.db, t.admin, older, "closed"),
                  "conversation.status_changed")
    # reopened: back at its arrival position, not on top
    await t.check("/", lambda: conversations.set_status(t.db, t.admin, older, "open"),
                  "conversation.status_changed")


async def mail_set_aside(t: Team) -> None:
    box = ingress.Mailbox(t.org_id, await make_channel(t.db, t.admin))

    async def unreadable_mail_arrives():
        await receive.receive(t.db, t.org_id, await ingress.store(t.db, box, b"\xd0\xcf\x11\xe0 not a mail"))

    await t.check("/mail/unplaced", unreadable_mail_arrives, "mail.set_aside")


async def delivery_changed(t: Team) -> None:
    # The dashboard does not show delivery itself, so the change is a reply and its send job together.
    channel = await make_channel(t.db, t.admin)
    down, up = [await make_conversation(t.db, t.org_id, channel, subject=s) for s in ("Trasig", "Försenad")]

    async def reply_and_send(conversation_id: int) -> None:
        await queue_reply(t.db, t.admin, conversation_id)
        await work_off(t.db)

    with relay_at(t.settings, free_port()):  # the relay is down: "retrying"
        await t.check("/", lambda: reply_and_send(down), "message.delivery_changed")
        waiting = await make_conversation(t.db, t.org_id, channel, subject="Väntar")
        await queue_reply(t.db, t.admin, waiting)  # the case page's badge: "not sent yet" → "trying again"
        await _check_case_page(t, f"/conversations/{waiting}", lambda: work_off(t.db), "message.delivery_changed")
    async with smtp_sink() as sink:
        with relay_at(t.settings, sink.port):  # "sent"
            await t.check("/", lambda: reply_and_send(up), "message.delivery_changed")
    states = [r["delivery_state"] for r in await t.db.read(
        t.org_id, "SELECT delivery_state FROM messages WHERE org_id = $1 AND kind = 'editor' ORDER BY id", t.org_id)]
    assert states == ["retrying", "retrying", "sent"]  # down, waiting (case page), up


async def tagged(t: Team) -> None:
    conv = await make_conversation(t.db, t.org_id, await make_channel(t.db, t.admin))
    faktura = await tags.create_tag(t.db, t.admin, "Faktura")
    for path in ("/", f"/conversations/{conv}"):
        await t.check(path, lambda: tags.tag(t.db, t.admin, conv, faktura), "conversation.tagged")
        await tags.untag(t.db, t.admin, conv, faktura)


async def untagged(t: Team) -> None:
    conv = await make_conversation(t.db, t.org_id, await make_channel(t.db, t.admin))
    retur = await tags.create_tag(t.db, t.admin, "Retur")
    for path in ("/", f"/conversations/{conv}"):
        await tags.tag(t.db, t.admin, conv, retur)
        await t.check(path, lambda: tags.untag(t.db, t.admin, conv, retur), "conversation.untagged")


async def tag_created(t: Team) -> None:
    group = await tags.create_group(t.db, t.admin, "Område")
    await t.check("/admin/tags", lambda: tags.create_tag(t.db, t.admin, "Medlemskap", group), "tag.created")


async def tag_group_created(t: Team) -> None:
    await t.check("/admin/tags", lambda: tags.create_group(t.db, t.admin, "Prioritet"), "tag.group_created")


async def canned_changed(t: Team) -> None:
    await canned.create(t.db, t.admin, title="Tack", body="Tack för ditt mejl, {kund}!")
    holder = {}

    async def add():
        holder["id"] = await canned.create(t.db, t.admin, title="Leverans", body="Paketet kommer i morgon.",
                                           shortcut="leverans")

    await t.check("/canned", add, "canned.changed")
    await t.check("/canned", lambda: canned.delete(t.db, t.admin, holder["id"]), "canned.changed")


# accounts that need mail (issue 7)
async def member_removed(t: Team) -> None:
    # the team page lists them as former; the dashboard's rows lose them as assignee, by conversation.assigned
    channel = await make_channel(t.db, t.admin)
    for path in ("/admin/members", "/"):
        leaving = await make_member(t.db, t.org_id, "editor", "Björn Ek")
        case = await make_conversation(t.db, t.org_id, channel, subject="Björns ärende")
        await conversations.assign(t.db, t.admin, case, leaving.actor.user_id)
        await t.check(path, lambda user_id=leaving.actor.user_id: accounts.remove_member(t.db, t.admin, user_id),
                      "member.removed")
        assert (await conversations.find_row(t.db, t.org_id, case))["assignee_id"] is None


async def invite_mail_changed(t: Team) -> None:
    account_mail.configure(t.settings)
    invite_id = await accounts.invite(t.db, t.admin, unique_email("cecilia"), "editor")
    with relay_at(t.settings, free_port()):  # the relay is down: "retrying"
        await t.check("/admin/members", lambda: work_off_account_mail(t.db), "member.invite_mail_changed")
    async with smtp_sink() as sink:
        with relay_at(t.settings, sink.port):  # "sent"
            job_id = (await invite_state(t.db, t.org_id, invite_id))["mail_job_id"]
            await make_due_now(t.db, t.org_id, job_id)
            await t.check("/admin/members", lambda: work_off_account_mail(t.db), "member.invite_mail_changed")
    assert (await invite_state(t.db, t.org_id, invite_id))["mail_state"] == "sent"
# follow-ups and notifications (app/followups.py, app/notifications.py)


def _in(**delta) -> datetime:
    return datetime.now(timezone.utc) + timedelta(**delta)


async def _due_follow_up(t: Team, conversation_id: int) -> None:
    """A follow-up whose time has just passed (set an hour ago, for a minute ago)."""
    await followups.set_follow_up(t.db, t.admin, conversation_id, _in(minutes=-1), now=_in(hours=-1))


async def follow_up_set(t: Team) -> None:
    conv = await make_conversation(t.db, t.org_id, await make_channel(t.db, t.admin))
    for path, at in (("/", _in(days=1)), (f"/conversations/{conv}", _in(days=2))):
        await t.check(path, lambda at=at: followups.set_follow_up(t.db, t.admin, conv, at),
                      "conversation.follow_up_set")
    for path in (f"/conversations/{conv}", "/"):  # cleared, then set again for the other page
        await t.check(path, lambda: followups.set_follow_up(t.db, t.admin, conv, None), "conversation.follow_up_set")
        await followups.set_follow_up(t.db, t.admin, conv, _in(days=3))


async def follow_up_due(t: Team) -> None:
    # no one assigned: the admin is told (the viewer is not), on every page's header and their list
    channel = await make_channel(t.db, t.admin)
    for path in ("/", "/conversations/{conv}", "/notifications"):
        conv = await make_conversation(t.db, t.org_id, channel)
        await _due_follow_up(t, conv)
        await t.check(path.format(conv=conv), lambda: followups.sweep(t.db), "conversation.follow_up_due")


async def notification_created(t: Team) -> None:
    bjorn = await make_member(t.db, t.org_id, "editor", "Björn Ek")
    channel = await make_channel(t.db, t.admin)
    for path in ("/notifications", "/"):
        conv = await make_conversation(t.db, t.org_id, channel)
        await t.check(path, lambda conv=conv: conversations.assign(t.db, bjorn.actor, conv, t.admin.user_id),
                      "notification.created")


async def notification_read(t: Team) -> None:
    bjorn = await make_member(t.db, t.org_id, "editor", "Björn Ek")
    channel = await make_channel(t.db, t.admin)
    for subject in ("Första", "Andra", "Tredje"):
        await conversations.assign(t.db, bjorn.actor, await make_conversation(t.db, t.org_id, channel, subject=subject),
                                   t.admin.user_id)
    newest = (await notifications.of_person(t.db, t.org_id, t.admin.user_id))[0]["id"]
    await t.check("/notifications", lambda: notifications.open_notification(t.db, t.admin, newest),
                  "notification.read")
    await t.check("/", lambda: notifications.mark_all_read(t.db, t.admin), "notification.read")
# --- case tools (issue 7) -------------------------------------------------------------------


async def spam_marked(t: Team) -> None:
    channel = await make_channel(t.db, t.admin)
    older = await make_conversation(t.db, t.org_id, channel, subject="Köp billiga klockor")
    await make_conversation(t.db, t.org_id, channel, subject="Nyare ärende")
    for path in ("/", f"/conversations/{older}"):
        await t.check(path, lambda: case_tools.mark_spam(t.db, t.admin, older), "conversation.spam_marked")
        # unmarked: back in the queue at its arrival position
        await t.check(path, lambda: case_tools.mark_spam(t.db, t.admin, older, False), "conversation.spam_marked")


async def _case_with_two_mails(t: Team, customer: str) -> tuple[int, int]:
    conv = await make_conversation(t.db, t.org_id, await make_channel(t.db, t.admin), subject="Två frågor",
                                   customer_email=customer)
    second = await conversations.add_message(t.db, System(t.org_id), conv, kind="customer",
                                             body="En sak till: kan jag byta adress?")
    return conv, second


async def _check_case_page(t: Team, path: str, change, kind: str) -> None:
    # As a viewer sees it: the editors' forms under the history (the reply form's newest-seen marker, the
    # status select) are not pushed, so that no push wipes a reply being written.
    await assert_replay_equals_fresh(t.db, {"member": t.clients["member"]}, t.org_id, path, change,
                                     expect_kinds={kind})


async def split(t: Team) -> None:
    conv, second = await _case_with_two_mails(t, unique_email("karin"))
    await t.check("/", lambda: case_tools.split(t.db, t.admin, conv, second, "En ny fråga"), "conversation.split")
    conv, second = await _case_with_two_mails(t, unique_email("karin"))
    await _check_case_page(t, f"/conversations/{conv}",
                           lambda: case_tools.split(t.db, t.admin, conv, second, "En ny fråga"), "conversation.split")


async def merged(t: Team) -> None:
    for page in ("dashboard", "target", "source"):
        customer = unique_email("karin")
        source, _ = await _case_with_two_mails(t, customer)  # the older case, merged into the newer
        target, _ = await _case_with_two_mails(t, customer)
        number = (await conversations.find_row(t.db, t.org_id, target))["case_number"]
        merge = lambda source=source, number=number: case_tools.merge(t.db, t.admin, source, f"#{number}")  # noqa: E731
        if page == "dashboard":
            await t.check("/", merge, "conversation.merged")
        else:
            await _check_case_page(t, f"/conversations/{target if page == 'target' else source}", merge,
                                   "conversation.merged")


async def sender_blocked(t: Team) -> None:
    await blocking.block(t.db, t.admin, "reklam.example")
    await t.check("/admin/blocked", lambda: blocking.block(t.db, t.admin, "spam@kund.example"), "sender.blocked")


async def forum_voted(t: Team) -> None:
    # the public forum (issue 8): the case page's head counts the votes
    from app import forum

    slug = f"forum-{unique_email()[:10]}"
    await channels.create_channel(t.db, t.admin, kind="forum", name="Forum", colour="blue", address=slug)
    found = await forum.find(t.db, slug)
    idea = await forum.start_thread(t.db, found, topic="idea", title="Mörkt läge",
                                    post=forum.Post("Olle", unique_email(), "Snälla!"))
    conversation_id = (await forum.thread(t.db, found, idea))["thread"]["id"]
    await _check_case_page(t, f"/conversations/{conversation_id}",
                           lambda: forum.vote(t.db, found, idea, unique_email("röst")), "forum.voted")


async def sender_unblocked(t: Team) -> None:
    block_id = await blocking.block(t.db, t.admin, "reklam.example")
    await t.check("/admin/blocked", lambda: blocking.unblock(t.db, t.admin, block_id), "sender.unblocked")


async def _forum_thread(t: Team) -> tuple[int, int]:
    """A forum (blue, as the mailbox: a case page's frame colour is not pushed) with a visitor's question."""
    from app import forum
    slug = f"forum-{unique_email()[:10]}"
    await channels.create_channel(t.db, t.admin, kind="forum", name="Forum", colour="blue", address=slug)
    found = await forum.find(t.db, slug)
    number = await forum.start_thread(t.db, found, topic="question", title="Fel på fakturan",
                                      post=forum.Post("Olle", unique_email(), "Beloppet stämmer inte."))
    return found.channel_id, (await forum.thread(t.db, found, number))["thread"]["id"]


async def conversation_moved(t: Team) -> None:
    # forum moves (issue 8): the queue row takes the mailbox's name, the case page says where it came from
    from app import forum_moves
    mailbox = await make_channel(t.db, t.admin, name="Fakturor")
    for page in ("dashboard", "case"):
        _, thread = await _forum_thread(t)
        move = lambda thread=thread: forum_moves.move_to_mail(  # noqa: E731
            t.db, t.admin, thread, mailbox_id=mailbox, note="Vi tar det per mejl.", message="Hej Olle!")
        if page == "dashboard":
            await t.check("/", move, "conversation.moved")
        else:
            await _check_case_page(t, f"/conversations/{thread}", move, "conversation.moved")


async def conversation_published(t: Team) -> None:
    from app import forum_moves
    forum_id, _ = await _forum_thread(t)
    case = await make_conversation(t.db, t.org_id, await make_channel(t.db, t.admin), subject="Faktura 4711")
    await _check_case_page(t, f"/conversations/{case}", lambda: forum_moves.publish(
        t.db, t.admin, case, forum_id=forum_id, title="Fel belopp", question="Fel belopp?", answer="Vi rättar det.",
        edited=True), "conversation.published")


# the customer barometer (issue 10): a customer message's tone on the case page (the head and the history)
async def _customer_message(t: Team, body: str) -> tuple[int, int]:
    conv = await make_conversation(t.db, t.org_id, await make_channel(t.db, t.admin), body=body)
    row = await t.db.read_one(t.org_id, "SELECT id FROM messages WHERE org_id = $1 AND conversation_id = $2",
                              t.org_id, conv)
    return conv, row["id"]


async def message_scored(t: Team) -> None:
    from app import barometer

    conv, message = await _customer_message(t, "Jag är mycket missnöjd, paketet kom trasigt.")
    await _check_case_page(t, f"/conversations/{conv}", lambda: barometer.score_messages(t.db, t.org_id, [message]),
                           "message.scored")


async def message_sentiment_corrected(t: Team) -> None:
    from app import barometer

    conv, message = await _customer_message(t, "Jag är mycket missnöjd, paketet kom trasigt.")
    await barometer.score_messages(t.db, t.org_id, [message])
    for label in ("pos", None):  # corrected, then back to the scorer's label
        await _check_case_page(t, f"/conversations/{conv}", lambda label=label: barometer.correct(
            t.db, t.admin, message, label), "message.sentiment_corrected")


# the forum's editor workflow (issue 8)
async def _answered_forum_thread(t: Team) -> tuple[int, int]:
    """A visitor's question with an editor's answer and a visitor's answer: (conversation id, editor's answer id)."""
    from app import forum

    channel = await make_channel(t.db, t.admin, kind="forum", name="Forum")
    slug = (await t.db.read_one(t.org_id, "SELECT address FROM channels WHERE org_id = $1 AND id = $2",
                                t.org_id, channel))["address"]
    found = await forum.find(t.db, slug)
    number = await forum.start_thread(t.db, found, topic="question", title="Kedjan hoppar av",
                                      post=forum.Post("Karin", unique_email(), "Vad gör jag?"))
    conversation_id = (await forum.thread(t.db, found, number))["thread"]["id"]
    answer = await conversations.reply(t.db, t.admin, conversation_id, "Spänn kedjan.", seen_message_id=10**12)
    await forum.add_post(t.db, found, number, post=forum.Post("Olle", unique_email(), "Byt kedja!"))
    return conversation_id, answer


async def forum_accepted(t: Team) -> None:
    from app import forum_editing

    conv, answer = await _answered_forum_thread(t)
    other = (await conversations.get(t.db, t.org_id, conv))[1][-1]["id"]  # the visitor's answer
    for chosen in (answer, other, None):  # accepted, changed, and none
        await _check_case_page(t, f"/conversations/{conv}",
                               lambda chosen=chosen: forum_editing.accept(t.db, t.admin, conv, chosen), "forum.accepted")


async def forum_edited(t: Team) -> None:
    from app import forum_editing

    conv, _ = await _answered_forum_thread(t)
    await t.check("/", lambda: forum_editing.edit(t.db, t.admin, conv, "Kedjan hoppar av i backar", "Vad gör jag?"),
                  "forum.edited")
    await _check_case_page(t, f"/conversations/{conv}", lambda: forum_editing.edit(
        t.db, t.admin, conv, "Kedjan hoppar av i uppförsbackar", "Vad gör jag nu?"), "forum.edited")


async def forum_pinned(t: Team) -> None:
    from app import forum_editing

    conv, _ = await _answered_forum_thread(t)
    for pinned in (True, False):
        await _check_case_page(t, f"/conversations/{conv}",
                               lambda pinned=pinned: forum_editing.pin(t.db, t.admin, conv, pinned), "forum.pinned")


SCENARIOS = {
    "channel.created": channel_created,
    "channel.updated": channel_updated,
    "member.role_changed": role_changed,
    "member.away_changed": away_changed,
    "member.invited": invited,
    "member.joined": joined,
    "member.invite_accepted": invite_accepted,
    "conversation.created": conversation_created,
    "message.added": message_added,
    "conversation.assigned": assigned,
    "conversation.no_reply_needed": no_reply_needed,
    "conversation.status_changed": status_changed,
    "mail.set_aside": mail_set_aside,
    "conversation.tagged": tagged,
    "conversation.untagged": untagged,
    "tag.created": tag_created,
    "tag.group_created": tag_group_created,
    "canned.changed": canned_changed,
    "message.delivery_changed": delivery_changed,
    "member.removed": member_removed,  # accounts
    "member.invite_mail_changed": invite_mail_changed,  # accounts
    # follow-ups and notifications
    "conversation.follow_up_set": follow_up_set,
    "conversation.follow_up_due": follow_up_due,
    "notification.created": notification_created,
    "notification.read": notification_read,
    # case tools
    "conversation.spam_marked": spam_marked,
    "conversation.split": split,
    "conversation.merged": merged,
    "sender.blocked": sender_blocked,
    "sender.unblocked": sender_unblocked,
    "forum.voted": forum_voted,  # the public forum (issue 8)
    "conversation.moved": conversation_moved,  # forum moves (issue 8)
    "conversation.published": conversation_published,  # forum moves (issue 8)
    "message.scored": message_scored,  # the customer barometer (issue 10)
    "message.sentiment_corrected": message_sentiment_corrected,  # the customer barometer (issue 10)
    # the forum's editor workflow (issue 8)
    "forum.accepted": forum_accepted,
    "forum.edited": forum_edited,
    "forum.pinned": forum_pinned,
}


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_replay_equals_fresh_for_every_audience(kind, team):
    assert kind in SCENARIOS, f"event kind {kind!r} has no replay scenario in tests/test_replay.py"
    await SCENARIOS[kind](team)


def test_every_event_kind_has_fragments():
    assert set(FRAGMENTS) == set(KINDS)


async def test_an_admin_piece_sent_to_all_members_fails_the_harness(team, monkeypatch):
    editor = await make_member(team.db, team.org_id, "editor", "Björn Ek")

    async def leaky(r, p):  # the team page's row, wrongly addressed to every member
        return [Piece(piece.html, MEMBERS) for piece in await fragments._member_changed(r, p)]

    monkeypatch.setitem(FRAGMENTS, "member.role_changed", leaky)
    with pytest.raises(AssertionError, match="which a member cannot open"):
        await team.check("/admin/members", lambda: accounts.set_role(
            team.db, team.admin, editor.actor.user_id, "viewer"), "member.role_changed")


def test_apply_push_follows_htmx_oob_rules():
    page = '<html><body><main><ol id="q"><li id="a">A</li></ol><p id="x">x</p></main></body></html>'
    push = ('<ol hx-swap-oob="afterbegin:#q"><li id="b">B</li></ol>'
            '<li id="a" hx-swap-oob="true">A2</li><div id="x" hx-swap-oob="delete"></div>'
            '<p id="missing" hx-swap-oob="true">ignored</p>')
    assert normalised(apply_push(page, push)) == '<main><ol id="q"><li id="b">B</li><li id="a">A2</li></ol></main>'


async def test_a_persons_count_sent_to_all_members_fails_the_harness(team, monkeypatch):
    bjorn = await make_member(team.db, team.org_id, "editor", "Björn Ek")
    conv = await make_conversation(team.db, team.org_id, await make_channel(team.db, team.admin))

    async def leaky(r, p):  # the admin's own count and list, wrongly addressed to every member
        return [Piece(piece.html, MEMBERS) for piece in await fragments._notifications_changed(r, p)]

    monkeypatch.setitem(FRAGMENTS, "notification.created", leaky)
    with pytest.raises(AssertionError, match="member: replay differs"):
        await team.check("/", lambda: conversations.assign(team.db, bjorn.actor, conv, team.admin.user_id),
                         "notification.created")


async def test_a_persons_count_left_unpushed_fails_the_harness(team, monkeypatch):
    bjorn = await make_member(team.db, team.org_id, "editor", "Björn Ek")
    conv = await make_conversation(team.db, team.org_id, await make_channel(team.db, team.admin))

    async def silent(r, p):
        return []

    monkeypatch.setitem(FRAGMENTS, "notification.created", silent)
    with pytest.raises(AssertionError, match="admin: replay differs"):
        await team.check("/", lambda: conversations.assign(team.db, bjorn.actor, conv, team.admin.user_id),
                         "notification.created")
