"""Who acts, and what each kind of actor may do.

Domain functions take the acting party and check it here, so a new route, worker or sweep
cannot forget the check. A member acts with their role in one organisation (taken from the
session, never the request); the system (SMTP ingress, workers, sweeps) and an anonymous
forum visitor act in one organisation too, and may do exactly what they need.
"""
from __future__ import annotations

from dataclasses import dataclass

from app.errors import Forbidden

ADMIN, EDITOR, VIEWER = "admin", "editor", "viewer"
ROLES = (ADMIN, EDITOR, VIEWER)
SYSTEM, VISITOR = "system", "visitor"

# action → the kinds of actor allowed to do it (a member's kind is their role)
ALLOWED: dict[str, frozenset[str]] = {
    "conversation.open": frozenset({SYSTEM, VISITOR}),  # mail arrives, a visitor posts
    "conversation.set_status": frozenset({ADMIN, EDITOR, SYSTEM}),  # sweeps reopen and close too
    "conversation.assign": frozenset({ADMIN, EDITOR}),
    "conversation.no_reply_needed": frozenset({ADMIN, EDITOR}),
    "message.add": frozenset({ADMIN, EDITOR, SYSTEM, VISITOR}),  # which kinds: MESSAGE_KINDS below
    "conversation.tag": frozenset({ADMIN, EDITOR}),
    "canned.manage": frozenset({ADMIN, EDITOR}),
    "tag.manage": frozenset({ADMIN}),
    "member.manage": frozenset({ADMIN}),
    "channel.manage": frozenset({ADMIN}),
    # follow-ups and notifications (issue 7): editors set follow-ups; everyone reads their own notifications
    "conversation.follow_up": frozenset({ADMIN, EDITOR}),
    "notification.read": frozenset({ADMIN, EDITOR, VIEWER}),
    # case tools (issue 7): spam, blocked senders, split and merge, automatic assignment
    "conversation.spam": frozenset({ADMIN, EDITOR}),
    "conversation.split": frozenset({ADMIN, EDITOR}),
    "conversation.merge": frozenset({ADMIN, EDITOR}),
    "conversation.auto_assign": frozenset({SYSTEM}),  # a new mail case, by the mailbox's rule
    "sender.block": frozenset({ADMIN, EDITOR}),
    "sender.unblock": frozenset({ADMIN}),
    # the reply composer (issue 7): drafts, new mails, sending a failed reply again
    "draft.write": frozenset({ADMIN, EDITOR}),
    "conversation.start": frozenset({ADMIN, EDITOR}),  # a new mail to a customer opens a case
    "message.resend": frozenset({ADMIN, EDITOR}),
    # forum moves (issue 8): a thread to private mail and a case to the forum; a visitor's address and follows
    "forum.move": frozenset({ADMIN, EDITOR}),
    "forum.publish": frozenset({ADMIN, EDITOR}),
    "forum.follow": frozenset({VISITOR}),  # "notify me of answers", and stopping it by the mail's link
    "visitor.confirm": frozenset({VISITOR}),  # by the link mailed to the address
    # the customer barometer (issue 10): every member reads it; editors correct a message's score
    "barometer.read": frozenset({ADMIN, EDITOR, VIEWER}),
    "message.correct_sentiment": frozenset({ADMIN, EDITOR}),
    # the dashboard (issue 9): assign, tag or close many conversations at once
    "conversation.bulk": frozenset({ADMIN, EDITOR}),
    # the forum's editor workflow (issue 8): accept answers, comment, edit and pin threads; the weekly review
    "forum.edit": frozenset({ADMIN, EDITOR}),
    "forum.review": frozenset({ADMIN}),
    # statistics (issue 10): every member reads them
    "stats.read": frozenset({ADMIN, EDITOR, VIEWER}),
}

# the kinds of message each kind of actor may write
MESSAGE_KINDS: dict[str, frozenset[str]] = {
    ADMIN: frozenset({"editor", "note", "comment"}),
    EDITOR: frozenset({"editor", "note", "comment"}),
    SYSTEM: frozenset({"customer"}),  # a customer's mail, stored by the ingress
    VISITOR: frozenset({"customer", "comment"}),  # a forum post or a comment on an answer
}

# the only kind of conversation a non-member may write to: mail for the system, forum for visitors
CONVERSATION_KIND = {SYSTEM: "mail", VISITOR: "forum"}


@dataclass(frozen=True)
class Actor:
    """A member acting in one organisation with their role there."""

    user_id: int
    org_id: int
    role: str
    name: str
    email: str
    locale: str
    org_name: str
    time_zone: str
    away: bool = False

    @property
    def kind(self) -> str:
        return self.role

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def can_edit(self) -> bool:
        return self.role in (ADMIN, EDITOR)


@dataclass(frozen=True)
class System:
    """The product itself in one organisation: the SMTP ingress, a worker job, a sweep."""

    org_id: int
    process: str = "system"
    kind = SYSTEM
    user_id = None


@dataclass(frozen=True)
class Visitor:
    """Someone on the public forum, not logged in."""

    org_id: int
    name: str = ""
    email: str | None = None
    kind = VISITOR
    user_id = None


AnyActor = Actor | System | Visitor


def may(actor: AnyActor, action: str) -> bool:
    return actor.kind in ALLOWED[action]


def require(actor: AnyActor, action: str) -> None:
    """Refuse (Forbidden) what this kind of actor may not do."""
    if not may(actor, action):
        raise Forbidden()


def require_message_kind(actor: AnyActor, message_kind: str, conversation_kind: str) -> None:
    require(actor, "message.add")
    if message_kind not in MESSAGE_KINDS[actor.kind]:
        raise Forbidden()
    if CONVERSATION_KIND.get(actor.kind, conversation_kind) != conversation_kind:
        raise Forbidden()
