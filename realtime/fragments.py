"""Event kind → the partials it re-renders and where they swap in.

Each piece is the same partial file the full page includes, wrapped here for an htmx
out-of-band swap; the partial itself knows nothing about pushes. A piece is rendered once
per locale and names its audience (every member, editors, admins, or one person: `user(id)`), so the
hub can send the same bytes to every socket allowed to see it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Awaitable, Callable

from app import (accounts, blocking, canned, channels, conversations, forum_editing, history, notifications, queues,
                 tags)
from app.errors import NotFound
from app.mail import raw
from app.db import Database
from app.templating import render

MEMBERS = "members"  # every member of the organisation, viewers included
EDITORS = "editors"  # editors and admins: what viewers must not see (what a visitor's request told us)
ADMINS = "admins"


def user(user_id: int) -> str:
    """The audience of one person's own pieces (their notification count and list): their sockets alone."""
    return f"user:{user_id}"


@dataclass(frozen=True)
class Piece:
    html: str
    audience: str
    case: int | None = None  # a part of this conversation's page: sent only to sockets showing that page


# Where an event's payload names the conversations whose pages it changes.
CASE_KEYS = ("conversation_id", "new_conversation_id", "merged_id")


def cases_of(event: dict) -> set[int]:
    return {event["payload"][k] for k in CASE_KEYS if isinstance(event["payload"].get(k), int)}


_ROOT_TAG = re.compile(r"^(\s*(?:<!--.*?-->\s*)*<[a-zA-Z][\w-]*)", re.S)


def replace(html: str) -> str:
    """Swap the partial in for the element with the same id."""
    return _ROOT_TAG.sub(r'\1 hx-swap-oob="true"', html, count=1)


def insert(html: str, strategy: str, target_id: str, wrapper: str) -> str:
    """Insert the partial into a container (`afterbegin` / `beforeend`); the wrapper is stripped."""
    return f'<{wrapper} hx-swap-oob="{strategy}:#{target_id}">{html}</{wrapper}>'


def delete(element_id: str) -> str:
    return f'<div id="{element_id}" hx-swap-oob="delete"></div>'


class Renderer:
    """Renders the pieces for one event in one locale, reading the rows as they are now."""

    def __init__(self, db: Database, org_id: int, locale: str, time_zone: str, cases: set[int] | None = None):
        self.db, self.org_id, self.cases = db, org_id, cases
        self.context = {"locale": locale, "time_zone": time_zone}
        # the dashboard's counts follow any event that touched a queue row; "mine" of these assignees
        self.counted, self.assignees = False, set()

    def partial(self, name: str, **values) -> str:
        return render(f"partials/{name}.html", **self.context, **values)

    def shows(self, conversation_id: int) -> bool:
        """Whether this render is for a socket showing the conversation's page (None: for every page)."""
        return self.cases is None or conversation_id in self.cases

    async def channel_strip(self) -> Piece:
        """The dashboard's channel column with each channel's open count (the counts come with it)."""
        self.counted = True
        rows = await channels.list_channels(self.db, self.org_id)
        return Piece(replace(self.partial("dashboard_channels", channels=rows)), MEMBERS)

    async def queue_row(self, conversation_id: int, row=None) -> list[Piece]:
        """The conversation's dashboard row as it is now (read here unless given), the same bytes for every view:
        static/live.js keeps, places or drops it by its list's filter. A spam or vanished one is deleted."""
        row = row or await conversations.find_row(self.db, self.org_id, conversation_id)
        self.counted = True
        if row is None or row["spam"]:
            self.assignees.add(row and row["assignee_id"])
            return [Piece(delete(f"conversation-{conversation_id}"), MEMBERS)]
        self.assignees.add(row["assignee_id"])
        return [Piece(replace(self.partial("queue_row", row=row)), MEMBERS)]

    async def whole_queue(self) -> Piece:
        """The default view's first page (the lists of other views reload themselves when it arrives)."""
        query = queues.Query()
        rows = await queues.page(self.db, self.org_id, None, query)
        return Piece(replace(self.partial("queue", query=query, page=rows, actor=None)), MEMBERS)

    async def counts(self) -> list[Piece]:
        """Each view's count for everyone; "mine" for each person whose count may have changed, to them alone."""
        people = sorted(u for u in self.assignees if u is not None)
        found = await queues.counts(self.db, self.org_id, people)
        pieces = [Piece(replace(self.partial("view_count", view=view, n=n)), MEMBERS) for view, n in found.views.items()]
        return pieces + [Piece(replace(self.partial("view_count", view="mine", n=found.mine[u])), user(u))
                         for u in people]

    async def row_and_part(self, conversation_id: int, partial: str) -> list[Piece]:
        """The conversation's queue row and one part of its page, read once."""
        row = await conversations.find_row(self.db, self.org_id, conversation_id)
        pieces = await self.queue_row(conversation_id, row)
        if row is not None and self.shows(conversation_id):
            pieces.append(Piece(replace(self.partial(partial, row=row)), MEMBERS, conversation_id))
        return pieces

    async def member_row(self, user_id: int) -> Piece:
        member = await accounts.member(self.db, self.org_id, user_id)
        return Piece(replace(self.partial("member_row", member=member)), ADMINS)


