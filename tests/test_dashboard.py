"""The dashboard's views, paging, counts and bulk actions, against real PostgreSQL."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from app import case_tools, conversations, followups, queues, tags
from app.db import events_after, last_seq
from app.errors import Forbidden, Invalid, NotFound
from tests.factories import csrf_from, login, make_channel, make_conversation, make_member, make_org
from tests.replay import assert_replay_equals_fresh

WAIT = 15  # seconds: generous, never an assertion about speed


async def ids(db, person, view: str, **query) -> list[int]:
    page = await queues.page(db, person.actor.org_id, person.actor.user_id, queues.Query(view, **query), limit=1000)
    return [r["id"] for r in page.rows]


@pytest.fixture
async def desk(db):
    """An organisation with a mailbox and a forum and one conversation in each state the views tell apart."""
    admin = await make_org(db)
    org_id = admin.actor.org_id
    anna = await make_member(db, org_id, "editor", "Anna Lind")
    mailbox, forum = await make_channel(db, admin), await make_channel(db, admin, kind="forum", name="Forum")
    start = datetime(2026, 1, 1, 9, tzinfo=timezone.utc)
    c = {}
    for i, name in enumerate(("waiting_reply", "mine", "answered", "follow_up", "closed", "archived", "spam",
                              "hidden", "waiting")):
        channel = forum if name in ("archived", "hidden") else mailbox
        c[name] = await make_conversation(db, org_id, channel, subject=name, at=start + timedelta(hours=i))
    await conversations.assign(db, admin.actor, c["mine"], anna.actor.user_id)
    await conversations.add_message(db, anna.actor, c["answered"], kind="editor", body="Svar")
    await conversations.mark_no_reply_needed(db, anna.actor, c["follow_up"])
    await followups.set_follow_up(db, anna.actor, c["follow_up"], datetime.now(timezone.utc) + timedelta(days=1))
    for name, status in (("closed", "closed"), ("archived", "archived"), ("hidden", "hidden"), ("waiting", "waiting")):
        await conversations.set_status(db, anna.actor, c[name], status)
    await case_tools.mark_spam(db, anna.actor, c["spam"])
    return admin, anna, mailbox, forum, c


async def test_each_view_shows_its_conversations_and_never_spam(db, desk):
    admin, anna, mailbox, forum, c = desk
    newest_first = ["follow_up", "answered", "mine", "waiting_reply"]
    assert await ids(db, anna, "open") == [c[n] for n in newest_first]
    assert await ids(db, anna, "unanswered") == [c["mine"], c["waiting_reply"]]
    assert await ids(db, anna, "mine") == [c["mine"]]
    assert await ids(db, admin, "mine") == []
    assert await ids(db, anna, "unassigned") == [c["follow_up"], c["answered"], c["waiting_reply"]]
    assert await ids(db, anna, "follow_up") == [c["follow_up"]]
    assert await ids(db, anna, "closed") == [c["archived"], c["closed"]]  # mail closed, forum archived
    assert await ids(db, anna, "open", order="oldest") == [c[n] for n in reversed(newest_first)]
    assert await ids(db, anna, "closed", channel_id=forum) == [c["archived"]]
    assert await ids(db, anna, "open", channel_id=forum) == []


async def test_follow_up_view_is_due_soonest_first(db, desk):
    admin, anna, mailbox, forum, c = desk
    later = datetime.now(timezone.utc) + timedelta(days=3)
    await followups.set_follow_up(db, anna.actor, c["waiting_reply"], later)
    await followups.set_follow_up(db, anna.actor, c["closed"], later - timedelta(days=1))
    assert await ids(db, anna, "follow_up") == [c["follow_up"], c["closed"], c["waiting_reply"]]
    assert await ids(db, anna, "follow_up", order="newest") == [c["waiting_reply"], c["closed"], c["follow_up"]]


@pytest.mark.parametrize("order", ["newest", "oldest"])
async def test_keyset_pages_cover_equal_times_exactly_once_in_order(db, order):
    admin = await make_org(db)
    org_id, channel = admin.actor.org_id, await make_channel(db, admin)
    same = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    made = [await make_conversation(db, org_id, channel, subject=f"Samma tid {i}", at=same) for i in range(7)]
    made.append(await make_conversation(db, org_id, channel, subject="Senare", at=same + timedelta(microseconds=1)))
    made.insert(0, await make_conversation(db, org_id, channel, subject="Tidigare", at=same - timedelta(microseconds=1)))
    query, seen, pages = queues.Query("open", order=order), [], 0
    while True:
        page = await queues.page(db, org_id, None, query, limit=3)
        seen += [r["id"] for r in page.rows]
        pages += 1
        if page.more is None:
            break
        query = queues.Query.parse({"view": "open", "order": order, "after": page.more})
    assert seen == (made if order == "oldest" else made[::-1])  # ties broken by id, no row twice or lost
    assert pages == 3


def test_a_query_string_is_read_safely():
    for after, channel in (("x_1", "-1"), ("1_2_3", "²"), (f"{10**30}_1", "0"), (f"1_{2**63}", str(2**63)),
                           ("0_1", "")):
        assert queues.Query.parse({"view": "nonsense", "order": "sideways", "channel": channel, "after": after}) == \
            queues.Query()
    parsed = queues.Query.parse({"view": "follow_up", "order": "oldest", "channel": "7", "after": "12_34"})
    assert parsed == queues.Query("follow_up", "", 7, (12, 34))  # "oldest" is this view's default
    assert parsed.params() == {"view": "follow_up", "channel": 7}


async def fresh_counts(db, org_id: int) -> dict:
    """The counts as a full count of the rows gives them (what the trigger must keep equal to)."""
    async with db.transaction(org_id, readonly=True) as tx:
        rows = await tx.fetch(
            """SELECT b.bucket, b.key, count(*) AS n FROM conversations v,
                      dashboard_buckets(v.status, v.spam, v.needs_reply, v.assignee_id, v.follow_up_at, v.channel_id) b
               WHERE v.org_id = $1 GROUP BY 1, 2""", org_id)
        kept = await tx.fetch("SELECT bucket, key, n FROM dashboard_counts WHERE org_id = $1 AND n <> 0", org_id)
    return {(r["bucket"], r["key"]): r["n"] for r in rows}, {(r["bucket"], r["key"]): r["n"] for r in kept}


async def test_counts_follow_every_change_through_the_write_path(db, desk):
    admin, anna, mailbox, forum, c = desk
    org_id = admin.actor.org_id
    fresh, kept = await fresh_counts(db, org_id)
    assert kept == fresh
    counted = await queues.counts(db, org_id, [anna.actor.user_id, admin.actor.user_id])
    assert counted.views == {"unanswered": 2, "unassigned": 3, "follow_up": 1, "open": 4, "closed": 2}
    assert counted.mine == {anna.actor.user_id: 1, admin.actor.user_id: 0}
    assert (counted.channels[mailbox], counted.channels.get(forum, 0)) == (4, 0)
    # reassign, reopen, unspam, answer, move a follow-up: still equal to a full count
    await conversations.assign(db, admin.actor, c["mine"], admin.actor.user_id)
    await conversations.set_status(db, anna.actor, c["closed"], "open")
    await case_tools.mark_spam(db, anna.actor, c["spam"], False)
    await conversations.add_message(db, anna.actor, c["waiting_reply"], kind="editor", body="Svar")
    await followups.set_follow_up(db, anna.actor, c["follow_up"], None)
    fresh, kept = await fresh_counts(db, org_id)
    assert kept == fresh
    counted = await queues.counts(db, org_id, [anna.actor.user_id, admin.actor.user_id])
    assert counted.mine == {anna.actor.user_id: 0, admin.actor.user_id: 1}
    assert counted.views["follow_up"] == 0 and counted.views["open"] == 6


async def test_bulk_assign_changes_all_in_one_transaction_with_an_event_each(db, desk):
    admin, anna, mailbox, forum, c = desk
    org_id = admin.actor.org_id
    chosen = [c["waiting_reply"], c["answered"], c["mine"]]  # "mine" is Anna's already: no change, no event
    seq = await last_seq(db, org_id)
    assert await queues.bulk(db, anna.actor, chosen, "assign", anna.actor.user_id) == 2
    events = await events_after(db, org_id, seq)
    assert sorted(e["payload"]["conversation_id"] for e in events if e["kind"] == "conversation.assigned") == \
        sorted([c["waiting_reply"], c["answered"]])
    assert len({e["seq"] for e in events}) == len(events)
    assert sorted(await ids(db, anna, "mine")) == sorted(chosen)
    assert (await queues.counts(db, org_id, [anna.actor.user_id])).mine[anna.actor.user_id] == 3


async def test_bulk_close_archives_forum_threads_and_bulk_tag_tags(db, desk):
    admin, anna, mailbox, forum, c = desk
    org_id = admin.actor.org_id
    thread = await make_conversation(db, org_id, forum, subject="Forumtråd")
    tag = await tags.create_tag(db, admin.actor, "Leverans")
    assert await queues.bulk(db, anna.actor, [thread, c["answered"]], "tag", tag) == 2
    assert await queues.bulk(db, anna.actor, [thread, c["answered"]], "close") == 2
    rows = {r["id"]: r for r in (await queues.page(db, org_id, None, queues.Query("closed"), 100)).rows}
    assert (rows[thread]["status"], rows[c["answered"]]["status"]) == ("archived", "closed")
    assert rows[thread]["tags"] == ["Leverans"]


async def test_bulk_is_refused_to_viewers_and_for_another_organisations_ids(db, desk):
    admin, anna, mailbox, forum, c = desk
    viewer = await make_member(db, admin.actor.org_id, "viewer", "Viktor Sand")
    with pytest.raises(Forbidden):
        await queues.bulk(db, viewer.actor, [c["answered"]], "close")
    other = await make_org(db, "Annat AB")
    theirs = await make_conversation(db, other.actor.org_id, await make_channel(db, other))
    with pytest.raises(NotFound):
        await queues.bulk(db, anna.actor, [c["answered"], theirs], "close")
    assert c["answered"] in await ids(db, anna, "open")  # nothing changed
    for nothing in ([], [c["answered"]]):
        with pytest.raises(Invalid):
            await queues.bulk(db, anna.actor, nothing, "tag" if nothing else "explode")


async def test_a_bulk_action_failing_halfway_changes_nothing(db, desk, monkeypatch):
    admin, anna, mailbox, forum, c = desk
    org_id = admin.actor.org_id
    chosen = [c["waiting_reply"], c["mine"], c["answered"]]
    before_seq, before_counts = await last_seq(db, org_id), await fresh_counts(db, org_id)
    real, calls = conversations.set_status_in, []

    async def fails_on_the_third(tx, actor, conversation_id, status):
        calls.append(conversation_id)
        if len(calls) == 3:
            raise RuntimeError("the database went away")  # a fault injected halfway, after two changes
        return await real(tx, actor, conversation_id, status)

    monkeypatch.setattr(conversations, "set_status_in", fails_on_the_third)
    with pytest.raises(RuntimeError):
        await queues.bulk(db, anna.actor, chosen, "close")
    assert len(calls) == 3
    assert await last_seq(db, org_id) == before_seq, "no event of the two that changed first"
    assert sorted(chosen) == sorted(set(chosen) & set(await ids(db, anna, "open")))
    assert await fresh_counts(db, org_id) == before_counts


async def test_a_bulk_close_racing_a_single_change_waits_and_changes_each_once(db, desk):
    admin, anna, mailbox, forum, c = desk
    org_id = admin.actor.org_id
    bjorn = await make_member(db, org_id, "editor", "Björn Ek")
    chosen = [c["waiting_reply"], c["answered"], c["follow_up"]]
    seq = await last_seq(db, org_id)
    async with db.transaction(org_id) as tx:  # Björn closes one of them alone and has not committed yet
        await conversations.set_status_in(tx, bjorn.actor, c["answered"], "closed")
        bulk = asyncio.create_task(queues.bulk(db, anna.actor, chosen, "close"))
        async with asyncio.timeout(WAIT):  # until the bulk action waits for Björn's row lock
            while not await db.read(org_id, "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                            "AND query LIKE '%FOR UPDATE%'"):
                await asyncio.sleep(0.02)
        assert not bulk.done()
    assert await asyncio.wait_for(bulk, WAIT) == 2  # Björn's was closed already: only the other two changed
    closed = [e["payload"]["conversation_id"] for e in await events_after(db, org_id, seq)
              if e["kind"] == "conversation.status_changed"]
    assert sorted(closed) == sorted(chosen) and closed[0] == c["answered"]  # one event each, Björn's first
    assert set(chosen) <= set(await ids(db, anna, "closed"))


async def test_bulk_form_works_without_javascript_and_shows_its_error(db, client, desk):
    admin, anna, mailbox, forum, c = desk
    await login(client, anna.email)
    page = await client.get("/?view=unassigned")
    assert page.text.count('class="queue-row') == 3 and 'id="bulk"' in page.text
    token = csrf_from(page.text)
    refused = await client.post("/bulk", data={"csrf_token": token, "view": "unassigned", "action": "assign",
                                               "assignee_id": str(anna.actor.user_id)})
    assert refused.status_code == 400 and "Välj minst ett ärende." in refused.text
    done = await client.post("/bulk", data={"csrf_token": token, "view": "unassigned", "action": "assign",
                                            "assignee_id": str(anna.actor.user_id),
                                            "conversation_id": [str(c["answered"]), str(c["follow_up"])]})
    assert (done.status_code, done.headers["location"]) == (303, "/?view=unassigned")
    assert sorted(await ids(db, anna, "mine")) == sorted([c["mine"], c["answered"], c["follow_up"]])


async def test_viewers_see_no_bulk_form_and_are_refused(db, client, desk):
    admin, anna, mailbox, forum, c = desk
    viewer = await make_member(db, admin.actor.org_id, "viewer", "Viktor Sand")
    token = await login(client, viewer.email)
    assert 'id="bulk"' not in (await client.get("/")).text
    response = await client.post("/bulk", data={"csrf_token": token, "action": "close",
                                                "conversation_id": str(c["answered"])})
    assert response.status_code == 403
    assert c["answered"] in await ids(db, anna, "open")


async def test_the_first_page_is_a_screenful_and_more_come_by_link_or_on_scroll(db, client):
    admin = await make_org(db)
    channel = await make_channel(db, admin)
    start = datetime(2026, 2, 1, tzinfo=timezone.utc)
    for i in range(queues.PAGE + 5):
        await make_conversation(db, admin.actor.org_id, channel, subject=f"Ärende {i}", at=start + timedelta(minutes=i))
    await login(client, admin.email)
    first = (await client.get("/?order=oldest")).text
    assert first.count('class="queue-row') == queues.PAGE and 'id="queue-more"' in first
    link = first.split('id="queue-more"')[1].split('<a href="')[1].split('"')[0].replace("&amp;", "&")
    second = await client.get(link)  # without JavaScript: the next page as a page
    assert second.text.count('class="queue-row') == 5 and 'id="queue-more"' not in second.text
    rows_only = await client.get(link + "&rows=1", headers={"HX-Request": "true"})  # on scroll: the rows alone
    assert rows_only.text.count('class="queue-row') == 5 and "<html" not in rows_only.text
    assert "Ärende 54" in rows_only.text and "Ärende 49" not in rows_only.text


@pytest.fixture
async def two_clients(db, server):
    """An organisation's admin and viewer, each logged in: the replay harness's two audiences."""
    admin = await make_org(db)
    viewer = await make_member(db, admin.actor.org_id, "viewer", "Viktor Sand")
    clients = {}
    for who, person in (("member", viewer), ("admin", admin)):
        clients[who] = httpx.AsyncClient(base_url=server, timeout=10)
        await login(clients[who], person.email)
    yield admin, clients
    for client in clients.values():
        await client.aclose()


async def test_pushed_rows_and_counts_bring_every_view_up_to_date(db, two_clients):
    """Replay == fresh on views other than the default: a row leaves, lands in order, or comes back mid-list."""
    admin, clients = two_clients
    org_id, channel = admin.actor.org_id, await make_channel(db, admin)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    a, b, c, d = [await make_conversation(db, org_id, channel, subject=f"Ärende {n}", at=start + timedelta(days=n))
                  for n in range(4)]
    await conversations.set_status(db, admin.actor, d, "closed")

    async def check(path, change, kind):
        await assert_replay_equals_fresh(db, clients, org_id, path, change, expect_kinds={kind})

    await check("/?view=unassigned&order=oldest", lambda: conversations.assign(db, admin.actor, a, admin.actor.user_id),
                "conversation.assigned")  # leaves the view; the admin's own "mine" count
    await check("/?view=mine", lambda: conversations.assign(db, admin.actor, c, admin.actor.user_id),
                "conversation.assigned")  # lands first, newest first
    await check("/?view=closed", lambda: conversations.set_status(db, admin.actor, b, "closed"),
                "conversation.status_changed")  # lands after d, newest first
    await check("/?order=oldest", lambda: conversations.set_status(db, admin.actor, b, "open"),
                "conversation.status_changed")  # back between a and c
    await check(f"/?view=open&channel={channel}", lambda: conversations.assign(db, admin.actor, a, None),
                "conversation.assigned")  # a row that stays is replaced in place; the admin's count drops


async def test_a_pushed_row_sorting_past_the_loaded_page_is_left_for_scrolling(db, two_clients):
    admin, clients = two_clients
    org_id, channel = admin.actor.org_id, await make_channel(db, admin)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for n in range(queues.PAGE + 1):
        await make_conversation(db, org_id, channel, subject=f"Ärende {n}", at=start + timedelta(minutes=n))
    # the newest arrival sorts last, oldest first: past the first page, so only the counts change
    await assert_replay_equals_fresh(db, clients, org_id, "/?order=oldest",
                                     lambda: make_conversation(db, org_id, channel, subject="Allra senast"),
                                     expect_kinds={"conversation.created"})


async def test_writers_at_once_never_deadlock_on_the_counts_and_keep_them_right(db, desk):
    """New mail, bulk closes and assignments in one organisation at the same time: the counts rows are
    taken after the organisation's seq row by every transaction, so none waits on another in a cycle."""
    admin, anna, mailbox, forum, c = desk
    org_id = admin.actor.org_id
    existing = [await make_conversation(db, org_id, mailbox, subject=f"Befintligt {i}") for i in range(16)]

    async def mail(n):
        for i in range(6):
            await make_conversation(db, org_id, mailbox, subject=f"Ny {n}.{i}")

    async def close(ids):
        for i in range(0, len(ids), 2):
            await queues.bulk(db, anna.actor, ids[i:i + 2], "close")

    async def assign(ids):
        for conversation_id in ids:
            await conversations.assign(db, admin.actor, conversation_id, anna.actor.user_id)

    await asyncio.gather(mail(1), mail(2), close(existing[:8]), close(existing[8:12]), assign(existing[12:]))
    fresh, kept = await fresh_counts(db, org_id)
    assert kept == fresh
