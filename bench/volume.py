"""Volume: fill a throwaway database with years of one organisation's conversations, fast.

    .venv/bin/python -m bench.volume --conversations 100000 --check
    .venv/bin/python -m bench.volume --owner-url postgresql://samsyn@127.0.0.1:PORT/samsyn --conversations 1000000

Without --owner-url it starts its own PostgreSQL and Redis in a temporary directory (like the
tests), fills, prints the counts and the time taken, and removes them again: a dry run that
times the generator. With --owner-url it fills that database, which must be migrated and must
be a throwaway: nothing else may write to it meanwhile.

The small set-up (organisation, people, channels) goes through the domain functions, so its
events are what real use writes. The bulk (customers, conversations, messages, events) is
planned here, conversation by conversation, from the hand-written demo threads of
app/demo_content.py, and loaded with COPY as the tables' owner (row-level security does not
bind the owner). The rows are what the domain functions would have written: every change has
its event with the organisation's next seq, in time order; last_event_seq and last_case_number
match; needs_reply, first_response_at and last_message_at follow from the messages. (Filling an
organisation that already has events, with --org-id, puts the added history after them in seq.)

One function per table group: `_customer`, `_conversation` (with its status history and
assignment), `_message`, `_event`, and a column list per table beside them. A later feature
(tags, sentiment, forum answers) adds its rows the same way and its table to TABLES.
"""
from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import accumulate
from datetime import datetime, timedelta, timezone

import asyncpg

from app import accounts, channels, tags
from app import events as event_catalogue
from app.db import Database
from app.demo_content import DEMO_TAG_GROUPS, HOUR_WEIGHTS, demo_conversations

PASSWORD = "samsyn-volume"
ORG_NAME = "Volym AB"
DAY = 86400.0
STATS_TABLES = "stats_conversations, stats_daily, stats_spans"  # the roll-ups, counted once at the end

# The people of a generated organisation: (key, name, role). Lena is the admin, Viktor only reads.
PEOPLE = [
    ("lena", "Lena Holm", "admin"),
    ("anna", "Anna Lind", "editor"),
    ("bjorn", "Björn Ek", "editor"),
    ("karin", "Karin Berg", "editor"),
    ("omar", "Omar Haddad", "editor"),
    ("sara", "Sara Nyström", "editor"),
    ("johan", "Johan Sjöberg", "editor"),
    ("elin", "Elin Åberg", "editor"),
    ("mikael", "Mikael Strand", "editor"),
    ("ingrid", "Ingrid Solberg", "editor"),
    ("viktor", "Viktor Sand", "viewer"),
]

# Six channels: (kind, name, colour, address or slug stem, share of conversations, demo threads used).
# Demo threads come from three demo channels: info (mail), sv_forum and no_forum.
CHANNELS = [
    ("mailbox", "info@", "green", "info", 30, ("info",)),
    ("mailbox", "Beställningar", "orange", "order", 15, ("info",)),
    ("mailbox", "Företag", "slate", "foretag", 5, ("info",)),
    ("forum", "Kundservice SV", "blue", "kundservice-sv", 26, ("sv_forum",)),
    ("forum", "Tips och idéer", "purple", "tips", 9, ("sv_forum",)),
    ("forum", "Kundservice NO", "red", "kundservice-no", 15, ("no_forum",)),
]

# Chance that a conversation is still open, by age in days; older ones get the floor that makes
# the organisation's share of open conversations come out as asked (a backlog, as in real teams).
OPEN_BY_AGE = ((2, 0.8), (7, 0.45), (30, 0.15))
WAITING_SHARE = 0.08  # closed-or-waiting mail that waits for the customer
HIDDEN_SHARE = 0.02  # forum threads a moderator hid
CUSTOMERS_PER_CONVERSATION = 0.75  # distinct identities drawn from; about 0.55 end up used

# Column lists per table, in the order the row tuples below are built.
CUSTOMER_COLUMNS = ("id", "org_id", "name", "email", "created_at")
CONVERSATION_COLUMNS = ("id", "org_id", "case_number", "channel_id", "kind", "customer_id", "subject", "status",
                        "assignee_id", "needs_reply", "first_response_at", "visitor", "created_at", "updated_at",
                        "last_message_at")
MESSAGE_COLUMNS = ("id", "org_id", "conversation_id", "kind", "author_id", "customer_id", "body_text", "language",
                   "no_reply_needed", "created_at")
EVENT_COLUMNS = ("org_id", "seq", "kind", "payload", "created_at")
TAG_COLUMNS = ("org_id", "conversation_id", "tag_id")
TABLES = {  # loaded in this order: each only points at rows of the tables before it
    "customers": CUSTOMER_COLUMNS,
    "conversations": CONVERSATION_COLUMNS,
    "conversation_tags": TAG_COLUMNS,
    "messages": MESSAGE_COLUMNS,
    "events": EVENT_COLUMNS,
}