async def _channel_created(r: Renderer, p: dict) -> list[Piece]:
    # the list is sorted by kind and name, so a new channel can land anywhere in it
    rows = await channels.list_channels(r.db, r.org_id)
    return [Piece(replace(r.partial("channel_list", channels=rows)), ADMINS), await r.channel_strip()]


async def _channel_updated(r: Renderer, p: dict) -> list[Piece]:
    # name and colour show on every queue row of the channel too
    return [*await _channel_created(r, p), await r.whole_queue()]


async def _member_changed(r: Renderer, p: dict) -> list[Piece]:
    return [await r.member_row(p["user_id"])]


async def _member_joined(r: Renderer, p: dict) -> list[Piece]:
    # former members are listed after the current ones, so a joining or leaving member moves
    members = await accounts.team(r.db, r.org_id)
    return [Piece(replace(r.partial("member_list", members=members)), ADMINS)]


async def _invites_changed(r: Renderer, p: dict) -> list[Piece]:
    invites = await accounts.open_invites(r.db, r.org_id)
    return [Piece(replace(r.partial("invite_list", invites=invites)), ADMINS)]


async def _conversation_created(r: Renderer, p: dict) -> list[Piece]:
    return [*await r.queue_row(p["conversation_id"]), await r.channel_strip()]


async def _conversation_changed(r: Renderer, p: dict) -> list[Piece]:
    return await r.queue_row(p["conversation_id"])


async def _assigned(r: Renderer, p: dict) -> list[Piece]:
    r.assignees.add(p.get("previous_assignee_id"))  # their "mine" count lost one (absent in events before 0021)
    return await r.queue_row(p["conversation_id"])


async def _status_changed(r: Renderer, p: dict) -> list[Piece]:
    return [*await r.queue_row(p["conversation_id"]), await r.channel_strip()]


async def _mail_set_aside(r: Renderer, p: dict) -> list[Piece]:
    mails = await raw.unplaced(r.db, r.org_id)
    return [Piece(replace(r.partial("unplaced_list", mails=mails)), MEMBERS)]


async def _tags_changed(r: Renderer, p: dict) -> list[Piece]:
    groups = await tags.catalogue(r.db, r.org_id)
    return [Piece(replace(r.partial("tag_list", groups=groups)), ADMINS)]


async def _conversation_tags_changed(r: Renderer, p: dict) -> list[Piece]:
    return await r.row_and_part(p["conversation_id"], "conversation_tags")


async def _canned_changed(r: Renderer, p: dict) -> list[Piece]:
    replies = await canned.library(r.db, r.org_id)
    return [Piece(replace(r.partial("canned_list", replies=replies)), MEMBERS)]


async def _follow_up_changed(r: Renderer, p: dict) -> list[Piece]:
    return await r.row_and_part(p["conversation_id"], "conversation_follow_up")


async def _notifications_changed(r: Renderer, p: dict) -> list[Piece]:
    # one person's header count and list, for their sockets alone
    user_id, audience = p["user_id"], user(p["user_id"])
    unread = await notifications.unread_count(r.db, r.org_id, user_id)
    listed = await notifications.of_person(r.db, r.org_id, user_id)
    return [Piece(replace(r.partial("notification_count", unread_notifications=unread)), audience),
            Piece(replace(r.partial("notification_list", notifications=listed)), audience)]


