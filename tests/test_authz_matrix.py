"""Every route, called as every kind of visitor on organisation A's objects.

Adding a route without a row here fails `test_every_route_is_in_the_matrix`, so each new
screen or action states who may use it. Rows: (method, path, expectation per visitor);
visitors: anonymous, viewer / editor / admin of A, admin of another organisation B.
"""
from __future__ import annotations

import re
from email.message import EmailMessage

import httpx
from starlette.routing import Mount, Route

from app import accounts, blocking, canned, conversations, notifications, tags
from app.actors import System
from app.mail import ingress, receive
from app.main import create_app
from tests.factories import csrf_from, login, make_channel, make_conversation, make_member, make_org, unique_email

VISITORS = ("anonymous", "viewer", "editor", "admin", "other_admin")
OK, LOGIN, FORBIDDEN, NOT_FOUND = "ok", "login", "forbidden", "not_found"

# expectation for (anonymous, viewer, editor, admin of A, admin of B)
MEMBERS_ONLY = (LOGIN, OK, OK, OK, OK)
ADMINS_ONLY = (LOGIN, FORBIDDEN, FORBIDDEN, OK, OK)
ADMINS_OF_A = (LOGIN, FORBIDDEN, FORBIDDEN, OK, NOT_FOUND)
MEMBERS_OF_A = (LOGIN, OK, OK, OK, NOT_FOUND)
EDITORS_OF_A = (LOGIN, FORBIDDEN, OK, OK, NOT_FOUND)
EDITORS_ONLY = (LOGIN, FORBIDDEN, OK, OK, OK)
ANYONE = (OK, OK, OK, OK, OK)
BACK_TO_LOGIN = (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN)

