"""The public forum: a forum channel's start page and threads as visitors see them, and visitors' posts.

Threads are conversations (kind 'forum'), so editors work them like mail. Visitors act as `Visitor`
in the forum's organisation, found by the slug in the URL. What a visitor's request told us (e-mail,
browser, operating system, referring page) goes on their message for editors, never on public pages:
the public queries here do not select it.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from app import conversations
from app.accounts import normalise_email
from app.actors import Visitor
from app.db import Database
from app.errors import Invalid, NotFound
from app.i18n import N_
from app.text import clean_name

TOPICS = ("question", "problem", "idea", "praise")
VOTED_TOPICS = ("idea", "problem")  # "me too" counts where many share one wish or fault
MAX_TITLE = 200
MAX_NAME = 100
MAX_PAGE = 500


@dataclass(frozen=True)
class Forum:
    slug: str
    org_id: int
    channel_id: int
    name: str
    colour: str
    org_name: str


async def find(db: Database, slug: str) -> Forum:
    """The forum with this slug, in whichever organisation has it; NotFound otherwise."""
    async with db.transaction(None, readonly=True) as tx:
        row = await tx.fetchrow("SELECT * FROM forum_for_slug($1)", slug.lower()[:254])
    if row is None:
        raise NotFound()
    return Forum(slug.lower(), row["org_id"], row["channel_id"], row["channel_name"], row["colour"], row["org_name"])


# A thread is answered when it has an official (an editor's) or accepted answer and nothing needs a reply.
ANSWERED = """(NOT v.needs_reply AND EXISTS (SELECT 1 FROM messages m WHERE m.org_id = v.org_id
    AND m.conversation_id = v.id AND m.parent_id IS NULL AND (m.kind = 'editor' OR m.accepted_at IS NOT NULL)))"""

# Listed threads: open and not spam (archived and hidden ones are not). Pinned ones first in the editors'
# order, then the rest by latest activity: two walks of small indexes, not a sort of the whole forum.
LISTED = """SELECT id, org_id, case_number, subject, topic, created_at, last_message_at, needs_reply, pinned_position
    FROM conversations WHERE org_id = $1 AND channel_id = $2 AND kind = 'forum' AND status = 'open' AND NOT spam"""
START_PAGE = f"""
SELECT v.id, v.case_number, v.subject, v.topic, v.created_at, v.last_message_at,
       (SELECT count(*) FROM messages m WHERE m.org_id = v.org_id AND m.conversation_id = v.id
          AND m.kind <> 'note' AND m.parent_id IS NULL) - 1 AS answers,
       EXISTS (SELECT 1 FROM messages m WHERE m.org_id = v.org_id AND m.conversation_id = v.id
          AND m.kind = 'editor') AS official,
       (SELECT count(*) FROM forum_votes fv WHERE fv.org_id = v.org_id AND fv.conversation_id = v.id) AS votes,
       v.pinned_position IS NOT NULL AS pinned, {ANSWERED} AS answered
FROM (({LISTED} AND pinned_position IS NOT NULL ORDER BY pinned_position, id LIMIT $3)
      UNION ALL ({LISTED} AND pinned_position IS NULL ORDER BY last_message_at DESC, id DESC LIMIT $3)) v
ORDER BY v.pinned_position NULLS LAST, v.last_message_at DESC, v.id DESC LIMIT $3
"""

# A thread a visitor may open by its link: archived ones too, never hidden ones or spam.
THREAD = """
SELECT v.id, v.case_number, v.subject, v.topic, v.status, v.created_at,
       (SELECT count(*) FROM forum_votes fv WHERE fv.org_id = v.org_id AND fv.conversation_id = v.id) AS votes,
       EXISTS (SELECT 1 FROM forum_revisions r WHERE r.org_id = v.org_id AND r.conversation_id = v.id) AS edited
FROM conversations v
WHERE v.org_id = $1 AND v.channel_id = $2 AND v.case_number = $3 AND v.kind = 'forum'
  AND v.status <> 'hidden' AND NOT v.spam AND v.merged_into_id IS NULL
"""

# Its public messages: no notes, and nothing of what the visitor's request told us.
POSTS = """
SELECT m.id, m.kind, m.parent_id, m.body_text, m.created_at, m.language,
       m.author_id IS NOT NULL AS official, coalesce(u.name, cu.name, '') AS author_name,
       m.accepted_at IS NOT NULL AS accepted
FROM messages m
LEFT JOIN users u ON u.id = m.author_id
LEFT JOIN customers cu ON cu.org_id = m.org_id AND cu.id = m.customer_id
WHERE m.org_id = $1 AND m.conversation_id = $2 AND m.kind <> 'note'
ORDER BY m.created_at, m.id
"""


async def threads(db: Database, forum: Forum, limit: int = 100) -> list:
    return await listed(db, forum.org_id, forum.channel_id, limit)


async def listed(db: Database, org_id: int, channel_id: int, limit: int = 100) -> list:
    """A forum's start page: its pinned threads in the editors' order, then the newest activity."""
    return await db.read(org_id, START_PAGE, org_id, channel_id, limit)


async def thread(db: Database, forum: Forum, case_number: int) -> dict:
    """A thread as the public sees it: the opening post, the answers, each answer's comments."""
    if not 0 < case_number < 2**63:
        raise NotFound()
    async with db.transaction(forum.org_id, readonly=True) as tx:
        row = await tx.fetchrow(THREAD, forum.org_id, forum.channel_id, case_number)
        if row is None:
            raise NotFound()
        posts = await tx.fetch(POSTS, forum.org_id, row["id"])
    top = [p for p in posts if p["parent_id"] is None]
    comments: dict[int, list] = {}
    for p in posts:
        if p["parent_id"] is not None:
            comments.setdefault(p["parent_id"], []).append(p)
    return {"thread": row, "opening": top[0] if top else None, "answers": top[1:], "comments": comments}