# What happens to a conversation, in the order of the heap that sorts it into time.
CREATED, MESSAGE, NO_REPLY, ASSIGNED, STATUS, TAGGED = range(6)
EVENT_FIELDS = {
    "conversation.created": ("conversation_id", "channel_id"),
    "message.added": ("conversation_id", "message_id", "message_kind"),
    "conversation.no_reply_needed": ("conversation_id", "message_id", "actor_id"),
    "conversation.assigned": ("conversation_id", "assignee_id", "actor_id"),
    "conversation.status_changed": ("conversation_id", "status", "actor_id"),
}


@dataclass
class Org:
    """The organisation to fill: its channels (with the demo threads each takes) and its editors."""

    org_id: int
    admin_id: int
    admin_email: str
    editor_ids: list[int]
    channels: list[tuple[int, str, int, tuple[str, ...]]]  # (channel id, kind, share, demo threads)
    tag_ids: dict[str, int]  # the demo's tags (app/demo_content.py DEMO_TAG_GROUPS) by name


@dataclass
class Volume:
    org_id: int
    admin_email: str
    password: str | None  # None for an organisation made elsewhere
    rows: dict[str, int]
    first_seq: int  # the first event this fill appended
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Thread:
    """A resolved demo thread, the text source of generated conversations."""

    group: str  # the demo channel it was written for
    mail: bool
    subject: str
    customer_name: str
    customer_email: str
    language: str
    visitor: str | None  # JSON
    assignee: str | None  # demo editor key: anna, bjorn or lena
    messages: tuple[tuple[str, str, int, str], ...]  # (author key, kind, seconds after start, text)
    no_reply_needed: bool  # the last message is a customer's "thanks, solved"
    open_cuts: tuple[int, ...]  # message counts at which the thread can be open
    waiting_cuts: tuple[int, ...]  # message counts ending with an editor's public reply
    tags: tuple[str, ...]  # the demo's topic tags for this thread


def threads(seed: int) -> dict[str, list[Thread]]:
    """The demo generator's finished threads, by demo channel (deterministic for a seed)."""
    result: dict[str, list[Thread]] = {}
    for conv in demo_conversations(datetime(2026, 1, 1, tzinfo=timezone.utc), count=4000, seed=seed):
        if conv.status == "open":
            continue  # cut short by the demo's clock; open threads are cut from finished ones here
        messages = tuple((m.author, m.kind, m.minutes_after_start * 60, m.text) for m in conv.messages)
        mail = conv.channel == "info"
        open_cuts, waiting_cuts = [], []
        for k in range(1, len(messages) + 1):
            public = [m for m in messages[:k] if m[1] != "note"]
            if mail and public[-1][0] == "customer" or not mail and messages[k - 1][1] != "note":
                open_cuts.append(k)
            if mail and messages[k - 1][0] != "customer" and messages[k - 1][1] == "editor":
                waiting_cuts.append(k)
        result.setdefault(conv.channel, []).append(Thread(
            conv.channel, mail, conv.subject, conv.customer_name, conv.customer_email, conv.language,
            json.dumps(conv.visitor, ensure_ascii=False) if conv.visitor else None, conv.assignee, messages,
            conv.no_reply_needed, tuple(open_cuts), tuple(waiting_cuts), tuple(conv.tags)))
    return result


def arrival_times(rng: random.Random, n: int, now: float, years: float) -> list[float]:
    """n creation times (epoch seconds, ascending) over the last `years`: office hours, quieter
    weekends, and a business that grew by two thirds over the period."""
    days = max(1, int(years * 365))
    first_midnight = (now + 3600) // DAY * DAY - 3600 - (days - 1) * DAY  # Stockholm midnight, winter time
    weights = []
    for d in range(days):
        weekday = datetime.fromtimestamp(first_midnight + d * DAY + 7200, timezone.utc).weekday()
        weights.append((0.6 + 0.4 * d / days) * (0.6 if weekday >= 5 else 1.0))
    hours, hour_weights = list(HOUR_WEIGHTS), list(HOUR_WEIGHTS.values())
    times: list[float] = []
    per_day = Counter(rng.choices(range(days), weights=weights, k=n))
    for d in range(days):
        start = first_midnight + d * DAY
        day = [start + (h - 1) * 3600 + rng.random() * 3600
               for h in rng.choices(hours, weights=hour_weights, k=per_day[d])]
        # today's later hours have not happened yet: they fall earlier today instead
        day = [t if t <= now else now - rng.random() * max(1.0, now - start) for t in day]
        times.extend(sorted(day))
    return times


