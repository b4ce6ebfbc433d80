"""The event catalogue: every kind the write path may append, with its payload fields.

Payloads carry ids and what changed, never HTML; `realtime/fragments.py` says what each kind
re-renders. Domain code appends events through `Tx.emit`, which checks them against this list.
"""
from __future__ import annotations

KINDS: dict[str, tuple[str, ...]] = {
    # accounts and the organisation's set-up
    "member.joined": ("user_id", "role"),
    "member.role_changed": ("user_id", "role", "actor_id"),
    "member.away_changed": ("user_id", "away", "actor_id"),
    "member.invited": ("invite_id", "actor_id"),
    "member.invite_accepted": ("invite_id", "user_id"),
    "channel.created": ("channel_id", "actor_id"),
    "channel.updated": ("channel_id", "actor_id"),
    # conversations
    "conversation.created": ("conversation_id", "channel_id"),
    "message.added": ("conversation_id", "message_id", "message_kind"),
    "conversation.status_changed": ("conversation_id", "status", "actor_id"),
    "conversation.assigned": ("conversation_id", "assignee_id", "actor_id"),
    "conversation.no_reply_needed": ("conversation_id", "message_id", "actor_id"),
    # a reply's mail: queued, sent, retrying or failed (app/mail/outgoing.py)
    "message.delivery_changed": ("conversation_id", "message_id", "state"),
    "conversation.tagged": ("conversation_id", "tag_id", "actor_id"),
    "conversation.untagged": ("conversation_id", "tag_id", "actor_id"),
    "tag.created": ("tag_id", "actor_id"),
    "tag.group_created": ("group_id", "actor_id"),
    "canned.changed": ("canned_reply_id", "actor_id"),  # added or removed
    # mail
    "mail.set_aside": ("raw_mail_id", "state"),  # unreadable, or an auto-reply with no case
    # accounts that need mail: removing a member; an invite's mail queued, sent, retrying or failed
    "member.removed": ("user_id", "actor_id"),
    "member.invite_mail_changed": ("invite_id", "state"),
    # follow-ups and notifications (app/followups.py, app/notifications.py); follow_up_at None: cleared
    "conversation.follow_up_set": ("conversation_id", "follow_up_at", "actor_id"),
    "conversation.follow_up_due": ("conversation_id", "follow_up_at"),  # the sweep, once per follow-up
    "notification.created": ("notification_id", "user_id", "conversation_id", "reason"),
    "notification.read": ("user_id", "notification_id"),  # notification_id None: all of them
    # case tools (app/case_tools.py, app/blocking.py)
    "conversation.spam_marked": ("conversation_id", "spam", "actor_id"),  # marked, or unmarked (spam false)
    "conversation.split": ("conversation_id", "new_conversation_id", "message_id", "actor_id"),
    "conversation.merged": ("conversation_id", "merged_id", "actor_id"),  # merged_id's messages moved into it
    "sender.blocked": ("block_id", "actor_id"),
    "sender.unblocked": ("block_id", "actor_id"),
    # the public forum (issue 8): a visitor's "me too" on an idea or problem (the voter is not in the log)
    "forum.voted": ("conversation_id",),
    # forum moves (app/forum_moves.py): a thread moved to a mailbox (the same conversation); a mail case
    # published as a new public thread
    "conversation.moved": ("conversation_id", "channel_id", "from_channel_id", "actor_id"),
    "conversation.published": ("conversation_id", "thread_id", "actor_id"),
    # the customer barometer (issue 10): a customer message scored (label None: a language not scored), and an
    # editor's correction of its label (label None: back to the machine's)
    "message.scored": ("conversation_id", "message_id", "label"),
    "message.sentiment_corrected": ("conversation_id", "message_id", "label", "actor_id"),
    # the forum's editor workflow (issue 8): the accepted answer (message_id None: none now), a thread's
    # headline and text edited (its earlier version kept as the revision), pinned, unpinned or moved
    "forum.accepted": ("conversation_id", "message_id", "actor_id"),
    "forum.edited": ("conversation_id", "revision_id", "actor_id"),
    "forum.pinned": ("conversation_id", "channel_id", "pinned", "actor_id"),
}


class UnknownEvent(ValueError):
    pass


def check(kind: str, payload: dict) -> None:
    """Refuse an event whose kind is not in the catalogue or whose payload lacks a field."""
    fields = KINDS.get(kind)
    if fields is None:
        raise UnknownEvent(f"event kind {kind!r} is not in app/events.py")
    missing = [f for f in fields if f not in payload]
    if missing:
        raise UnknownEvent(f"event {kind!r} lacks payload fields {missing}")