MATRIX = [
    ("GET", "/", MEMBERS_ONLY, None),
    ("GET", "/conversations/{conversation}", MEMBERS_OF_A, None),
    ("GET", "/admin/members", ADMINS_ONLY, None),
    ("POST", "/admin/members/invite", ADMINS_ONLY, lambda: {"email": unique_email(), "role": "viewer"}),
    ("POST", "/admin/members/{member}/role", ADMINS_OF_A, lambda: {"role": "editor"}),
    ("POST", "/admin/members/{member}/away", ADMINS_OF_A, lambda: {"away": "0"}),
    ("POST", "/admin/members/{member}/reset-link", ADMINS_OF_A, dict),
    ("GET", "/admin/channels", ADMINS_ONLY, None),
    ("POST", "/admin/channels", ADMINS_ONLY, lambda: {"kind": "mailbox", "name": "Ny", "colour": "teal",
                                                      "address": unique_email("ny"), "response_target_minutes": "60"}),
    ("GET", "/admin/channels/{channel}", ADMINS_OF_A, None),
    ("POST", "/admin/channels/{channel}", ADMINS_OF_A, lambda: {"name": "Support", "colour": "blue",
                                                                "address": unique_email("a"),
                                                                "response_target_minutes": "60"}),
    ("POST", "/organization", MEMBERS_OF_A, lambda: {"org_id": "{org}"}),
    ("POST", "/away", MEMBERS_ONLY, lambda: {"away": "0"}),
    ("POST", "/language", ANYONE, lambda: {"locale": "sv"}),
    ("POST", "/conversations/{conversation}/reply", EDITORS_OF_A, lambda: {"body": "Hej!", "seen": "0",
                                                                             "send_anyway": "1"}),
    ("POST", "/conversations/{conversation}/note", EDITORS_OF_A, lambda: {"body": "Intern"}),
    ("POST", "/conversations/{conversation}/status", EDITORS_OF_A, lambda: {"status": "waiting"}),
    ("POST", "/conversations/{conversation}/assign", EDITORS_OF_A, lambda: {"assignee_id": ""}),
    ("POST", "/conversations/{conversation}/no-reply-needed", EDITORS_OF_A, dict),
    ("POST", "/conversations/{conversation}/tag", EDITORS_OF_A, lambda: {"tag_id": "{tag}"}),
    ("POST", "/conversations/{conversation}/untag", EDITORS_OF_A, lambda: {"tag_id": "{tag}"}),
    ("GET", "/admin/tags", ADMINS_ONLY, None),
    ("POST", "/admin/tags", ADMINS_ONLY, lambda: {"name": f"Tagg {unique_email()[:8]}", "group_id": ""}),
    ("POST", "/admin/tags/groups", ADMINS_ONLY, lambda: {"name": f"Grupp {unique_email()[:8]}"}),
    ("GET", "/canned", MEMBERS_ONLY, None),
    ("POST", "/canned", EDITORS_ONLY, lambda: {"title": "Leverans", "body": "Hej!"}),
    ("POST", "/canned/{canned}/delete", (LOGIN, FORBIDDEN, OK, NOT_FOUND, NOT_FOUND), dict),
    ("GET", "/mail/unplaced", MEMBERS_ONLY, None),
    ("GET", "/search", MEMBERS_ONLY, None),
    ("GET", "/mail/{raw_mail}", MEMBERS_OF_A, None),
    ("GET", "/mail/{raw_mail}/raw", MEMBERS_OF_A, None),
    ("GET", "/attachments/{attachment}", MEMBERS_OF_A, None),
    # accounts that need mail (issue 7): removing a member, sending an invite again
    ("POST", "/admin/members/{removable}/remove", ADMINS_OF_A, dict),
    ("POST", "/admin/invites/{invite}/resend", ADMINS_OF_A, dict),
    # IMAP polling: a mailbox's IMAP server (unencrypted to loopback only; nothing listens on port 1)
    ("POST", "/admin/channels/{channel}/imap", ADMINS_OF_A, lambda: {
        "imap_host": "127.0.0.1", "imap_port": "1", "imap_security": "none", "imap_username": "info",
        "imap_password": "hemligt", "imap_folder": "INBOX", "imap_enabled": "1"}),
    # follow-ups and notifications; the notification is the editor's own: no one else opens it
    ("POST", "/conversations/{conversation}/follow-up", EDITORS_OF_A, lambda: {"quick": "tomorrow"}),
    ("GET", "/notifications", MEMBERS_ONLY, None),
    ("POST", "/notifications/{notification}/open", (LOGIN, NOT_FOUND, OK, NOT_FOUND, NOT_FOUND), dict),
    ("POST", "/notifications/read-all", MEMBERS_ONLY, dict),
    # case tools: a second split or merge of the same is a no-op, so each editor and admin succeeds
    ("POST", "/conversations/{conversation}/spam", EDITORS_OF_A, lambda: {"spam": "1"}),
    ("POST", "/conversations/{conversation}/block", EDITORS_OF_A, lambda: {"scope": "address"}),
    ("POST", "/conversations/{conversation}/split", EDITORS_OF_A, lambda: {"message_id": "{second_mail}",
                                                                             "reason": "En ny fråga"}),
    ("POST", "/conversations/{conversation}/merge", EDITORS_OF_A, lambda: {"into": "#{other_case_number}"}),
    ("GET", "/messages/{html_message}/html", MEMBERS_OF_A, None),
    ("GET", "/admin/blocked", ADMINS_ONLY, None),
    ("POST", "/admin/blocked", ADMINS_ONLY, lambda: {"pattern": unique_email("reklam")}),
    ("POST", "/admin/blocked/{block}/delete", ADMINS_OF_A, dict),
    # the reply composer (issue 7)
    ("POST", "/conversations/{conversation}/uploads", EDITORS_OF_A, dict),
    ("POST", "/conversations/{conversation}/draft", EDITORS_OF_A, lambda: {"body": "Ett utkast"}),
    ("POST", "/conversations/{conversation}/resend", EDITORS_OF_A, lambda: {"message_id": "{failed_reply}"}),
    ("GET", "/compose", EDITORS_ONLY, None),
    ("POST", "/compose", EDITORS_OF_A, lambda: {"channel_id": "{channel}", "to": unique_email("kund"),
                                                "subject": "Hej", "body": "Hej!"}),
    ("POST", "/compose/uploads", EDITORS_ONLY, dict),
    ("POST", "/compose/draft", EDITORS_ONLY, lambda: {"body": "Ett nytt mejl"}),
    # forum moves (issue 8): a second move of the same thread is a no-op; each publish makes a new thread
    ("GET", "/conversations/{forum_thread}/move", EDITORS_OF_A, None),
    ("POST", "/conversations/{forum_thread}/move", EDITORS_OF_A, lambda: {"mailbox_id": "{channel}", "note": "Per mejl.",
                                                                           "message": "Hej!"}),
    ("POST", "/conversations/{forum_thread}/move/ask-again", EDITORS_OF_A, dict),
    ("GET", "/conversations/{conversation}/publish", EDITORS_OF_A, None),
    ("POST", "/conversations/{conversation}/publish", EDITORS_OF_A, lambda: {
        "forum_id": "{forum_channel}", "title": "Fråga", "question": "Hur?", "answer": "Så här.", "edited": "1"}),
    ("POST", "/admin/channels/{forum_channel}/embed", ADMINS_OF_A, lambda: {"embed_origins": "https://app.example.se"}),
    # the customer barometer (issue 10): every member reads it; editors correct a customer message's tone
    ("GET", "/barometer", MEMBERS_ONLY, None),
    ("GET", "/barometer/messages", MEMBERS_ONLY, None),
    ("POST", "/messages/{html_message}/sentiment", EDITORS_OF_A, lambda: {"label": "neg"}),
    # the dashboard (issue 9): bulk actions; another organisation's ids are not found
    ("POST", "/bulk", EDITORS_OF_A, lambda: {"action": "close", "conversation_id": "{conversation}"}),
    # the forum's editor workflow (issue 8): on a forum thread of A; archiving it comes last
    ("POST", "/conversations/{answered_thread}/accept", EDITORS_OF_A, lambda: {"message_id": "{forum_answer}"}),
    ("POST", "/conversations/{answered_thread}/comment", EDITORS_OF_A, lambda: {"parent_id": "{forum_answer}",
                                                                              "body": "Bra svar!"}),
    ("POST", "/conversations/{answered_thread}/edit", EDITORS_OF_A, lambda: {"subject": "Ny rubrik", "body": "Ny text"}),
    ("POST", "/conversations/{answered_thread}/pin", EDITORS_OF_A, lambda: {"pinned": "1"}),
    ("POST", "/conversations/{answered_thread}/pin-order", EDITORS_OF_A, lambda: {"direction": "up"}),
    ("GET", "/forum-review", ADMINS_ONLY, None),
    ("POST", "/forum-review/{answered_thread}/archive", ADMINS_OF_A, dict),
    # statistics (issue 10): every member reads their own organisation's figures and lists
    ("GET", "/stats", MEMBERS_ONLY, None),
    ("GET", "/stats.csv", MEMBERS_ONLY, None),
    ("GET", "/stats/chart", MEMBERS_ONLY, None),
    ("GET", "/stats/conversations", MEMBERS_ONLY, None),
    ("GET", "/stats/conversations.csv", MEMBERS_ONLY, None),
    ("POST", "/logout", BACK_TO_LOGIN, dict),
]
# Reached without a session by design; their own tests cover the token or password they check.
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/invite/{token}"), ("POST", "/invite/{token}"),
          ("GET", "/reset/{token}"), ("POST", "/reset/{token}"), ("GET", "/healthz"), ("GET", "/static")}