class Generator:
    """Plans conversations in creation order and releases their happenings in time order.

    Each conversation is decided whole when it is created (status, cut, assignee, derived
    fields); its messages and events wait in a heap and come out when the clock, i.e. the
    next conversation's creation time, passes them, so ids and seqs follow time."""

    def __init__(self, org: Org, *, conversations: int, now: datetime, years: float, open_share: float,
                 seed: int, next_ids: dict[str, int], taken_emails: set[str]):
        self.org = org
        self.rng = random.Random(seed)
        self.now = now.timestamp()
        self.times = arrival_times(self.rng, conversations, self.now, years)
        self.floor = self._open_floor(open_share)
        pools = threads(seed)
        self.channels = [(channel_id, kind, [t for g in groups for t in pools.get(g, [])])
                         for channel_id, kind, _, groups in org.channels]
        self.channel_weights = list(accumulate(share for _, _, share, _ in org.channels))
        emails = {t.customer_email for pool in pools.values() for t in pool}
        self.variants = max(1, round(CUSTOMERS_PER_CONVERSATION * conversations / len(emails)))
        self.customers: dict[tuple[str, int], int] = {}
        self.taken_emails = taken_emails
        self.next = dict(next_ids)  # customer, conversation, message, case_number, seq
        self.heap: list = []
        self.pushed = 0
        self.rows: dict[str, list] = {table: [] for table in TABLES}

    def _open_floor(self, open_share: float) -> float:
        recent = 0.0
        old = 0
        for t in self.times:
            age = (self.now - t) / DAY
            p = next((p for limit, p in OPEN_BY_AGE if age < limit), None)
            if p is None:
                old += 1
            else:
                recent += p
        return min(1.0, max(0.0, (open_share * len(self.times) - recent) / old)) if old else 0.0

    def batches(self, size: int):
        """Rows per table, `size` conversations at a time; the last batch releases everything left."""
        for start in range(0, len(self.times), size):
            for created in self.times[start:start + size]:
                self._release(created)
                self._conversation(created)
            if start + size >= len(self.times):
                self._release(float("inf"))
            rows, self.rows = self.rows, {table: [] for table in TABLES}
            yield rows

    # --- customers ---------------------------------------------------------------------------

    def _customer(self, thread: Thread, created: float) -> int:
        """A returning customer now and then: identities are the demo's, times a few variants."""
        key = (thread.customer_email, self.rng.randrange(self.variants))
        customer_id = self.customers.get(key)
        if customer_id is None:
            customer_id = self.customers[key] = self._take("customer")
            local, domain = thread.customer_email.split("@")
            email, n = thread.customer_email if key[1] == 0 else f"{local}_{key[1]}@{domain}", key[1]
            while email in self.taken_emails:  # an organisation filled before keeps its customers
                n += self.variants
                email = f"{local}_{n}@{domain}"
            self.taken_emails.add(email)
            self.rows["customers"].append((customer_id, self.org.org_id, thread.customer_name, email, _at(created)))
        return customer_id

    # --- conversations, their status history and assignment ----------------------------------

    def _conversation(self, created: float) -> None:
        rng = self.rng
        channel_id, kind, pool = rng.choices(self.channels, cum_weights=self.channel_weights)[0]
        t = rng.choice(pool)
        people = dict(zip(("anna", "bjorn", "lena"), rng.choices(self.org.editor_ids, k=3), strict=True))
        status, messages = self._progress(t, created)
        conversation_id, case_number = self._take("conversation"), self._take("case_number")
        customer_id = self._customer(t, created)
        happenings = [(created, 0, CREATED, (conversation_id, channel_id))]

        # Messages, a "no reply needed" mark on a closing "thanks", and the fields derived from them.
        last_at = messages[-1][0]
        marked = None
        if t.no_reply_needed and len(messages) == len(t.messages) and last_at + 3600 <= self.now:
            marked = len(messages) - 1
        first_response_at = needs_reply = None
        cells = []
        for i, (at, author, m_kind, text) in enumerate(messages):
            customer = author == "customer"
            cell = [None, conversation_id, m_kind, None if customer else people[author],
                    customer_id if customer else None, text, t.language if customer else None, i == marked]
            cells.append(cell)
            happenings.append((at, 1, MESSAGE, cell))
            if not customer and m_kind in ("editor", "comment") and first_response_at is None:
                first_response_at = at
            if m_kind != "note":
                needs_reply = customer and m_kind in ("customer", "comment") and i != marked
        if marked is not None:
            happenings.append((last_at + rng.uniform(60, 3600), 2, NO_REPLY,
                               (conversation_id, cells[marked], people["anna"])))

        assignee = self._assignment(t, people, created, first_response_at, conversation_id, happenings)
        # Most cases get their topic tags from whoever answered first, a little after it arrived.
        if t.tags and rng.random() < 0.8:
            for name in t.tags:
                tag_id = self.org.tag_ids.get(name)
                at = min(self.now, created + rng.uniform(60, 4 * 3600))
                if tag_id is not None:
                    happenings.append((at, 5, TAGGED, (conversation_id, tag_id, assignee or people["anna"])))
        self._status_history(status, messages, assignee or people["anna"], conversation_id, happenings)

        happenings.sort(key=lambda h: (h[0], h[1]))
        for h in happenings:
            heapq.heappush(self.heap, (h[0], self.pushed, h[2], h[3]))
            self.pushed += 1
        self.rows["conversations"].append((
            conversation_id, self.org.org_id, case_number, channel_id, "mail" if kind == "mailbox" else "forum",
            customer_id, t.subject, status, assignee, bool(needs_reply),
            _at(first_response_at) if first_response_at is not None else None, t.visitor, _at(created),
            _at(happenings[-1][0]), _at(last_at),
        ))

    def _progress(self, t: Thread, created: float) -> tuple[str, list[tuple[float, str, str, str]]]:
        """The status and the messages so far: open threads are cut where the customer (in a forum:
        anyone) spoke last; finished ones run to the end, unless that end lies in the future."""
        rng, age = self.rng, (self.now - created) / DAY
        if rng.random() < next((p for limit, p in OPEN_BY_AGE if age < limit), self.floor):
            status = "open"
            cut = t.open_cuts[0] if age < 3 and rng.random() < 0.7 else rng.choice(t.open_cuts)
        elif t.mail:
            waiting = t.waiting_cuts and rng.random() < WAITING_SHARE
            status, cut = ("waiting", rng.choice(t.waiting_cuts)) if waiting else ("closed", len(t.messages))
        else:
            status = "hidden" if rng.random() < HIDDEN_SHARE else "archived"
            cut = 1 if status == "hidden" else len(t.messages)
        messages = [(created + seconds, author, kind, text)
                    for author, kind, seconds, text in t.messages[:cut] if created + seconds <= self.now]
        if len(messages) < cut and status != "open":
            last = messages[-1]
            status = "waiting" if t.mail and last[1] != "customer" and last[2] == "editor" else "open"
        return status, messages

    def _assignment(self, t: Thread, people: dict, created: float, first_response_at: float | None,
                    conversation_id: int, happenings: list) -> int | None:
        """The assignee, if any: set just before the first reply, or some time after arrival."""
        rng = self.rng
        if not t.assignee or first_response_at is None and rng.random() >= (0.35 if t.mail else 0.1):
            return None
        if first_response_at is not None:
            at = max(created + 1, first_response_at - rng.uniform(60, 1800))
        else:
            at = created + rng.uniform(300, 7200)
        if at > self.now:
            return None
        assignee = people[t.assignee]
        actor = self.org.admin_id if rng.random() < 0.5 else assignee  # the team lead, or self-assigned
        happenings.append((at, 3, ASSIGNED, (conversation_id, assignee, actor)))
        return assignee

    def _status_history(self, status: str, messages: list, actor: int, conversation_id: int,
                        happenings: list) -> None:
        """The status changes that led to `status`: half the closed mail waited for the customer on the way."""
        rng, last_at = self.rng, messages[-1][0]
        if status == "closed":
            for i, (at, author, kind, _) in enumerate(messages[:-1]):
                if author != "customer" and kind == "editor":
                    if rng.random() < 0.5:
                        waited = min(at + rng.uniform(30, 600), messages[i + 1][0] - 1)
                        happenings.append((waited, 4, STATUS, (conversation_id, "waiting", actor)))
                    break
            happenings.append((min(self.now, last_at + rng.uniform(300, 2 * DAY)), 4, STATUS,
                               (conversation_id, "closed", actor)))
        elif status == "waiting":
            happenings.append((min(self.now, last_at + rng.uniform(30, 1800)), 4, STATUS,
                               (conversation_id, "waiting", actor)))
        elif status in ("archived", "hidden"):
            happenings.append((min(self.now, last_at + rng.uniform(600, 3 * DAY)), 4, STATUS,
                               (conversation_id, status, actor)))

    # --- messages and events -----------------------------------------------------------------

    def _release(self, until: float) -> None:
        """Write out, in time order, everything that happened before `until`."""
        heap = self.heap
        while heap and heap[0][0] <= until:
            at, _, what, data = heapq.heappop(heap)
            if what == MESSAGE:
                self._message(at, data)
                self._event(at, "message.added", f'{{"conversation_id": {data[1]}, "message_id": {data[0]}, '
                                                 f'"message_kind": "{data[2]}"}}')
            elif what == CREATED:
                self._event(at, "conversation.created", f'{{"conversation_id": {data[0]}, "channel_id": {data[1]}}}')
            elif what == NO_REPLY:
                self._event(at, "conversation.no_reply_needed", f'{{"conversation_id": {data[0]}, '
                                                                f'"message_id": {data[1][0]}, "actor_id": {data[2]}}}')
            elif what == TAGGED:
                self.rows["conversation_tags"].append((self.org.org_id, data[0], data[1]))
                self._event(at, "conversation.tagged", f'{{"conversation_id": {data[0]}, "tag_id": {data[1]}, '
                                                       f'"actor_id": {data[2]}}}')
            elif what == ASSIGNED:
                self._event(at, "conversation.assigned", f'{{"conversation_id": {data[0]}, "assignee_id": {data[1]}, '
                                                         f'"actor_id": {data[2]}}}')
            else:
                self._event(at, "conversation.status_changed", f'{{"conversation_id": {data[0]}, '
                                                               f'"status": "{data[1]}", "actor_id": {data[2]}}}')

    def _message(self, at: float, cell: list) -> None:
        cell[0] = message_id = self._take("message")
        _, conversation_id, kind, author_id, customer_id, text, language, no_reply_needed = cell
        self.rows["messages"].append((message_id, self.org.org_id, conversation_id, kind, author_id, customer_id,
                                      text, language, no_reply_needed, _at(at)))

    def _event(self, at: float, kind: str, payload: str) -> None:
        self.rows["events"].append((self.org.org_id, self._take("seq"), kind, payload, _at(at)))

    def _take(self, counter: str) -> int:
        value = self.next[counter]
        self.next[counter] = value + 1
        return value


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _at(epoch_seconds: float) -> datetime:
    return _EPOCH + timedelta(seconds=epoch_seconds)


