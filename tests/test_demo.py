"""The demo organisation that `make run` seeds: people, channels and a real-looking queue."""
from __future__ import annotations

from app import accounts, channels, conversations, demo


async def test_demo_seed_creates_the_team_channels_and_conversations_once(demo_org, db):
    org_id = demo_org
    members = {m["email"]: m["role"] for m in await accounts.members(db, org_id)}
    assert members == {email: role for _, _, email, role in demo.DEMO_USERS}
    assert sorted(c["name"] for c in await channels.list_channels(db, org_id)) == [
        "Kundservice NO", "Kundservice SV", "info@"]
    async with db.transaction(org_id, readonly=True) as tx:
        total = await tx.fetchval("SELECT count(*) FROM conversations WHERE org_id = $1", org_id)
        span = await tx.fetchval(
            "SELECT max(created_at) - min(created_at) FROM conversations WHERE org_id = $1", org_id)
        seq, events = await tx.fetchrow(
            "SELECT max(seq), count(*) FROM events WHERE org_id = $1", org_id)
    assert total == 300 and span.days >= 80
    assert seq == events, "seeded through the write path: one event per seq, no gaps"
    queue = await conversations.queue(db, org_id)
    assert 40 <= len(queue) <= 120
    assert {row["channel_name"] for row in queue} == {"Kundservice NO", "Kundservice SV", "info@"}
    assert any(row["needs_reply"] for row in queue)
    assert await demo.seed(db) is False, "a second run reuses the data"


async def test_the_demo_starts_with_old_notifications_read_and_two_follow_ups(demo_org, db):
    rows = await db.read(demo_org, """SELECT follow_up_at > now() AS ahead FROM conversations
                                      WHERE org_id = $1 AND follow_up_at IS NOT NULL ORDER BY follow_up_at""", demo_org)
    assert [r["ahead"] for r in rows] == [False, True], "one for the worker to bring up, one for tomorrow"
    unread = await db.read(demo_org, """SELECT count(*) AS n FROM notifications
                                        WHERE org_id = $1 AND read_at IS NULL AND kind = 'assigned'""", demo_org)
    assert unread[0]["n"] == 0


async def test_the_demos_cases_were_closed_after_their_last_message_not_when_seeded(demo_org, db):
    # statistics time a resolution by its status change: a seed closing October's mail today read as 45 days
    rows = await db.read(demo_org, """
        SELECT e.created_at - v.last_message_at AS after_last, e.created_at <= now() AS past
        FROM conversations v JOIN events e ON e.org_id = v.org_id AND e.conversation_id = v.id
        WHERE v.org_id = $1 AND e.kind = 'conversation.status_changed'""", demo_org)
    assert rows and all(r["past"] for r in rows)
    assert max(r["after_last"] for r in rows).days < 1