PUBLIC |= {("GET", "/forgot"), ("POST", "/forgot")}  # accounts: forgot password (tests/test_account_mail.py)
# the public forum (issue 8): no login to read or post; limits, honeypot and CSRF in tests/test_forum.py
PUBLIC |= {("GET", "/forum/{slug}"), ("GET", "/forum/{slug}/new"), ("POST", "/forum/{slug}/new"),
           ("GET", "/forum/{slug}/{number}"), ("POST", "/forum/{slug}/{number}"), ("POST", "/forum/{slug}/{number}/vote")}
# forum moves (issue 8): the embeddable form (its own token) and visitors' links (signed); tests/test_forum_moves.py
PUBLIC |= {("GET", "/forum/{slug}/embed"), ("POST", "/forum/{slug}/embed"), ("GET", "/visitor/confirm/{token}"),
           ("POST", "/visitor/confirm/{token}"), ("GET", "/visitor/unsubscribe/{token}"),
           ("POST", "/visitor/unsubscribe/{token}")}
PUBLIC |= {("GET", "/forum/{slug}/similar")}  # the forum's search (issue 8): similar threads while typing a title


def app_routes() -> set[tuple[str, str]]:
    found = set()

    def walk(routes, prefix=""):
        for r in routes:
            if isinstance(r, Mount) and r.routes:
                walk(r.routes, prefix + r.path)
            elif isinstance(r, Mount):
                found.add(("GET", prefix + r.path))
            elif isinstance(r, Route):
                path = (prefix + r.path).replace(":int}", "}")
                for method in r.methods - {"HEAD"}:
                    found.add((method, path))

    walk(create_app().routes)
    return found