# --- set-up through the domain --------------------------------------------------------------


async def _jsonb(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_organization(owner_url: str, name: str = ORG_NAME) -> Org:
    """A new organisation with PEOPLE and CHANNELS, made by the domain functions (argon2 and all)."""
    pool = await asyncpg.create_pool(owner_url, min_size=1, max_size=2, init=_jsonb)
    db = Database(pool, None)
    try:
        org_id = await accounts.create_organization(db, name)
        domain = f"org{org_id}.volym.samsyn.se"
        ids = {}
        for key, person, role in PEOPLE:
            ids[key] = await accounts.create_user(db, f"{key}@{domain}", person, PASSWORD)
            await accounts.add_member(db, org_id, ids[key], role)
        admin = accounts.Actor(ids["lena"], org_id, "admin", "Lena Holm", f"lena@{domain}", "sv", name,
                               "Europe/Stockholm")
        channel_rows = []
        for kind, channel_name, colour, stem, share, groups in CHANNELS:
            address = f"{stem}@{domain}" if kind == "mailbox" else f"{stem}-{org_id}"
            channel_id = await channels.create_channel(db, admin, kind=kind, name=channel_name, colour=colour,
                                                       address=address)
            channel_rows.append((channel_id, kind, share, groups))
        tag_ids = {}
        for group, names in DEMO_TAG_GROUPS.items():
            group_id = await tags.create_group(db, admin, group)
            for tag_name in names:
                tag_ids[tag_name] = await tags.create_tag(db, admin, tag_name, group_id)
    finally:
        await pool.close()
    editors = [ids[key] for key, _, role in PEOPLE if role != "viewer"]
    return Org(org_id, ids["lena"], f"lena@{domain}", editors, channel_rows, tag_ids)


async def existing_organization(conn: asyncpg.Connection, org_id: int) -> Org:
    """An organisation made elsewhere: mailboxes take the demo's mail, forums its forum threads."""
    members = await conn.fetch(
        """SELECT m.user_id, m.role, u.email FROM memberships m JOIN users u ON u.id = m.user_id
           WHERE m.org_id = $1 ORDER BY m.role <> 'admin', m.user_id""", org_id)
    editors = [r["user_id"] for r in members if r["role"] != "viewer"]
    found = await conn.fetch("SELECT id, kind FROM channels WHERE org_id = $1 ORDER BY id", org_id)
    if not editors or members[0]["role"] != "admin" or not found:
        raise SystemExit(f"organisation {org_id} needs an admin, an editor and a channel to be filled")
    groups = {"mailbox": ("info",), "forum": ("sv_forum", "no_forum")}
    tag_ids = {r["name"]: r["id"] for r in await conn.fetch("SELECT id, name FROM tags WHERE org_id = $1", org_id)}
    return Org(org_id, members[0]["user_id"], members[0]["email"], editors,
               [(r["id"], r["kind"], 1, groups[r["kind"]]) for r in found], tag_ids)


# --- the bulk, with COPY ----------------------------------------------------------------------

SEQUENCES = {"customer": "customers", "conversation": "conversations", "message": "messages"}
LOCK_ORG = "SELECT last_event_seq, last_case_number FROM organizations WHERE id = $1 FOR UPDATE"
FINISH_ORG = "UPDATE organizations SET last_event_seq = $2, last_case_number = $3 WHERE id = $1"
BACKDATE_SETUP = """
WITH o AS (UPDATE organizations SET created_at = $2 WHERE id = $1),
     m AS (UPDATE memberships SET created_at = $2 WHERE org_id = $1),
     c AS (UPDATE channels SET created_at = $2 WHERE org_id = $1),
     u AS (UPDATE users SET created_at = $2 WHERE id IN (SELECT user_id FROM memberships WHERE org_id = $1))
UPDATE events SET created_at = $2 WHERE org_id = $1 AND seq <= $3
"""


async def fill(owner_url: str, org_id: int | None = None, *, conversations: int = 1_000_000, years: float = 2.0,
               open_share: float = 0.07, seed: int = 1, now: datetime | None = None, batch: int = 20_000,
               vacuum: bool = True, log=print) -> Volume:
    """Fill an organisation (a new one unless `org_id`) with `conversations` over `years` up to `now`.

    Runs as the tables' owner in one transaction, so a failure leaves nothing half-loaded; then
    VACUUM ANALYZE, so the planner and index-only scans see what a long-running database would."""
    started = time.perf_counter()
    for kind, fields in EVENT_FIELDS.items():  # the payloads written below must be what the catalogue says
        event_catalogue.check(kind, dict.fromkeys(fields))
    seconds: dict[str, float] = {}
    org = await create_organization(owner_url) if org_id is None else None
    seconds["set-up"] = time.perf_counter() - started
    conn = await asyncpg.connect(owner_url)
    try:
        if org is None:
            org = await existing_organization(conn, org_id)
        rows = dict.fromkeys(TABLES, 0)
        copying = dict.fromkeys(TABLES, 0.0)
        async with conn.transaction():
            # statistics (issue 10): the roll-up triggers stand aside for the bulk; counted once at the end
            await conn.execute("SELECT set_config('samsyn.stats_bulk', 'on', true)")
            # Nothing else may write these tables meanwhile: the ids are taken straight from their sequences.
            await conn.execute("LOCK TABLE customers, conversations, messages IN SHARE ROW EXCLUSIVE MODE")
            # the dashboard's counts (0021) are recounted once at the end, not bumped row by row
            await conn.execute("ALTER TABLE conversations DISABLE TRIGGER conversations_count_insert")
            last_seq, last_case = await conn.fetchrow(LOCK_ORG, org.org_id)
            next_ids = {"seq": last_seq + 1, "case_number": last_case + 1}
            for counter, table in SEQUENCES.items():
                next_ids[counter] = await conn.fetchval(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))")
            taken = {r["email"] for r in await conn.fetch(
                "SELECT email FROM customers WHERE org_id = $1 AND email IS NOT NULL", org.org_id)}
            t = time.perf_counter()
            gen = Generator(org, conversations=conversations, now=now or datetime.now(timezone.utc), years=years,
                            open_share=open_share, seed=seed, next_ids=next_ids, taken_emails=taken)
            batches = gen.batches(batch)
            done = 0
            # Plan the next batch in a thread while this one streams into PostgreSQL (the other core).
            pending = asyncio.create_task(asyncio.to_thread(next, batches, None))
            while (batch_rows := await pending) is not None:
                pending = asyncio.create_task(asyncio.to_thread(next, batches, None))
                for table, columns in TABLES.items():
                    if batch_rows[table]:
                        c = time.perf_counter()
                        await conn.copy_records_to_table(table, records=batch_rows[table], columns=columns)
                        copying[table] += time.perf_counter() - c
                        rows[table] += len(batch_rows[table])
                done += len(batch_rows["conversations"])
                if log and done % (10 * batch) == 0:
                    log(f"  {done:,} conversations, {rows['messages']:,} messages, {time.perf_counter() - t:.0f} s")
            await conn.execute(FINISH_ORG, org.org_id, gen.next["seq"] - 1, gen.next["case_number"] - 1)
            await conn.execute("SELECT recount_dashboard($1)", org.org_id)
            await conn.execute("ALTER TABLE conversations ENABLE TRIGGER conversations_count_insert")
            if org_id is None and gen.times:
                # A new organisation was set up just now; date it before its history, so seq order is time order.
                await conn.execute(BACKDATE_SETUP, org.org_id, _at(gen.times[0] - DAY), last_seq)
            for counter, table in SEQUENCES.items():
                await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), $1, false)",
                                   gen.next[counter])
            seconds["generate + COPY"] = time.perf_counter() - t
            seconds.update({f"COPY {table}": s for table, s in copying.items()})
            t = time.perf_counter()  # statistics (issue 10): the organisation's roll-ups from the loaded rows
            await conn.execute("SELECT stats_rebuild($1)", org.org_id)
            seconds["statistics roll-ups"] = time.perf_counter() - t
        if vacuum:
            t = time.perf_counter()
            await conn.execute(f"VACUUM (ANALYZE) {', '.join(TABLES)}, {STATS_TABLES}")
            seconds["VACUUM ANALYZE"] = time.perf_counter() - t
    finally:
        await conn.close()
    seconds["total"] = time.perf_counter() - started
    return Volume(org.org_id, org.admin_email, PASSWORD if org_id is None else None, rows, next_ids["seq"], seconds)


