"""Follow-ups and notifications at a million conversations: the queries that must stay cheap.

    .venv/bin/python -m bench.follow_ups [--conversations 1000000]

A fresh PostgreSQL (like the tests), migrated; one organisation made by bench/volume.py's people
and channels, then conversations inserted in bulk by SQL: 5 % carry a follow-up between 30 days
ago and 30 days ahead, those in the past already notified except the last 50 (as if they came due
since the last sweep), and one editor has 20,000 notifications, 40 unread. Then, as the app runs
them (its role, row-level security), EXPLAIN (ANALYZE, BUFFERS) of: the dashboard's follow-up
view, the sweep's cross-organisation search, its claim in the organisation, the header's unread
count and the notification list; and one whole sweep of the 50 due follow-ups, timed.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time

import asyncpg

from app import followups, notifications
from app.db import Database
from bench import volume
from bench.pages import _scans, explain
from devtools.services import migrated_settings, throwaway_servers

FILL = """
INSERT INTO conversations (org_id, case_number, channel_id, kind, subject, status, assignee_id, created_at,
                           last_message_at, follow_up_at, follow_up_due)
SELECT $1, i, $2, 'mail', 'Ärende ' || i, CASE WHEN i % 14 = 0 THEN 'open' ELSE 'closed' END,
       CASE WHEN i % 3 = 0 THEN $3::bigint END,
       now() - make_interval(secs => ($4 - i) * 60), now() - make_interval(secs => ($4 - i) * 60),
       f.at, f.at IS NOT NULL AND f.at < now() - interval '1 hour'
FROM generate_series(1, $4) AS i
CROSS JOIN LATERAL (SELECT CASE WHEN i % 20 = 0
                                THEN now() + make_interval(secs => ((i::bigint * 7919) % 5184000) - 2592000) END AS at) f
"""
# the 50 most recently passed follow-ups are not notified yet
PENDING = """
UPDATE conversations SET follow_up_due = false
WHERE org_id = $1 AND id IN (SELECT id FROM conversations WHERE org_id = $1 AND follow_up_at < now()
                             ORDER BY follow_up_at DESC LIMIT 50)
"""
NOTIFY = """
INSERT INTO notifications (org_id, user_id, kind, conversation_id, created_at, read_at)
SELECT $1, $2, 'assigned', c.id, now() - make_interval(secs => n * 60),
       CASE WHEN n > 40 THEN now() END
FROM generate_series(1, 20000) AS n
JOIN conversations c ON c.org_id = $1 AND c.case_number = n * 37
"""
SWEEP_SEARCH = """
SELECT org_id, id FROM conversations
WHERE follow_up_at IS NOT NULL AND NOT follow_up_due AND follow_up_at <= now()
ORDER BY follow_up_at, id LIMIT 100
"""


def _line(name: str, e: dict) -> str:
    return (f"{name:34} {e['ms']:8.2f} ms  {e['buffers']:6} buffers  {e['rows']:5} rows  "
            f"{', '.join(e['scans'])}")


async def run(size: int) -> None:
    with throwaway_servers("samsyn-bench-fu-") as servers:
        settings = await migrated_settings(*servers, secret_key="bench")
        org = await volume.create_organization(settings.database_owner_url)
        editor = org.editor_ids[1]
        owner = await asyncpg.connect(settings.database_owner_url)
        try:
            t = time.perf_counter()
            channel = org.channels[0][0]
            await owner.execute(FILL, org.org_id, channel, editor, size)
            await owner.execute(PENDING, org.org_id)
            await owner.execute(NOTIFY, org.org_id, editor)
            await owner.execute("VACUUM ANALYZE conversations")
            await owner.execute("VACUUM ANALYZE notifications")
            counts = await owner.fetchrow(
                """SELECT count(*) AS conversations, count(follow_up_at) AS follow_ups,
                          count(*) FILTER (WHERE follow_up_at < now()) AS passed,
                          count(*) FILTER (WHERE follow_up_at < now() AND NOT follow_up_due) AS pending
                   FROM conversations WHERE org_id = $1""", org.org_id)
            print(f"filled in {time.perf_counter() - t:.0f} s: {dict(counts)}")
            search = await owner.fetchval("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + SWEEP_SEARCH)
        finally:
            await owner.close()
        db = await Database.connect(settings, None)
        try:
            top = (search if isinstance(search, list) else json.loads(search))[0]
            plan = top["Plan"]
            print(_line("sweep: find due (all orgs)", {
                "ms": top["Execution Time"], "rows": plan["Actual Rows"], "scans": _scans(plan),
                "buffers": plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0)}))
            print(_line("follow-up view (due, 100)", await explain(db, org.org_id, followups.DUE_IN_ORG,
                                                                    org.org_id, 100)))
            print(_line("header: unread count", await explain(db, org.org_id, notifications.UNREAD,
                                                              org.org_id, editor)))
            print(_line("notification list (100)", await explain(db, org.org_id, notifications.LIST,
                                                                 org.org_id, editor, 100)))
            t = time.perf_counter()
            done = await followups.sweep(db)
            print(f"{'one sweep':34} {(time.perf_counter() - t) * 1000:8.2f} ms  {done} follow-ups notified")
        finally:
            await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=1_000_000)
    asyncio.run(run(parser.parse_args().conversations))


if __name__ == "__main__":
    main()
