"""Moving between the forum and mail: a thread to a private mail case, and a mail case to a public thread.

Move to private: the thread becomes a mail case in the mailbox the editor picks, the same conversation
(case number, history, tags). `origin_channel_id` keeps the forum it began in, so statistics count it
once, there; the move is the event "conversation.moved". The public URL keeps working and shows the
editor's note instead of the thread. The visitor gets a mail from the mailbox (the editor's words and
the thread quoted below them) as a reply in the case, so theirs threads back by its headers and [#N];
their address is unverified, so the mail waits (delivery state none) until they confirm it through the
link app/visitor_mail.py sends, and the case page says so.

Publish to forum: a mail case becomes a NEW public thread, linked both ways (forum_publications): the
question and the answer are what the editor wrote in the publish form, prefilled from the case and
edited to remove personal data, and nothing else. We do not turn the case itself back into a thread:
its mail (addresses, order numbers, everything said in private) would become public with it, or need
a second visibility rule on every message that each public query must remember. A thread that was moved
to mail and is published back this way is "back": its old URL shows the note and leads to the new thread.
"""
from __future__ import annotations

from app import conversations, visitor_mail
from app.actors import AnyActor, Visitor, require
from app.db import Database, Tx
from app.errors import Invalid, NotFound
from app.i18n import N_, pick_locale
from app.text import clean_name

MAX_NOTE = 2000
QUOTE_HEADER = N_("Your thread in the forum, for reference:")

THREAD_ROW = """
SELECT v.id, v.kind, v.channel_id, v.status, v.case_number, v.subject
FROM conversations v WHERE v.org_id = $1 AND v.id = $2
"""
THREAD = THREAD_ROW + " FOR UPDATE OF v"

# The thread's public messages, to quote in the mail (no notes, nothing of what visitors' requests told us).
PUBLIC_HISTORY = """
SELECT m.kind, m.body_text, m.created_at, m.author_id IS NOT NULL AS official, m.language,
       m.visitor->>'email' AS email, coalesce(u.name, cu.name, '') AS author_name
FROM messages m
LEFT JOIN users u ON u.id = m.author_id
LEFT JOIN customers cu ON cu.org_id = m.org_id AND cu.id = m.customer_id
WHERE m.org_id = $1 AND m.conversation_id = $2 AND m.kind <> 'note'
ORDER BY m.created_at, m.id
"""


def _clean_note(note: str) -> str:
    note = (note or "").replace("\r\n", "\n").strip()
    if not note:
        raise Invalid(N_("Write the note the forum shows instead of the thread."), "note")
    if len(note) > MAX_NOTE:
        raise Invalid(N_("That is too long: at most %(max)s characters."), "note", max=MAX_NOTE)
    return note


def quoted(history: list, header: str) -> str:
    """The thread as the mail quotes it: each message's author and text, each line behind "> "."""
    lines = [header, ""]
    for m in history:
        lines.append(f"> {m['author_name'] or '-'} ({m['created_at']:%Y-%m-%d %H:%M}):")
        lines += [f"> {line}" if line else ">" for line in m["body_text"].splitlines()]
        lines.append(">")
    return "\n".join(lines).rstrip(">\n")