# --- visitors' posts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    """What a visitor typed, checked."""

    name: str
    email: str
    body: str


def clean_post(name: str, email: str, body: str) -> Post:
    name = clean_name(name, "name", MAX_NAME, message=N_("Enter your name."))
    email = normalise_email(email)
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise Invalid(N_("Write something first."), "body")
    if len(body) > conversations.MAX_BODY:
        raise Invalid(N_("That is too long: at most %(max)s characters."), "body", max=conversations.MAX_BODY)
    return Post(name, email, body)


def visitor_info(post: Post, user_agent: str, page: str) -> dict:
    """What editors see about a visitor's post: the e-mail they gave, their browser and system, where they came from."""
    browser, system = client_of(user_agent)
    return {"email": post.email, "browser": browser, "os": system, "page": page.strip()[:MAX_PAGE]}


async def start_thread(db: Database, forum: Forum, *, topic: str, title: str, post: Post, user_agent: str = "",
                       page: str = "") -> int:
    """A visitor's new thread; returns its case number (its URL)."""
    if topic not in TOPICS:
        raise Invalid(N_("Choose what kind of post this is."), "topic")
    title = clean_name(title, "title", MAX_TITLE, message=N_("Write a title."))
    info = visitor_info(post, user_agent, page)
    async with db.transaction(forum.org_id) as tx:
        conversation_id, _ = await conversations.open_in(
            tx, Visitor(forum.org_id, post.name, post.email), channel_id=forum.channel_id, subject=title,
            body=post.body, customer_name=post.name, visitor=info)
        return await tx.fetchval(
            "UPDATE conversations SET topic = $3 WHERE org_id = $1 AND id = $2 RETURNING case_number",
            forum.org_id, conversation_id, topic)


async def add_post(db: Database, forum: Forum, case_number: int, *, post: Post, parent_id: int | None = None,
                   user_agent: str = "", page: str = "") -> int:
    """A visitor's answer in a thread, or (parent_id) their comment on a message in it; returns the message id.

    Only open threads take posts: an archived one is there to be read. Each post's author is the visitor
    who wrote it, never the thread's starter.
    """
    info = visitor_info(post, user_agent, page)
    async with db.transaction(forum.org_id) as tx:
        row = await tx.fetchrow(THREAD + " FOR UPDATE OF v", forum.org_id, forum.channel_id, case_number)
        if row is None:
            raise NotFound()
        if row["status"] != "open":
            raise Invalid(N_("This thread is archived: it takes no new posts."), "body")
        return await conversations.add_in(
            tx, Visitor(forum.org_id, post.name, post.email), row["id"],
            kind="customer" if parent_id is None else "comment", body=post.body,
            customer_id=await conversations.visitor_customer_in(tx, post.name), visitor=info, parent_id=parent_id)


async def vote(db: Database, forum: Forum, case_number: int, email: str) -> bool:
    """A visitor's "me too" on an open idea or problem, once per e-mail address; whether it counted."""
    voter = hashlib.sha256(normalise_email(email).encode()).digest()
    async with db.transaction(forum.org_id) as tx:
        row = await tx.fetchrow(THREAD + " FOR UPDATE OF v", forum.org_id, forum.channel_id, case_number)
        if row is None:
            raise NotFound()
        if row["topic"] not in VOTED_TOPICS or row["status"] != "open":
            raise Invalid(N_("Only open ideas and problems take votes."), "email")
        counted = await tx.fetchval(
            """INSERT INTO forum_votes (org_id, conversation_id, voter) VALUES ($1, $2, $3)
               ON CONFLICT DO NOTHING RETURNING 1""", forum.org_id, row["id"], voter)
        if counted:
            await tx.emit("forum.voted", conversation_id=row["id"])
    return bool(counted)


# --- the browser and system a User-Agent names (a rough, honest guess; editors see it as a hint) -------

_BROWSERS = (  # the first that matches wins: Edge and Opera also say Chrome, Chrome also says Safari
    ("Edge", r"Edg(?:e|A|iOS)?/(\d+)"), ("Opera", r"OPR/(\d+)"), ("Samsung Internet", r"SamsungBrowser/(\d+)"),
    ("Firefox", r"(?:Firefox|FxiOS)/(\d+)"), ("Chrome", r"(?:Chrome|CriOS)/(\d+)"),
    ("Safari", r"Version/(\d+)[.\d]* (?:Mobile/\S+ )?Safari/"),
)
_SYSTEMS = (
    ("Android", r"Android (\d+)"), ("iOS", r"(?:iPhone|iPad|iPod).*? OS (\d+)"),
    ("Windows", r"Windows NT (\d+\.\d+)"), ("macOS", r"Mac OS X (\d+)"), ("ChromeOS", r"CrOS()"),
    ("Linux", r"Linux()"),
)
_WINDOWS = {"10.0": "10/11", "6.3": "8.1", "6.2": "8", "6.1": "7"}


def client_of(user_agent: str) -> tuple[str, str]:
    """(browser, operating system) from a User-Agent header, e.g. ("Firefox 133", "Ubuntu"); "" where unknown."""
    ua = (user_agent or "")[:1000]

    def first(patterns) -> tuple[str, str] | None:
        for name, pattern in patterns:
            if found := re.search(pattern, ua):
                return name, found.group(1)
        return None

    browser = first(_BROWSERS)
    system = first(_SYSTEMS)
    browser_text = f"{browser[0]} {browser[1]}" if browser else ""
    if system is None:
        return browser_text, ""
    name, version = system
    if name == "Windows":
        version = _WINDOWS.get(version, version)
    return browser_text, f"{name} {version}".strip()