FRAGMENTS: dict[str, Callable[[Renderer, dict], Awaitable[list[Piece]]]] = {
    "channel.created": _channel_created,
    "channel.updated": _channel_updated,
    "member.joined": _member_joined,
    "member.role_changed": _member_changed,
    "member.away_changed": _member_changed,
    "member.invited": _invites_changed,
    "member.invite_accepted": _invites_changed,
    "conversation.created": _conversation_created,
    "message.added": _conversation_changed,
    "conversation.assigned": _assigned,
    "conversation.no_reply_needed": _conversation_changed,
    "conversation.status_changed": _status_changed,
    "mail.set_aside": _mail_set_aside,
    "conversation.tagged": _conversation_tags_changed,
    "conversation.untagged": _conversation_tags_changed,
    "tag.created": _tags_changed,
    "tag.group_created": _tags_changed,
    "canned.changed": _canned_changed,
    "message.delivery_changed": _conversation_changed,
    # accounts that need mail; a removed member's cases are unassigned by their own conversation.assigned
    "member.removed": _member_joined,
    "member.invite_mail_changed": _invites_changed,
    # follow-ups and notifications
    "conversation.follow_up_set": _follow_up_changed,
    "conversation.follow_up_due": _follow_up_changed,
    "notification.created": _notifications_changed,
    "notification.read": _notifications_changed,
}


# --- case tools (issue 7): a case page's head, history and customer list follow its changes --------


async def _case_page(r: Renderer, conversation_id: int, *, customer: bool = False) -> list[Piece]:
    """The case page's state line and history (and the customer's other cases), as they are now."""
    if not r.shows(conversation_id):
        return []
    try:
        case = await history.case(r.db, r.org_id, conversation_id)
    except NotFound:
        return []
    names = ("conversation_head", "conversation_history", *(("customer_cases",) if customer else ()))
    return [*(Piece(replace(r.partial(name, **case)), MEMBERS, conversation_id) for name in names),
            *await _visitor_details(r, case)]


def _and_case_page(fragment):
    async def pieces(r: Renderer, p: dict) -> list[Piece]:
        return [*await fragment(r, p), *await _case_page(r, p["conversation_id"])]
    return pieces


async def _spam_marked(r: Renderer, p: dict) -> list[Piece]:
    # unmarked: back in the dashboard's views, which place the row at its arrival position
    # (a mail case has no forum tools: the case page's section goes)
    return [*await r.queue_row(p["conversation_id"]), await r.channel_strip(),
            *await _case_page(r, p["conversation_id"]), _no_forum_tools(p["conversation_id"])]


async def _split(r: Renderer, p: dict) -> list[Piece]:
    # the new case's queue row comes with its own conversation.created
    return [*await r.queue_row(p["conversation_id"]), *await _case_page(r, p["conversation_id"], customer=True),
            *await _case_page(r, p["new_conversation_id"], customer=True)]


async def _merged(r: Renderer, p: dict) -> list[Piece]:
    return [*await r.queue_row(p["merged_id"]), *await r.queue_row(p["conversation_id"]), await r.channel_strip(),
            *await _case_page(r, p["conversation_id"], customer=True),
            *await _case_page(r, p["merged_id"], customer=True)]


async def _blocked_changed(r: Renderer, p: dict) -> list[Piece]:
    blocked = await blocking.blocked_list(r.db, r.org_id)
    return [Piece(replace(r.partial("blocked_list", blocked=blocked)), ADMINS)]


FRAGMENTS.update({
    "conversation.spam_marked": _spam_marked,
    "conversation.split": _split,
    "conversation.merged": _merged,
    "sender.blocked": _blocked_changed,
    "sender.unblocked": _blocked_changed,
})


async def _voted(r: Renderer, p: dict) -> list[Piece]:
    # the forum (issue 8): the vote count is in the case page's head; public pages are not pushed to
    return await _case_page(r, p["conversation_id"])


FRAGMENTS["forum.voted"] = _voted

# What the case page's timeline shows (app/history.py) re-renders it too, follow-ups included.
# Messages (a reply, a mail, a note), their delivery and "no reply needed" show in the case's history too.
CASE_PAGE_MESSAGE_KINDS = ("message.added", "message.delivery_changed", "conversation.no_reply_needed")
for _kind in [k for k in FRAGMENTS if k in history.FROM_OTHER_FEATURES or k in CASE_PAGE_MESSAGE_KINDS
              or k.startswith(history.FOLLOW_UP_PREFIX)]:
    FRAGMENTS[_kind] = _and_case_page(FRAGMENTS[_kind])