async def move_to_mail(db: Database, actor: AnyActor, conversation_id: int, *, mailbox_id: int | str, note: str,
                       message: str, quote_header: str = QUOTE_HEADER) -> bool:
    """Move a forum thread to a mailbox as a private case; whether its mail went out now (else: waits).

    A thread moved already is left as it is (the same request twice moves it once).
    """
    require(actor, "forum.move")
    note, body = _clean_note(note), conversations.clean_body(message)
    try:
        mailbox_id = int(mailbox_id)
    except (TypeError, ValueError):
        raise Invalid(N_("Choose a mailbox."), "mailbox_id") from None
    async with db.transaction(actor.org_id) as tx:
        row = await tx.fetchrow(THREAD, actor.org_id, conversation_id)
        if row is None:
            raise NotFound()
        if row["kind"] == "mail" and await moved(tx, conversation_id):
            return False
        if row["kind"] != "forum":
            raise Invalid(N_("Only forum threads move to mail."))
        signature = await tx.fetchval(
            "SELECT signature FROM channels WHERE org_id = $1 AND id = $2 AND kind = 'mailbox'",
            actor.org_id, mailbox_id) if 0 < mailbox_id < 2**63 else None
        if signature is None:
            raise Invalid(N_("Choose a mailbox."), "mailbox_id")
        history = await tx.fetch(PUBLIC_HISTORY, actor.org_id, conversation_id)
        starter = history[0] if history and history[0]["kind"] == "customer" else None
        if starter is None or not starter["email"]:
            raise Invalid(N_("The thread's starter left no e-mail address to write to."))
        await tx.execute(
            """UPDATE conversations SET kind = 'mail', channel_id = $3, status = 'open', updated_at = now(),
                      origin_channel_id = COALESCE(origin_channel_id, channel_id)
               WHERE org_id = $1 AND id = $2""", actor.org_id, conversation_id, mailbox_id)
        text = conversations.signed(f"{body}\n\n{quoted(history, quote_header)}", signature)
        message_id = await conversations.add_in(tx, actor, conversation_id, kind="editor", body=text)
        address_id, confirmed = await visitor_mail.address_in(
            tx, starter["email"], starter["author_name"], pick_locale(starter["language"]))
        await tx.execute(
            """INSERT INTO forum_moves (org_id, conversation_id, forum_channel_id, note, message_id, address_id,
                                        moved_by) VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            actor.org_id, conversation_id, row["channel_id"], note, message_id, address_id, actor.user_id)
        await tx.emit("conversation.moved", conversation_id=conversation_id, channel_id=mailbox_id,
                      from_channel_id=row["channel_id"], actor_id=actor.user_id)
        return bool(confirmed and await visitor_mail.release_in(tx, address_id))


async def ask_again(db: Database, actor: AnyActor, conversation_id: int) -> bool:
    """Mail the visitor of a moved thread a new link to confirm their address (the last one expired, or
    went astray); whether one was queued: none once the address is confirmed."""
    require(actor, "forum.move")
    async with db.transaction(actor.org_id) as tx:
        row = await tx.fetchrow(
            """SELECT a.email, a.confirmed_at FROM forum_moves fm
               JOIN visitor_addresses a ON a.org_id = fm.org_id AND a.id = fm.address_id
               WHERE fm.org_id = $1 AND fm.conversation_id = $2 FOR UPDATE OF a""", actor.org_id, conversation_id)
        if row is None:
            raise NotFound()
        if row["confirmed_at"] is not None:
            return False
        await visitor_mail.ask_in(tx, row["email"])
        return True


async def moved(tx: Tx, conversation_id: int):
    """Whether this conversation is a thread that was moved to mail."""
    return await tx.fetchval("SELECT 1 FROM forum_moves WHERE org_id = $1 AND conversation_id = $2",
                             tx.org_id, conversation_id)


# What the case page shows of a move and a publication (app/history.py).
CASE = """
SELECT fm.note, fm.moved_at, fm.message_id, ch.name AS forum_name, ch.address AS slug, a.email,
       a.confirmed_at IS NOT NULL AS confirmed, m.delivery_state
FROM forum_moves fm
JOIN channels ch ON ch.org_id = fm.org_id AND ch.id = fm.forum_channel_id
JOIN visitor_addresses a ON a.org_id = fm.org_id AND a.id = fm.address_id
JOIN messages m ON m.org_id = fm.org_id AND m.id = fm.message_id
WHERE fm.org_id = $1 AND fm.conversation_id = $2
"""

PUBLICATIONS = """
SELECT p.thread_id, p.source_id, t.case_number AS thread_number, s.case_number AS source_number,
       ch.address AS slug, ch.name AS forum_name
FROM forum_publications p
JOIN conversations t ON t.org_id = p.org_id AND t.id = p.thread_id
JOIN conversations s ON s.org_id = p.org_id AND s.id = p.source_id
JOIN channels ch ON ch.org_id = t.org_id AND ch.id = t.channel_id
WHERE p.org_id = $1 AND (p.source_id = $2 OR p.thread_id = $2)
ORDER BY p.published_at, p.thread_id
"""


async def of_case(tx: Tx, conversation_id: int) -> dict:
    """The case's move from the forum (or None) and its publications (either way), for its page."""
    return {"move": await tx.fetchrow(CASE, tx.org_id, conversation_id),
            "publications": await tx.fetch(PUBLICATIONS, tx.org_id, conversation_id)}


# A thread of this forum that moved to mail, by its public number, and the threads published from it.
MOVED_THREAD = """
SELECT fm.note, v.id, v.case_number, v.subject,
       (SELECT t.case_number FROM forum_publications p
        JOIN conversations t ON t.org_id = p.org_id AND t.id = p.thread_id
        WHERE p.org_id = v.org_id AND p.source_id = v.id AND t.channel_id = fm.forum_channel_id
          AND t.kind = 'forum' AND t.status <> 'hidden' AND NOT t.spam
        ORDER BY p.published_at DESC LIMIT 1) AS published_number
FROM forum_moves fm JOIN conversations v ON v.org_id = fm.org_id AND v.id = fm.conversation_id
WHERE fm.org_id = $1 AND fm.forum_channel_id = $2 AND v.case_number = $3
"""


async def moved_thread(db: Database, org_id: int, forum_channel_id: int, case_number: int):
    """What a moved thread's public URL shows: the note, and the thread published back if there is one."""
    if not 0 < case_number < 2**63:
        raise NotFound()
    return await db.read_one(org_id, MOVED_THREAD, org_id, forum_channel_id, case_number)


# --- publishing a mail case to the forum -------------------------------------------------------------

PREFILL = """
SELECT v.id, v.kind, v.subject,
       (SELECT m.body_text FROM messages m WHERE m.org_id = v.org_id AND m.conversation_id = v.id
          AND m.kind = 'customer' ORDER BY m.created_at, m.id LIMIT 1) AS question,
       (SELECT m.body_text FROM messages m WHERE m.org_id = v.org_id AND m.conversation_id = v.id
          AND m.kind = 'editor' ORDER BY m.created_at DESC, m.id DESC LIMIT 1) AS answer,
       coalesce(fm.forum_channel_id, (SELECT c.id FROM channels c WHERE c.org_id = v.org_id AND c.kind = 'forum'
                                      ORDER BY c.id LIMIT 1)) AS forum_id
FROM conversations v
LEFT JOIN forum_moves fm ON fm.org_id = v.org_id AND fm.conversation_id = v.id
WHERE v.org_id = $1 AND v.id = $2
"""


def _unsigned(text: str | None) -> str:
    """A reply without its signature (below the "-- " line)."""
    return (text or "").split("\n-- \n")[0].strip()


async def publish_form(db: Database, actor: AnyActor, conversation_id: int) -> dict:
    """The publish form's first values: the customer's question and the latest reply, for the editor to edit."""
    require(actor, "forum.publish")
    row = await db.read_one(actor.org_id, PREFILL, actor.org_id, conversation_id)
    if row["kind"] != "mail":
        raise NotFound()
    return {"title": row["subject"], "question": (row["question"] or "").strip(), "answer": _unsigned(row["answer"]),
            "forum_id": str(row["forum_id"] or "")}


async def publish(db: Database, actor: AnyActor, conversation_id: int, *, forum_id: int | str, title: str,
                  question: str, answer: str, edited: bool) -> tuple[int, int]:
    """A mail case as a new public thread (question and official answer, as the editor edited them).

    Returns (thread id, its case number). `edited` is the editor's own statement that they removed the
    customer's personal data: nothing is published without it.
    """
    require(actor, "forum.publish")
    if not edited:
        raise Invalid(N_("Confirm that you removed the customer's personal data."), "edited")
    title = clean_name(title, "title", 200, message=N_("Write a title."))
    question, answer = conversations.clean_body(question, "question"), conversations.clean_body(answer, "answer")
    try:
        forum_id = int(forum_id)
    except (TypeError, ValueError):
        raise Invalid(N_("Choose a forum."), "forum_id") from None
    async with db.transaction(actor.org_id) as tx:
        row = await tx.fetchrow(THREAD, actor.org_id, conversation_id)
        if row is None or row["kind"] != "mail":
            raise NotFound()
        if not (0 < forum_id < 2**63 and await tx.fetchval(
                "SELECT 1 FROM channels WHERE org_id = $1 AND id = $2 AND kind = 'forum'", actor.org_id, forum_id)):
            raise Invalid(N_("Choose a forum."), "forum_id")
        # The question goes up as a visitor's post with no name: the customer's own words, edited, not theirs to sign.
        thread_id, _ = await conversations.open_in(tx, Visitor(actor.org_id), channel_id=forum_id, subject=title,
                                                   body=question)
        number = await tx.fetchval(
            "UPDATE conversations SET topic = 'question' WHERE org_id = $1 AND id = $2 RETURNING case_number",
            actor.org_id, thread_id)
        await conversations.add_in(tx, actor, thread_id, kind="editor", body=answer)
        await tx.execute("""INSERT INTO forum_publications (org_id, thread_id, source_id, published_by)
                            VALUES ($1, $2, $3, $4)""", actor.org_id, thread_id, conversation_id, actor.user_id)
        await tx.emit("conversation.published", conversation_id=conversation_id, thread_id=thread_id,
                      actor_id=actor.user_id)
    return thread_id, number


# --- the move form's first values ------------------------------------------------------------------

DEFAULT_NOTE = N_("This thread continues by private mail, where we can handle details that should not be public.")
DEFAULT_MESSAGE = N_("Hello %(name)s!\n\nWe continue your question from the forum here by mail, where we can "
                     "handle details that should not be public. Just reply to this mail.")


async def move_form(db: Database, actor: AnyActor, conversation_id: int) -> dict:
    """What the move form offers: the thread, the mailboxes to move it to, and who started it."""
    require(actor, "forum.move")
    async with db.transaction(actor.org_id, readonly=True) as tx:
        row = await tx.fetchrow(THREAD_ROW, actor.org_id, conversation_id)
        if row is None or row["kind"] != "forum":
            raise NotFound()
        history = await tx.fetch(PUBLIC_HISTORY, actor.org_id, conversation_id)
        mailboxes = await tx.fetch("SELECT id, name FROM channels WHERE org_id = $1 AND kind = 'mailbox' "
                                   "ORDER BY lower(name), id", actor.org_id)
    starter = history[0] if history and history[0]["kind"] == "customer" else None
    return {"thread": row, "mailboxes": mailboxes, "starter_name": starter["author_name"] if starter else "",
            "starter_email": starter["email"] if starter else None}


async def forums(db: Database, org_id: int) -> list:
    """The organisation's forums, to publish in."""
    return await db.read(org_id, "SELECT id, name FROM channels WHERE org_id = $1 AND kind = 'forum' "
                                 "ORDER BY lower(name), id", org_id)
