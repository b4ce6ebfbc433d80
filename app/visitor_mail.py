"""Mail to forum visitors: confirming their address, and "notify me of answers" with a link to stop.

A visitor's e-mail address is whatever they typed, so no mail of ours goes to it until they open
the link we mailed them (the "visitor.mail" job signs it when the mail goes out; no usable link is
stored). Confirming releases what waited for it: the mail of a thread moved to private
(app/forum_moves.py). A visitor who asked to be notified gets a mail for each official answer or
editor's comment in that thread, once their address is confirmed, each with a link that stops them.

The addresses and follows are bookkeeping no page shows (tests/conftest.py BOOKKEEPING); what a
confirmation changes on a case page comes with its own events (message.delivery_changed).
"""
from __future__ import annotations


from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app import conversations, jobs
from app.accounts import normalise_email
from app.actors import Visitor, require
from app.db import Database, Tx
from app.errors import NotFound
from app.i18n import N_, pick_locale, translations
from app.jobs import Job
from app.mail import account_mail, outgoing

JOB = "visitor.mail"
CONFIRM_MAX_AGE = 7 * 24 * 3600
ASK_AGAIN_SECONDS = 600  # one confirmation mail per address per ten minutes, however often it is typed
MAX_QUOTED = 20_000

CONFIRM_SUBJECT = N_("Confirm your e-mail address for %(forum)s")
CONFIRM_BODY = N_("Hello %(name)s!\n\n"
                  "You gave this address in %(forum)s. Open this link to confirm that it is yours; "
                  "until then we send nothing to it:\n\n%(link)s\n\n"
                  "If it was not you, ignore this mail.")
ANSWER_SUBJECT = N_("New answer: %(subject)s")
ANSWER_BODY = N_("%(author)s answered in the thread \"%(subject)s\":\n\n%(body)s\n\n"
                 "Read the thread: %(link)s\n\n"
                 "Stop mails about this thread: %(unsubscribe)s")


# Links are signed and addressed as account mail's are: one configuration (app/mail/account_mail.py).
configure = account_mail.configure
_configured = account_mail.configured


def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=f"samsyn.visitor-{purpose}")


def confirm_token(secret: str, org_id: int, address_id: int, email: str) -> str:
    """The confirmation link's token, for this address as it was typed (7 days)."""
    return _serializer(secret, "confirm").dumps([org_id, address_id, email])


def unsubscribe_token(secret: str, org_id: int, subscription_id: int) -> str:
    """The token of the link that stops one follow's mails (until it is used)."""
    return _serializer(secret, "unsubscribe").dumps([org_id, subscription_id])


def _read(secret: str, purpose: str, token: str, max_age: int | None = None) -> list:
    try:
        found = _serializer(secret, purpose).loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        raise NotFound() from None
    if not (isinstance(found, list) and all(isinstance(v, int | str) for v in found)):
        raise NotFound()
    return found


# --- addresses ----------------------------------------------------------------------------------

UPSERT_ADDRESS = """
INSERT INTO visitor_addresses (org_id, email, name, locale) VALUES ($1, $2, $3, $4)
ON CONFLICT (org_id, email) DO UPDATE SET name = CASE WHEN EXCLUDED.name <> '' THEN EXCLUDED.name
                                                      ELSE visitor_addresses.name END
RETURNING id, confirmed_at IS NOT NULL AS confirmed, xmax = 0 AS new,
          asked_at < now() - make_interval(secs => $5) AS ask_again
"""


async def address_in(tx: Tx, email: str, name: str = "", locale: str = "sv") -> tuple[int, bool]:
    """The visitor's address (recorded once per organisation) and whether it is confirmed.

    An unconfirmed one is sent the link to confirm it, at most once per ASK_AGAIN_SECONDS.
    """
    row = await tx.fetchrow(UPSERT_ADDRESS, tx.org_id, normalise_email(email), name[:200], pick_locale(locale),
                            ASK_AGAIN_SECONDS)
    if not row["confirmed"] and (row["new"] or row["ask_again"]):
        await ask_in(tx, email)
    return row["id"], row["confirmed"]


async def ask_in(tx: Tx, email: str) -> None:
    """Queue a mail with the link that confirms this (recorded, unconfirmed) address."""
    address_id = await tx.fetchval(
        """UPDATE visitor_addresses SET asked_at = now() WHERE org_id = $1 AND email = $2 AND confirmed_at IS NULL
           RETURNING id""", tx.org_id, normalise_email(email))
    if address_id is not None:
        await jobs.enqueue(tx, JOB, {"address_id": address_id}, max_attempts=outgoing.SEND_ATTEMPTS)


async def follow(db: Database, org_id: int, conversation_id: int, *, email: str, name: str, locale: str) -> None:
    """A visitor's "notify me of answers" on a thread they posted in (mail starts once the address is confirmed)."""
    visitor = Visitor(org_id, name, email)
    require(visitor, "forum.follow")
    async with db.transaction(org_id) as tx:
        address_id, _ = await address_in(tx, email, name, locale)
        await tx.execute("""INSERT INTO forum_subscriptions (org_id, conversation_id, address_id)
                            VALUES ($1, $2, $3) ON CONFLICT DO NOTHING""", org_id, conversation_id, address_id)