# The customer barometer (issue 10): a message's label shows in the case's history, the latest one in its head,
# and the conversation's on its queue row.
FRAGMENTS["message.scored"] = _and_case_page(_conversation_changed)
FRAGMENTS["message.sentiment_corrected"] = _and_case_page(_conversation_changed)


# --- the forum's editor workflow (issue 8) ----------------------------------------------------------------


async def _visitor_details(r: Renderer, case: dict) -> list[Piece]:
    """What visitors' requests told us (e-mail, browser, page) fills the history's placeholders for editors
    alone: the members' history carries none of it."""
    shown = [m for m in case["messages"] if m["visitor"]]
    if not shown:
        return []
    return [Piece("".join(replace(r.partial("forum_visitor", m=m)) for m in shown), EDITORS, case["row"]["id"])]


async def _forum_tools(r: Renderer, conversation_id: int) -> list[Piece]:
    if not r.shows(conversation_id):
        return []
    tools = await forum_editing.tools(r.db, r.org_id, conversation_id)
    return [Piece(replace(r.partial("forum_thread_tools", forum_tools=tools)), MEMBERS, conversation_id)]


def _no_forum_tools(conversation_id: int) -> Piece:
    """A mail case has no forum tools: the case page's section goes."""
    return Piece(delete(f"conversation-{conversation_id}-forum"), MEMBERS, conversation_id)


async def _forum_accepted(r: Renderer, p: dict) -> list[Piece]:
    return await _case_page(r, p["conversation_id"])


async def _forum_edited(r: Renderer, p: dict) -> list[Piece]:
    # the headline shows on the dashboard's row and atop the case page; the text in its history
    row = await conversations.find_row(r.db, r.org_id, p["conversation_id"])
    pieces = await r.queue_row(p["conversation_id"], row)
    if row is not None and r.shows(row["id"]):
        pieces.append(Piece(replace(r.partial("conversation_subject", row=row)), MEMBERS, row["id"]))
    return [*pieces, *await _case_page(r, p["conversation_id"]), *await _forum_tools(r, p["conversation_id"])]


async def _forum_pinned(r: Renderer, p: dict) -> list[Piece]:
    return await _forum_tools(r, p["conversation_id"])


FRAGMENTS.update({
    "forum.accepted": _forum_accepted,
    "forum.edited": _forum_edited,
    "forum.pinned": _forum_pinned,
})


async def render_event(db: Database, event: dict, locale: str, time_zone: str,
                       cases: set[int] | None = None) -> list[Piece]:
    """The out-of-band pieces that bring a page rendered before `event` up to date: the pages of the
    conversations in `cases` among them (of every conversation the event touches, if None)."""
    renderer = Renderer(db, event["org_id"], locale, time_zone, cases)
    pieces = await FRAGMENTS[event["kind"]](renderer, event["payload"])
    return pieces + (await renderer.counts() if renderer.counted else [])


# --- forum moves (issue 8) ----------------------------------------------------------------------------


async def _moved(r: Renderer, p: dict) -> list[Piece]:
    # a thread moved to a mailbox: its queue row (channel and colour), each channel's open count, the case page
    # (a mail case has no forum tools: the case page's section goes)
    return [*await r.queue_row(p["conversation_id"]), await r.channel_strip(),
            *await _case_page(r, p["conversation_id"]), _no_forum_tools(p["conversation_id"])]


async def _published(r: Renderer, p: dict) -> list[Piece]:
    # the new thread's row and count come with its own conversation.created; the case shows where it went
    return await _case_page(r, p["conversation_id"])


FRAGMENTS.update({"conversation.moved": _moved, "conversation.published": _published})


# The dashboard (issue 9): its bulk form's choice of assignees follows the team.
def _and_assignees(fragment):
    async def pieces(r: Renderer, p: dict) -> list[Piece]:
        editors = await accounts.editors(r.db, r.org_id)
        return [*await fragment(r, p), Piece(replace(r.partial("bulk_assignees", editors=editors)), MEMBERS)]
    return pieces


for _kind in ("member.joined", "member.removed", "member.role_changed"):
    FRAGMENTS[_kind] = _and_assignees(FRAGMENTS[_kind])
