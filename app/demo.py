"""The demo organisation: Lena (admin), Anna and Björn (editors), Viktor (viewer), two forums and
info@, and a few hundred conversations over the last 90 days, written through the domain's own
functions so the event log and derived fields are exactly what real use would produce."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app import accounts, channels, conversations, followups, notifications, tags
from app import barometer  # the customer barometer (issue 10)
from app.actors import Actor, System, Visitor
from app.db import Database
from app.demo_content import DEMO_TAG_GROUPS, demo_conversations

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
    return await accounts.account_id(db, DEMO_USERS[0][2]) is not None


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
    members = {key: Actor(users[key], org_id, role, name, email, "sv", DEMO_ORG, "Europe/Stockholm")
               for key, name, email, role in DEMO_USERS}
    channel_ids = {
        key: await channels.create_channel(db, members["lena"], kind=kind, name=name, colour=colour,
                                           address=address, response_target_minutes=target)
        for key, kind, name, colour, address, target in DEMO_CHANNELS
    }
    tag_ids = {}
    for group, names in DEMO_TAG_GROUPS.items():
        group_id = await tags.create_group(db, members["lena"], group)
        for name in names:
            tag_ids[name] = await tags.create_tag(db, members["lena"], name, group_id)
    for conv in demo_conversations(now, count=count):
        await _write_conversation(db, org_id, members, channel_ids[conv.channel], conv, tag_ids)
    await _follow_ups(db, org_id, members, now)
    await barometer.score_all(db)  # the barometer shows the demo's months at once, not after the worker's jobs
    return True


async def _follow_ups(db: Database, org_id: int, members: dict[str, Actor], now: datetime) -> None:
    """Old assignments' notifications read, as the team would have; a follow-up tomorrow, and one just due
    (the worker's sweep notifies the team of it once `make run` is up)."""
    for key in ("lena", "anna", "bjorn"):
        await notifications.mark_all_read(db, members[key])
    queue = await conversations.queue(db, org_id)
    annas = [r["id"] for r in queue if r["assignee_id"] == members["anna"].user_id]
    unassigned = [r["id"] for r in queue if r["assignee_id"] is None]
    if annas:
        tomorrow = followups.quick_time("tomorrow", "Europe/Stockholm", now)
        await followups.set_follow_up(db, members["anna"], annas[0], tomorrow, now=now)
    if unassigned:
        await followups.set_follow_up(db, members["bjorn"], unassigned[0], now - timedelta(minutes=5),
                                      now=now - timedelta(days=1))


async def _write_conversation(db: Database, org_id: int, members: dict[str, Actor], channel_id: int, conv,
                              tag_ids: dict[str, int]) -> None:
    # mail comes in through the system; forum posts are written by visitors
    customer = System(org_id, "demo") if conv.channel == "info" else Visitor(org_id, conv.customer_name)
    first, *rest = conv.messages
    conversation_id = await conversations.open_conversation(
        db, customer, channel_id=channel_id, subject=conv.subject, body=first.text,
        customer_name=conv.customer_name, customer_email=conv.customer_email,
        at=conv.started_at, visitor=conv.visitor, language=conv.language,
    )
    for message in rest:
        await conversations.add_message(
            db, customer if message.author == "customer" else members[message.author], conversation_id,
            kind=message.kind, body=message.text,
            at=conv.started_at + timedelta(minutes=message.minutes_after_start),
            language=conv.language if message.author == "customer" else None,
        )
    if conv.no_reply_needed:
        await conversations.mark_no_reply_needed(db, members["anna"], conversation_id)
    for name in conv.tags:
        await tags.tag(db, members.get(conv.assignee, members["anna"]), conversation_id, tag_ids[name])
    if conv.assignee:
        await conversations.assign(db, members["lena"], conversation_id, members[conv.assignee].user_id)
    if conv.status != "open":  # dated after the last message, so statistics show plausible resolution times
        last = conv.started_at + timedelta(minutes=max(m.minutes_after_start for m in conv.messages))
        await conversations.set_status(db, members.get(conv.assignee, members["lena"]), conversation_id,
                                       conv.status, at=min(last + timedelta(hours=2), datetime.now(timezone.utc)))