ADDRESS_OF_TOKEN = """
SELECT a.id, a.email, a.name, a.confirmed_at, o.name AS org_name
FROM visitor_addresses a JOIN organizations o ON o.id = a.org_id
WHERE a.org_id = $1 AND a.id = $2 AND a.email = $3
"""


async def address_of_token(db: Database, secret: str, token: str):
    """The address a confirmation link names, if the link is genuine and unexpired; else NotFound."""
    org_id, address_id, email = _read(secret, "confirm", token, CONFIRM_MAX_AGE)
    row = await db.read_one(org_id, ADDRESS_OF_TOKEN, org_id, address_id, email)
    return org_id, row


# The move mails that waited for this address, not yet queued (app/forum_moves.py).
WAITING = """
SELECT fm.conversation_id, fm.message_id, a.email, a.name FROM forum_moves fm
JOIN visitor_addresses a ON a.org_id = fm.org_id AND a.id = fm.address_id
JOIN messages m ON m.org_id = fm.org_id AND m.id = fm.message_id
WHERE fm.org_id = $1 AND fm.address_id = $2 AND a.confirmed_at IS NOT NULL AND m.delivery_state IS NULL
FOR UPDATE OF fm
"""


async def release_in(tx: Tx, address_id: int) -> int:
    """Queue the move mails that waited for this (now confirmed) address; how many.

    The conversation's customer becomes the mail customer with that address, and so do the posts they
    wrote with it: confirmed, it is theirs.
    """
    waiting = await tx.fetch(WAITING, tx.org_id, address_id)
    for row in waiting:
        customer_id = await tx.fetchval(conversations.UPSERT_CUSTOMER, tx.org_id, row["name"], row["email"])
        await tx.execute("UPDATE conversations SET customer_id = $3 WHERE org_id = $1 AND id = $2",
                         tx.org_id, row["conversation_id"], customer_id)
        # their posts in the thread are theirs too, so a reply naming only [#N] in its subject finds the case
        await tx.execute("""UPDATE messages SET customer_id = $4 WHERE org_id = $1 AND conversation_id = $2
                            AND author_id IS NULL AND visitor->>'email' = $3""",
                         tx.org_id, row["conversation_id"], row["email"], customer_id)
        await outgoing.queue_send(tx, row["message_id"])
    return len(waiting)


# The answers in threads this address follows that came while it was not confirmed yet.
ANSWERED_MEANWHILE = """
SELECT s.id AS subscription_id, m.id AS message_id FROM forum_subscriptions s
JOIN conversations v ON v.org_id = s.org_id AND v.id = s.conversation_id AND v.kind = 'forum'
JOIN messages m ON m.org_id = s.org_id AND m.conversation_id = s.conversation_id
WHERE s.org_id = $1 AND s.address_id = $2 AND m.created_at >= s.created_at
  AND m.author_id IS NOT NULL AND m.kind IN ('editor', 'comment')
ORDER BY m.id
"""


async def confirm(db: Database, secret: str, token: str) -> None:
    """The visitor opened the link: their address is confirmed, and what waited for it goes out, the answers
    that came in the threads they follow while they had not confirmed yet among it."""
    org_id, row = await address_of_token(db, secret, token)
    require(Visitor(org_id), "visitor.confirm")
    async with db.transaction(org_id) as tx:
        first = await tx.fetchval("""UPDATE visitor_addresses SET confirmed_at = now()
                                     WHERE org_id = $1 AND id = $2 AND confirmed_at IS NULL RETURNING 1""",
                                  org_id, row["id"])
        await release_in(tx, row["id"])
        if first:  # once: opening the link again sends nothing twice
            for missed in await tx.fetch(ANSWERED_MEANWHILE, org_id, row["id"]):
                await jobs.enqueue(tx, JOB, dict(missed), max_attempts=outgoing.SEND_ATTEMPTS)


SUBSCRIPTION = """
SELECT s.id, a.email, v.subject, v.case_number, ch.address AS slug, ch.name AS forum_name
FROM forum_subscriptions s
JOIN visitor_addresses a ON a.org_id = s.org_id AND a.id = s.address_id
JOIN conversations v ON v.org_id = s.org_id AND v.id = s.conversation_id
JOIN channels ch ON ch.org_id = v.org_id AND ch.id = v.channel_id
WHERE s.org_id = $1 AND s.id = $2
"""


async def subscription_of_token(db: Database, secret: str, token: str):
    """The follow an unsubscribe link names (org_id, row); NotFound when the link is not ours or it is gone."""
    org_id, subscription_id = _read(secret, "unsubscribe", token)
    return org_id, await db.read_one(org_id, SUBSCRIPTION, org_id, subscription_id)


async def unsubscribe(db: Database, secret: str, token: str) -> None:
    """Stop the mails the link's follow sends; once stopped, the link finds nothing."""
    org_id, row = await subscription_of_token(db, secret, token)
    require(Visitor(org_id), "forum.follow")
    async with db.transaction(org_id) as tx:
        await tx.execute("DELETE FROM forum_subscriptions WHERE org_id = $1 AND id = $2", org_id, row["id"])