def test_every_route_is_in_the_matrix():
    ids_in_paths = "conversation|member|channel|raw_mail|attachment|canned|removable|invite|notification|html_message|block"
    ids_in_paths += "|forum_thread|forum_channel"  # forum moves (issue 8)
    ids_in_paths += "|answered_thread"  # the forum's editor workflow (issue 8)
    listed = {(m, re.sub(rf"\{{({ids_in_paths})\}}", "{id}", p))
              for m, p, _, _ in MATRIX} | PUBLIC
    assert app_routes() == listed


async def _a_mail_with_an_attachment(db, org_id: int, channel_id: int) -> tuple[int, int]:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "kund@example.se", "info@example.se", "Bilaga"
    message.set_content("Se bifogad fil.")
    message.add_alternative("<p>Se <b>bifogad</b> fil.</p>", subtype="html")  # for the formatted view
    message.add_attachment(b"hemligt", maintype="application", subtype="octet-stream", filename="a.bin")
    raw_mail_id = await ingress.store(db, ingress.Mailbox(org_id, channel_id), message.as_bytes())
    await receive.receive(db, org_id, raw_mail_id)
    async with db.transaction(org_id, readonly=True) as tx:
        return raw_mail_id, await tx.fetchval("SELECT max(id) FROM attachments WHERE org_id = $1", org_id)


async def _a_notification(db, admin, conversation_id: int, user_id: int) -> int:
    """The notification someone gets when the admin assigns them a case."""
    await conversations.assign(db, admin, conversation_id, user_id)
    return (await notifications.of_person(db, admin.org_id, user_id))[0]["id"]


def outcome(response: httpx.Response) -> str:
    if response.status_code == 303 and response.headers["location"] == "/login":
        return LOGIN
    if response.status_code in (200, 303):
        return OK
    return {403: FORBIDDEN, 404: NOT_FOUND}.get(response.status_code, f"status {response.status_code}")