# --- consistency ------------------------------------------------------------------------------

CHECK_COUNTERS = """
SELECT o.last_event_seq, o.last_case_number,
       (SELECT count(*) FROM events e WHERE e.org_id = o.id) AS events,
       (SELECT max(seq) FROM events e WHERE e.org_id = o.id) AS max_seq,
       (SELECT max(case_number) FROM conversations v WHERE v.org_id = o.id) AS max_case,
       (SELECT count(*) FROM conversations v WHERE v.org_id = o.id) AS conversations,
       (SELECT count(*) FROM events e WHERE e.org_id = o.id AND e.kind = 'conversation.created') AS created,
       (SELECT count(*) FROM messages m WHERE m.org_id = o.id) AS messages,
       (SELECT count(*) FROM events e WHERE e.org_id = o.id AND e.kind = 'message.added') AS added
FROM organizations o WHERE o.id = $1
"""

# Conversations whose derived fields differ from what their messages say (as app/conversations.py derives them).
CHECK_DERIVED = """
WITH m AS (
    SELECT m.conversation_id,
           max(m.created_at) AS last_at,
           min(m.created_at) FILTER (WHERE m.author_id IS NOT NULL AND m.kind IN ('editor', 'comment')) AS first_reply,
           (array_agg(m.author_id IS NULL AND m.kind IN ('customer', 'comment') AND NOT m.no_reply_needed
                      ORDER BY m.created_at DESC, m.id DESC) FILTER (WHERE m.kind <> 'note'))[1] AS needs_reply
    FROM messages m WHERE m.org_id = $1 GROUP BY m.conversation_id
)
SELECT count(*) FROM conversations v LEFT JOIN m ON m.conversation_id = v.id
WHERE v.org_id = $1
  AND (m.conversation_id IS NULL
       OR v.last_message_at <> GREATEST(m.last_at, v.created_at)
       OR v.first_response_at IS DISTINCT FROM m.first_reply
       OR v.needs_reply <> COALESCE(m.needs_reply, false))
"""

