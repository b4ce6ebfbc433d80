"""A case's page as one history: its messages and what was done to it (from the event log), by time."""
from __future__ import annotations

from app import conversations, forum_moves
from app.db import Database
from app.errors import NotFound
from app.mail import parse, raw

# What the timeline shows besides messages: other features' kinds (realtime/fragments.py re-renders the
# case page for them), ours, and follow-up kinds ("conversation.follow_up…") where present.
FROM_OTHER_FEATURES = ("conversation.status_changed", "conversation.assigned", "conversation.tagged",
                       "conversation.untagged")
TIMELINE_KINDS = (*FROM_OTHER_FEATURES, "conversation.spam_marked", "conversation.split", "conversation.merged")
TIMELINE_KINDS += ("conversation.moved", "conversation.published")  # forum moves (issue 8)
FOLLOW_UP_PREFIX = "conversation.follow_up"

# Read through events_conversation_idx (migration 0027): one case's events, not the organisation's log.
EVENTS = """
SELECT e.seq, e.kind, e.payload, e.created_at, actor.name AS actor_name, assignee.name AS assignee_name,
       t.name AS tag_name, other.id AS other_id, other.case_number AS other_number, other.split_reason
FROM events e
LEFT JOIN users actor ON actor.id = (e.payload->>'actor_id')::bigint
LEFT JOIN users assignee ON e.kind = 'conversation.assigned' AND assignee.id = (e.payload->>'assignee_id')::bigint
LEFT JOIN tags t ON e.kind IN ('conversation.tagged', 'conversation.untagged')
     AND t.org_id = e.org_id AND t.id = (e.payload->>'tag_id')::bigint
LEFT JOIN conversations other ON e.kind IN ('conversation.split', 'conversation.merged') AND other.org_id = e.org_id
     AND other.id = COALESCE(e.payload->>'new_conversation_id', e.payload->>'merged_id')::bigint
WHERE e.org_id = $1 AND e.conversation_id = $2
  AND (e.kind = ANY($3::text[]) OR e.kind LIKE $4 || '%')
ORDER BY e.seq
"""

CUSTOMER_CASES = """
SELECT v.id, v.case_number, v.subject, v.status, v.spam, v.created_at, v.merged_into_id
FROM conversations v
WHERE v.org_id = $1 AND v.customer_id = $2 AND v.id <> $3
ORDER BY v.created_at DESC, v.id DESC LIMIT $4
"""


async def case(db: Database, org_id: int, conversation_id: int) -> dict:
    """What the case page shows: its row, its history (messages and events by time) and the customer's other cases."""
    async with db.transaction(org_id, readonly=True) as tx:
        row = await tx.fetchrow(conversations.ONE_ROW, org_id, conversation_id)
        if row is None:
            raise NotFound()
        messages = await tx.fetch(conversations.MESSAGES, org_id, conversation_id)
        events = await tx.fetch(EVENTS, org_id, conversation_id, list(TIMELINE_KINDS), FOLLOW_UP_PREFIX)
        others = (await tx.fetch(CUSTOMER_CASES, org_id, row["customer_id"], conversation_id, 20)
                  if row["customer_id"] else [])
        # the forum (issue 8): visitors' "me too" votes on an idea or problem
        votes = await tx.fetchval("SELECT count(*) FROM forum_votes WHERE org_id = $1 AND conversation_id = $2",
                                  org_id, conversation_id) if row["kind"] == "forum" else 0
        moves = await forum_moves.of_case(tx, conversation_id)  # forum moves (issue 8): where it came from, went
    # by time; in the same moment, messages (by id) before what was done (by seq)
    items = [{"type": "message", "order": (m["created_at"], 0, m["id"]), "m": m, "folded": _fold(m)} for m in messages]
    items += [{"type": "event", "order": (e["created_at"], 1, e["seq"]), "e": e} for e in events]
    items.sort(key=lambda i: i["order"])
    return {"row": row, "messages": messages, "items": items, "customer_cases": others, "votes": votes, **moves,
            "first_message_id": messages[0]["id"] if messages else None,
            "attachments": await raw.attachments_of(db, org_id, conversation_id)}


def _fold(message) -> tuple[str, str]:
    """A customer's mail as (new part, quoted history and signature); other messages whole."""
    if message["kind"] != "customer" or not message["raw_mail_id"]:
        return message["body_text"], ""
    return parse.fold_quoted(message["body_text"])


async def message_html(db: Database, org_id: int, message_id: int) -> str:
    """A mail's sanitised HTML (NotFound outside the organisation, or when it came as plain text)."""
    found = await db.read_one(org_id, "SELECT body_html FROM messages WHERE org_id = $1 AND id = $2 "
                                      "AND body_html IS NOT NULL", org_id, message_id)
    return found["body_html"]