async def test_each_visitor_gets_exactly_what_the_matrix_allows(db, server):
    admin = await make_org(db, "A AB")
    org_a = admin.actor.org_id
    viewer = await make_member(db, org_a, "viewer", "Viktor Sand")
    editor = await make_member(db, org_a, "editor", "Anna Lind")
    other = await make_org(db, "B AB")
    channel = await make_channel(db, admin)
    conversation = await make_conversation(db, org_a, channel, subject="A:s ärende")
    raw_mail, attachment = await _a_mail_with_an_attachment(db, org_a, channel)
    ids = {"conversation": conversation, "member": editor.actor.user_id, "org": org_a, "channel": channel,
           "raw_mail": raw_mail, "attachment": attachment, "tag": await tags.create_tag(db, admin.actor, "Faktura"),
           "canned": await canned.create(db, admin.actor, title="Tack", body="Tack för ditt mejl!"),
           "notification": await _a_notification(db, admin.actor, conversation, editor.actor.user_id)}
    ids["removable"] = (await make_member(db, org_a, "editor", "Rut Går")).actor.user_id  # accounts
    ids["invite"] = await accounts.invite(db, admin.actor, unique_email("ny"), "viewer")  # accounts
    # case tools: a second mail to split out, a case to merge into, a mail with HTML, a block to lift
    ids["second_mail"] = await conversations.add_message(db, System(org_a), conversation, kind="customer", body="Och?")
    ids["other_case_number"] = (await conversations.find_row(
        db, org_a, await make_conversation(db, org_a, channel, subject="Mål")))["case_number"]
    async with db.transaction(org_a, readonly=True) as tx:
        ids["html_message"] = await tx.fetchval("SELECT id FROM messages WHERE org_id = $1 AND raw_mail_id = $2",
                                                org_a, raw_mail)
    ids["block"] = await blocking.block(db, admin.actor, "reklam.example")
    ids["failed_reply"] = await _a_failed_reply(db, admin.actor, conversation)  # the reply composer (issue 7)
    ids["forum_channel"], ids["forum_thread"] = await _a_forum_thread(db, admin.actor)  # forum moves (issue 8)
    ids["answered_thread"], ids["forum_answer"] = await _an_answered_forum_thread(db, admin)  # forum editing

    clients = {}
    for name, person in zip(VISITORS, (None, viewer, editor, admin, other), strict=True):
        client = httpx.AsyncClient(base_url=server)
        token = await login(client, person.email) if person else csrf_from((await client.get("/login")).text)
        clients[name] = (client, token)

    wrong = []
    try:
        # /logout is last in MATRIX: it ends the sessions the other rows need
        for method, path, expected, data in MATRIX:
            for visitor, want in zip(VISITORS, expected, strict=True):
                client, token = clients[visitor]
                form = {k: v.format(**ids) for k, v in (data() if data else {}).items()}
                response = await client.request(method, path.format(**ids), data=form or None,
                                                headers={"x-csrf-token": token})
                if (got := outcome(response)) != want:
                    wrong.append(f"{method} {path} as {visitor}: {got}, expected {want}")
        for visitor in VISITORS[1:]:  # and after it, no one is logged in any more
            if outcome(await clients[visitor][0].get("/")) != LOGIN:
                wrong.append(f"still logged in after /logout: {visitor}")
    finally:
        for client, _ in clients.values():
            await client.aclose()
    assert not wrong, "\n".join(wrong)


async def _a_failed_reply(db, editor, conversation_id: int) -> int:
    """A reply in A's case whose sending failed for good (it can be sent again)."""
    from types import SimpleNamespace

    from app.mail import outgoing
    from tests.test_mail_out import queue_reply

    message_id = await queue_reply(db, editor, conversation_id)
    await outgoing.send_gave_up(db, SimpleNamespace(org_id=editor.org_id, payload={"message_id": message_id}), "x")
    return message_id


async def _a_forum_thread(db, admin) -> tuple[int, int]:
    """A forum of A's with a visitor's thread (forum moves, issue 8)."""
    from app import channels, forum

    slug = f"forum-{unique_email()[:10]}"
    forum_id = await channels.create_channel(db, admin, kind="forum", name="Forum", colour="blue", address=slug)
    found = await forum.find(db, slug)
    number = await forum.start_thread(db, found, topic="question", title="Fråga",
                                      post=forum.Post("Olle", unique_email(), "Hur gör jag?"))
    return forum_id, (await forum.thread(db, found, number))["thread"]["id"]


async def _an_answered_forum_thread(db, admin) -> tuple[int, int]:
    """A visitor's question in A's forum with an editor's answer: (conversation id, answer id)."""
    from app import forum

    channel = await make_channel(db, admin, kind="forum", name="Forum")
    slug = (await db.read_one(admin.actor.org_id, "SELECT address FROM channels WHERE org_id = $1 AND id = $2",
                              admin.actor.org_id, channel))["address"]
    found = await forum.find(db, slug)
    number = await forum.start_thread(db, found, topic="question", title="Fråga",
                                      post=forum.Post("Olle", unique_email(), "Hur?"))
    conversation_id = (await forum.thread(db, found, number))["thread"]["id"]
    return conversation_id, await conversations.reply(db, admin.actor, conversation_id, "Så här.",
                                                      seen_message_id=10**12)