# Events from seq $2 on whose seq order disagrees with their time order.
CHECK_EVENT_ORDER = """
SELECT count(*) FROM (
    SELECT created_at < lag(created_at) OVER (ORDER BY seq) AS earlier FROM events WHERE org_id = $1 AND seq >= $2
) e WHERE earlier
"""


# The dashboard's counts (migration 0021) against a count of the rows: the (bucket, key)s that differ.
CHECK_DASHBOARD_COUNTS = """
WITH fresh AS (
    SELECT b.bucket, b.key, count(*) AS n FROM conversations v,
           dashboard_buckets(v.status, v.spam, v.needs_reply, v.assignee_id, v.follow_up_at, v.channel_id) b
    WHERE v.org_id = $1 GROUP BY 1, 2),
kept AS (SELECT bucket, key, n FROM dashboard_counts WHERE org_id = $1 AND n <> 0)
SELECT count(*) FROM fresh FULL JOIN kept USING (bucket, key) WHERE fresh.n IS DISTINCT FROM kept.n
"""


async def kept(owner_url: str) -> Volume | None:
    """The organisation an earlier fill left in a kept database (a benchmark's --keep), with its conversations and
    messages counted; None when there is none yet."""
    conn = await asyncpg.connect(owner_url)
    try:
        org = await conn.fetchrow(
            """SELECT o.id, u.email FROM organizations o
               JOIN memberships m ON m.org_id = o.id AND m.role = 'admin' JOIN users u ON u.id = m.user_id
               WHERE o.name = $1 AND EXISTS (SELECT 1 FROM conversations v WHERE v.org_id = o.id)
               ORDER BY o.id, u.id LIMIT 1""", ORG_NAME)
        if org is None:
            return None
        rows = {t: await conn.fetchval(f"SELECT count(*) FROM {t} WHERE org_id = $1", org["id"])
                for t in ("conversations", "messages")}
    finally:
        await conn.close()
    return Volume(org["id"], org["email"], PASSWORD, rows, 0)  # no seconds: nothing was filled this run