# --- new answers -------------------------------------------------------------------------------

FOLLOWERS = """
SELECT s.id FROM forum_subscriptions s
JOIN visitor_addresses a ON a.org_id = s.org_id AND a.id = s.address_id
JOIN conversations v ON v.org_id = s.org_id AND v.id = s.conversation_id
WHERE s.org_id = $1 AND s.conversation_id = $2 AND v.kind = 'forum' AND a.confirmed_at IS NOT NULL
"""


async def answered_in(tx: Tx, conversation_id: int, message_id: int) -> None:
    """An editor answered or commented in a conversation: a mail job for each confirmed follower of a forum thread."""
    for row in await tx.fetch(FOLLOWERS, tx.org_id, conversation_id):
        await jobs.enqueue(tx, JOB, {"subscription_id": row["id"], "message_id": message_id},
                           max_attempts=outgoing.SEND_ATTEMPTS)


ADDRESS = """
SELECT a.email, a.name, a.locale, a.confirmed_at, o.name AS org_name FROM visitor_addresses a
JOIN organizations o ON o.id = a.org_id WHERE a.org_id = $1 AND a.id = $2
"""

ANSWER = """
SELECT s.id, a.email, a.name, a.locale, a.confirmed_at, v.subject, v.case_number, v.kind AS conversation_kind,
       ch.address AS slug, ch.name AS forum_name, m.body_text, coalesce(u.name, '') AS author_name
FROM forum_subscriptions s
JOIN visitor_addresses a ON a.org_id = s.org_id AND a.id = s.address_id
JOIN conversations v ON v.org_id = s.org_id AND v.id = s.conversation_id
JOIN channels ch ON ch.org_id = v.org_id AND ch.id = v.channel_id
JOIN messages m ON m.org_id = s.org_id AND m.conversation_id = v.id AND m.id = $3
LEFT JOIN users u ON u.id = m.author_id
WHERE s.org_id = $1 AND s.id = $2
"""


def _text(locale: str, message: str, **values) -> str:
    return translations(locale).gettext(message) % values


def _mail(sender_name: str, to_name: str, to_address: str, subject: str, body: str):
    config = _configured()
    return outgoing.notice(sender_name=sender_name, sender_address=config.sender_address, to_name=to_name,
                           to_address=to_address, subject=subject, body=body,
                           message_id=outgoing.new_message_id(config.sender_address))


def confirm_mail(org_id: int, address_id: int, row):
    """The confirmation link as a mail, signed now."""
    config = _configured()
    link = f"{config.base_url}/visitor/confirm/{confirm_token(config.secret_key, org_id, address_id, row['email'])}"
    return _mail(row["org_name"], row["name"], row["email"],
                 _text(row["locale"], CONFIRM_SUBJECT, forum=row["org_name"]),
                 _text(row["locale"], CONFIRM_BODY, name=row["name"] or row["email"], forum=row["org_name"], link=link))


def answer_mail(org_id: int, row):
    """A new answer as a mail to a follower, with the thread's link and the link that stops these mails."""
    config = _configured()
    stop = f"{config.base_url}/visitor/unsubscribe/{unsubscribe_token(config.secret_key, org_id, row['id'])}"
    mail = _mail(row["forum_name"], row["name"], row["email"],
                 _text(row["locale"], ANSWER_SUBJECT, subject=row["subject"]),
                 _text(row["locale"], ANSWER_BODY, author=row["author_name"], subject=row["subject"],
                       body=row["body_text"][:MAX_QUOTED], link=f"{config.base_url}/forum/{row['slug']}/{row['case_number']}",
                       unsubscribe=stop))
    mail["List-Unsubscribe"] = f"<{stop}>"  # RFC 2369: mail clients offer it as a button
    return mail


async def send_job(db: Database, job: Job) -> None:
    """The worker's handler for "visitor.mail": a confirmation link, or a new answer to a follower.

    Nothing goes to an address that is not confirmed (an answer), or that is (a confirmation); a
    temporary failure is raised so the job backs off, a 5xx ends it.
    """
    org_id, payload = job.org_id, job.payload
    async with db.transaction(org_id, readonly=True) as tx:
        if "address_id" in payload:
            row = await tx.fetchrow(ADDRESS, org_id, payload["address_id"])
            wanted = row is not None and row["confirmed_at"] is None
        else:
            row = await tx.fetchrow(ANSWER, org_id, payload["subscription_id"], payload["message_id"])
            wanted = row is not None and row["confirmed_at"] is not None and row["conversation_kind"] == "forum"
    if not wanted:
        return  # confirmed meanwhile, unsubscribed, or moved to private mail
    try:
        mail = confirm_mail(org_id, payload["address_id"], row) if "address_id" in payload else answer_mail(org_id, row)
    except outgoing.Unsendable:
        return  # not an address anyone can mail: trying again would not help
    try:
        await outgoing.deliver(mail, outgoing.relay_for(None, None))
    except Exception as exc:  # noqa: BLE001 - the job's own back-off and last error keep what happened
        if outgoing.permanent(exc):
            return
        raise
