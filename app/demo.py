"""The demo organisation: Lena (admin), Anna and Björn (editors), Viktor (viewer), two forums and
info@, and a few hundred conversations over the last 90 days, written through the domain's own
functions so the event log and derived fields are exactly what real use would produce."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app import accounts, channels, conversations
from app.accounts import Actor
from app.db import Database
from app.demo_content import demo_conversations

DEMO_ORG = "Samsyn Demo AB"
DEMO_PASSWORD = "samsyn-demo"
DEMO_USERS = [  # key, name, e-mail, role
    ("lena", "Lena Holm", "lena@demo.samsyn.se", "admin"),
    ("anna", "Anna Lind", "anna@demo.samsyn.se", "editor"),
    ("bjorn", "Björn Ek", "bjorn@demo.samsyn.se", "editor"),
    ("viktor", "Viktor Sand", "viktor@demo.samsyn.se", "viewer"),
]
DEMO_CHANNELS = [  # key, kind, name, colour, address, response target (minutes)
    ("sv_forum", "forum", "Kundservice SV", "blue", "kundservice-sv", 240),
    ("no_forum", "forum", "Kundservice NO", "red", "kundservice-no", 240),
    ("info", "mailbox", "info@", "green", "info@demo.samsyn.se", 480),
]


async def seeded(db: Database) -> bool:
    async with db.transaction(None, readonly=True) as tx:
        return bool(await tx.fetchval("SELECT 1 FROM users WHERE email = $1", DEMO_USERS[0][2]))


async def seed(db: Database, now: datetime | None = None, count: int = 300) -> bool:
    """Create the demo organisation unless it exists; returns whether it was created."""
    if await seeded(db):
        return False
    now = now or datetime.now(timezone.utc)
    org_id = await accounts.create_organization(db, DEMO_ORG)
    users: dict[str, int] = {}
    for key, name, email, role in DEMO_USERS:
        users[key] = await accounts.create_user(db, email, name, DEMO_PASSWORD)
        await accounts.add_member(db, org_id, users[key], role)
    lena = Actor(users["lena"], org_id, "admin", "Lena Holm", DEMO_USERS[0][2], "sv", DEMO_ORG, "Europe/Stockholm")
    channel_ids = {
        key: await channels.create_channel(db, lena, kind=kind, name=name, colour=colour, address=address,
                                           response_target_minutes=target)
        for key, kind, name, colour, address, target in DEMO_CHANNELS
    }
    for conv in demo_conversations(now, count=count):
        await _write_conversation(db, org_id, users, channel_ids[conv.channel], conv)
    return True


async def _write_conversation(db: Database, org_id: int, users: dict[str, int], channel_id: int, conv) -> None:
    first, *rest = conv.messages
    conversation_id = await conversations.open_conversation(
        db, org_id, channel_id=channel_id, subject=conv.subject, body=first.text,
        customer_name=conv.customer_name, customer_email=conv.customer_email,
        at=conv.started_at, visitor=conv.visitor, language=conv.language,
    )
    for message in rest:
        await conversations.add_message(
            db, org_id, conversation_id, kind=message.kind, body=message.text,
            author_id=users.get(message.author) if message.author != "customer" else None,
            at=conv.started_at + timedelta(minutes=message.minutes_after_start),
            language=conv.language if message.author == "customer" else None,
        )
    if conv.no_reply_needed:
        await conversations.mark_no_reply_needed(db, org_id, conversation_id, actor_id=users["anna"])
    if conv.assignee:
        await conversations.assign(db, org_id, conversation_id, users[conv.assignee], actor_id=users["lena"])
    if conv.status != "open":
        await conversations.set_status(db, org_id, conversation_id, conv.status, actor_id=users.get(conv.assignee))