async def check(owner_url: str, org_id: int, since_seq: int = 1) -> list[str]:
    """What is inconsistent in an organisation's counters, event log and derived fields (empty: nothing).

    Time order is checked from `since_seq` on: history added to an organisation that already had
    events lies before them (pass the fill's first_seq then)."""
    conn = await asyncpg.connect(owner_url)
    try:
        c = await conn.fetchrow(CHECK_COUNTERS, org_id)
        derived = await conn.fetchval(CHECK_DERIVED, org_id)
        disorder = await conn.fetchval(CHECK_EVENT_ORDER, org_id, since_seq)
        miscounted = await conn.fetchval(CHECK_DASHBOARD_COUNTS, org_id)
    finally:
        await conn.close()
    problems = []
    if not c["last_event_seq"] == c["events"] == c["max_seq"]:
        problems.append(f"last_event_seq {c['last_event_seq']}, {c['events']} events, max seq {c['max_seq']}")
    if c["last_case_number"] != c["max_case"]:
        problems.append(f"last_case_number {c['last_case_number']}, max case number {c['max_case']}")
    if c["conversations"] != c["created"]:
        problems.append(f"{c['conversations']} conversations, {c['created']} conversation.created events")
    if c["messages"] != c["added"]:
        problems.append(f"{c['messages']} messages, {c['added']} message.added events")
    if derived:
        problems.append(f"{derived} conversations whose derived fields disagree with their messages")
    if disorder:
        problems.append(f"{disorder} events with a seq out of time order")
    if miscounted:
        problems.append(f"{miscounted} dashboard counts that differ from the rows")
    return problems


async def summary(owner_url: str, org_id: int) -> dict:
    """Counts that describe a filled organisation."""
    conn = await asyncpg.connect(owner_url)
    try:
        row = await conn.fetchrow(
            """SELECT count(*) AS conversations,
                      count(*) FILTER (WHERE status = 'open' AND NOT spam) AS open,
                      count(DISTINCT customer_id) AS customers_used,
                      min(created_at) AS first, max(created_at) AS last,
                      count(DISTINCT channel_id) AS channels
               FROM conversations WHERE org_id = $1""", org_id)
        sizes = await conn.fetch(
            """SELECT relname, pg_total_relation_size(oid) AS bytes FROM pg_class
               WHERE relname = ANY($1::text[]) AND relkind = 'r' ORDER BY relname""", list(TABLES))
    finally:
        await conn.close()
    return {**dict(row), "sizes": {r["relname"]: r["bytes"] for r in sizes}}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--owner-url", help="a migrated throwaway database, as its tables' owner; "
                                            "without it: own temporary servers, removed afterwards")
    parser.add_argument("--org-id", type=int, help="fill this organisation instead of creating one")
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--years", type=float, default=2.0)
    parser.add_argument("--open-share", type=float, default=0.07)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check", action="store_true", help="verify counters, event log and derived fields after")
    args = parser.parse_args()

    async def run(owner_url: str) -> None:
        volume = await fill(owner_url, args.org_id, conversations=args.conversations, years=args.years,
                            open_share=args.open_share, seed=args.seed)
        s = await summary(owner_url, volume.org_id)
        print(f"organisation {volume.org_id} (log in as {volume.admin_email} / {volume.password or 'its password'}): "
              + ", ".join(f"{n:,} {table}" for table, n in volume.rows.items()))
        print(f"  {s['open']:,} open of {s['conversations']:,} conversations in {s['channels']} channels, "
              f"{s['customers_used']:,} customers, {s['first']:%Y-%m-%d} to {s['last']:%Y-%m-%d}")
        print("  sizes: " + ", ".join(f"{t} {b / 2**20:,.0f} MB" for t, b in s["sizes"].items()))
        print("  time: " + ", ".join(f"{k} {v:.1f} s" for k, v in volume.seconds.items()))
        if args.check:
            problems = await check(owner_url, volume.org_id, 1 if args.org_id is None else volume.first_seq)
            print("  check: " + ("consistent" if not problems else "; ".join(problems)))
            if problems:
                raise SystemExit(1)

    if args.owner_url:
        await run(args.owner_url)
        return
    from devtools.services import migrated_settings, throwaway_servers

    with throwaway_servers("samsyn-volume-") as servers:
        settings = await migrated_settings(*servers, secret_key="volume")
        await run(settings.database_owner_url)


if __name__ == "__main__":
    asyncio.run(main())
