"""Statistics: the numbers on known data, the roll-ups against a recount from the base tables, the lists and CSV."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bench.stats import SPANS_DIFFER  # the benchmark's --check runs the same comparison
from app import case_tools, conversations, stats, tags
from app.errors import Invalid
from tests.factories import login, make_channel, make_conversation, make_member, make_org

STOCKHOLM = ZoneInfo("Europe/Stockholm")
WEEKDAYS_8_TO_17 = [[480, 1020]] * 5 + [None, None]
ALWAYS = [[0, 1440]] * 7


def local(*args) -> datetime:
    return datetime(*args, tzinfo=STOCKHOLM)


async def open_seconds(db, start: datetime, end: datetime, hours: list = WEEKDAYS_8_TO_17, holidays=()) -> int:
    rows = await db.read(None, "SELECT stats_open_seconds($1, $2, 'Europe/Stockholm', $3::jsonb, $4::date[]) AS s",
                         start, end, hours, list(holidays))
    return rows[0]["s"]


async def test_opening_hours_skip_the_weekend_and_holidays(db):
    # Friday 16:00 to Monday 09:00: an hour on Friday, an hour on Monday
    assert await open_seconds(db, local(2026, 3, 6, 16), local(2026, 3, 9, 9)) == 2 * 3600
    # with Monday a holiday the wait runs into Tuesday, still two open hours
    assert await open_seconds(db, local(2026, 3, 6, 16), local(2026, 3, 10, 9), holidays=[date(2026, 3, 9)]) == 7200
    # the same in a week without a holiday is a whole Monday (9 h) more
    assert await open_seconds(db, local(2026, 3, 6, 16), local(2026, 3, 10, 9)) == 2 * 3600 + 9 * 3600
    # a mail that arrives on Saturday and is answered on Saturday waited no open time at all
    assert await open_seconds(db, local(2026, 3, 7, 10), local(2026, 3, 7, 15)) == 0


async def test_opening_hours_follow_the_clock_across_daylight_saving_time(db):
    # 29 March 2026 has 23 hours in Stockholm: noon Saturday to noon Monday is 47 hours, open all day
    assert await open_seconds(db, local(2026, 3, 28, 12), local(2026, 3, 30, 12), ALWAYS) == 47 * 3600
    # and open 08-17 on the Monday after the change: 08:00 local is 06:00 UTC, not 07:00
    assert await open_seconds(db, local(2026, 3, 27, 17), local(2026, 3, 30, 9)) == 3600


def test_presets_and_iso_weeks_at_year_edges():
    assert stats.preset_period("last_month", date(2026, 1, 15)) == (date(2025, 12, 1), date(2025, 12, 31))
    assert stats.preset_period("this_week", date(2027, 1, 1)) == (date(2026, 12, 28), date(2027, 1, 3))
    assert stats.preset_period("last_week", date(2026, 1, 1)) == (date(2025, 12, 22), date(2025, 12, 28))
    assert stats.preset_period("last_30_days", date(2026, 3, 1)) == (date(2026, 1, 31), date(2026, 3, 1))
    assert stats.period_label(date(2026, 12, 28), "week") == "2026-W53"  # 2026 has 53 ISO weeks
    assert stats.period_label(date(2024, 12, 30), "week") == "2025-W01"  # ISO 2025 starts in December 2024
    assert stats.period_label(date(2026, 3, 1), "month") == "2026-03"


def test_bounds_match_the_migration():
    sql = (stats.__file__.rsplit("/", 1)[0] + "/migrations/0026_statistics.sql")
    text = open(sql).read()
    listed = text.split("SELECT ARRAY[", 1)[1].split("]", 1)[0]
    assert tuple(int(n) for n in listed.replace("\n", " ").split(",")) == stats.BOUNDS


def test_percentile_from_buckets():
    counts = [0] * len(stats.BOUNDS)
    counts[stats.BOUNDS.index(600)] = 2  # two answers in [10, 15) min
    counts[stats.BOUNDS.index(3600)] = 2  # two in [60, 75) min
    assert stats.percentile(counts, 0.5) == 900  # the upper edge of the lower bucket
    assert 3600 < stats.percentile(counts, 0.9) <= 4500
    assert stats.percentile([0] * len(stats.BOUNDS), 0.5) is None


async def setup(db, target_minutes: int = 60):
    admin = await make_org(db, "Statistik AB")
    editor = await make_member(db, admin.actor.org_id, "editor", "Anna Lind")
    mailbox = await make_channel(db, admin, "mailbox", name="info@")
    forum = await make_channel(db, admin, "forum", name="Forum")
    await db.read(None, "SELECT 1")  # keep the pool warm; the target is set through the admin page's function
    from app import channels
    found = await channels.get_channel(db, admin.actor.org_id, mailbox)
    await channels.update_channel(db, admin.actor, mailbox, name=found["name"], colour=found["colour"],
                                  address=found["address"], response_target_minutes=target_minutes)
    return admin, editor, mailbox, forum


async def reply_at(db, editor, conversation_id: int, at: datetime) -> int:
    return await conversations.add_message(db, editor.actor, conversation_id, kind="editor", body="Svar", at=at)


def custom(start: date, end: date, grouping: str = "week", **filters) -> stats.Filters:
    return stats.Filters(start, end, "custom", grouping, **filters)


async def drill_ids(db, actor, filters: stats.Filters, **narrow) -> list[int]:
    drill = stats.Drill(filters, **narrow)
    found, after = [], None
    while rows := await stats.conversations(db, actor, drill, after, limit=2):  # small pages: keyset paging too
        found += [r["id"] for r in rows]
        after = stats.cursor_of(rows[-1])
    return found


async def test_days_and_iso_weeks_are_the_organisations_at_the_year_edge(db):
    admin, editor, mailbox, _ = await setup(db)
    # 23:30 UTC on New Year's Eve is 00:30 on New Year's Day in Stockholm: ISO week 2026-W53 (Friday)
    late = await make_conversation(db, admin.actor.org_id, mailbox,
                                   at=datetime(2026, 12, 31, 23, 30, tzinfo=ZoneInfo("UTC")))
    early = await make_conversation(db, admin.actor.org_id, mailbox, at=local(2026, 12, 31, 22, 0))
    result = await stats.report(db, admin.actor, custom(date(2026, 12, 21), date(2027, 1, 10)))
    weeks = {stats.period_label(start, "week"): by_kind["mail"].incoming for start, by_kind in result.periods}
    assert weeks == {"2026-W52": 0, "2026-W53": 2, "2027-W01": 0}
    by_day = await stats.report(db, admin.actor, custom(date(2026, 12, 31), date(2027, 1, 1), "day"))
    assert [(str(start), k["mail"].incoming) for start, k in by_day.periods] == [("2026-12-31", 1), ("2027-01-01", 1)]
    assert await drill_ids(db, admin.actor, custom(date(2027, 1, 1), date(2027, 1, 1))) == [late]
    assert await drill_ids(db, admin.actor, custom(date(2026, 12, 31), date(2026, 12, 31))) == [early]
    months = await stats.report(db, admin.actor, custom(date(2026, 12, 1), date(2027, 1, 31), "month"))
    assert [k["mail"].incoming for _, k in months.periods] == [1, 1]
    assert result.weekdays[5]["mail"].incoming == 1 and result.weekdays[4]["mail"].incoming == 1
    assert result.totals["mail"].hours[0] == 1 and result.totals["mail"].hours[22] == 1


async def test_first_response_wall_clock_and_within_opening_hours_with_target(db):
    admin, editor, mailbox, _ = await setup(db, target_minutes=60)
    org = admin.actor.org_id
    # Friday 16:30, answered Monday 08:20: 2 d 15 h 50 min of waiting, 50 open minutes, within the hour's target
    weekend = await make_conversation(db, org, mailbox, at=local(2026, 3, 6, 16, 30))
    await reply_at(db, editor, weekend, local(2026, 3, 9, 8, 20))
    # Wednesday 10:00, answered 12:00: two open hours, outside the target
    slow = await make_conversation(db, org, mailbox, at=local(2026, 3, 4, 10))
    await reply_at(db, editor, slow, local(2026, 3, 4, 12))
    waiting = await make_conversation(db, org, mailbox, at=local(2026, 3, 5, 9))  # never answered
    period = custom(date(2026, 3, 2), date(2026, 3, 8))
    mail = (await stats.report(db, admin.actor, period)).totals["mail"]
    assert (mail.incoming, mail.answered, mail.in_target, mail.needing_reply) == (3, 2, 1, 3)
    assert mail.target_share == pytest.approx(1 / 3)
    wall = (local(2026, 3, 9, 8, 20) - local(2026, 3, 6, 16, 30)).total_seconds()
    assert mail.first_response[stats.BOUNDS.index(7200)] == 1  # 2 h: [2 h, 2.5 h)
    assert sum(mail.first_response[i] for i, b in enumerate(stats.BOUNDS) if b <= wall) == 2
    assert mail.first_response_open[stats.BOUNDS.index(3000)] == 1  # 50 min: [50, 60) min
    assert mail.first_response_open[stats.BOUNDS.index(7200)] == 1
    assert 216000 <= wall < 259200 and 216000 <= mail.percentile("first_response", 0.9) <= 259200  # its bucket
    assert await drill_ids(db, admin.actor, period, measure="in_target") == [weekend]
    assert await drill_ids(db, admin.actor, period, measure="answered") == [slow, weekend]
    assert await drill_ids(db, admin.actor, period, measure="unanswered") == [waiting]


async def test_new_opening_hours_count_again(db):
    admin, editor, mailbox, _ = await setup(db, target_minutes=60)
    from app import channels
    slow = await make_conversation(db, admin.actor.org_id, mailbox, at=local(2026, 3, 4, 10))
    await reply_at(db, editor, slow, local(2026, 3, 4, 12))
    period = custom(date(2026, 3, 2), date(2026, 3, 8))
    assert (await stats.report(db, admin.actor, period)).totals["mail"].in_target == 0
    # open only from 11:30 on Wednesdays: one open hour less than two, so half an hour, within target
    found = await channels.get_channel(db, admin.actor.org_id, mailbox)
    hours = [[480, 1020]] * 2 + [[690, 1020]] + [[480, 1020]] * 2 + [None, None]
    await channels.update_channel(db, admin.actor, mailbox, name=found["name"], colour=found["colour"],
                                  address=found["address"], response_target_minutes=60, opening_hours=hours,
                                  holidays="")
    mail = (await stats.report(db, admin.actor, period)).totals["mail"]
    assert mail.in_target == 1 and mail.first_response_open[stats.BOUNDS.index(1800)] == 1


async def test_reopened_case_counts_once_more_and_forum_resolves_at_the_official_answer(db):
    admin, editor, mailbox, forum = await setup(db)
    org = admin.actor.org_id
    now = datetime.now(STOCKHOLM)
    case = await make_conversation(db, org, mailbox, at=now - timedelta(hours=3))
    await reply_at(db, editor, case, now - timedelta(hours=2))
    await conversations.set_status(db, editor.actor, case, "closed")
    await conversations.set_status(db, editor.actor, case, "open")  # the customer wrote again
    await conversations.set_status(db, editor.actor, case, "waiting")
    await conversations.set_status(db, editor.actor, case, "closed")
    thread = await make_conversation(db, org, forum, at=now - timedelta(hours=5))
    await conversations.add_message(db, editor.actor, thread, kind="comment", body="Vi tittar på det",
                                    at=now - timedelta(hours=4))
    await conversations.add_message(db, editor.actor, thread, kind="editor", body="Så här gör du",
                                    at=now - timedelta(hours=1))
    period = custom(now.date() - timedelta(days=1), now.date())
    result = await stats.report(db, admin.actor, period)
    mail, threads = result.totals["mail"], result.totals["forum"]
    assert (mail.incoming, mail.resolved) == (1, 2)
    # the first close came about three hours after arrival, the second seconds after the reopening
    assert mail.resolution[0] == 1 and sum(mail.resolution[stats.BOUNDS.index(10800):stats.BOUNDS.index(12600) + 1]) == 1
    # the forum thread: first response at the comment (1 h), resolved at the official answer (4 h)
    assert threads.first_response[stats.BOUNDS.index(3600)] == 1
    assert threads.resolution[stats.BOUNDS.index(14400)] == 1 and threads.resolved == 1
    assert await drill_ids(db, admin.actor, period, measure="resolved") == [thread, case]


async def test_spam_and_no_reply_needed_stay_out_of_response_times(db):
    admin, editor, mailbox, _ = await setup(db)
    org = admin.actor.org_id
    at = local(2026, 3, 4, 10)
    spam = await make_conversation(db, org, mailbox, at=at, subject="Billiga klockor")
    await case_tools.mark_spam(db, editor.actor, spam)
    thanks = await make_conversation(db, org, mailbox, at=at + timedelta(minutes=1), subject="Tack!")
    await conversations.mark_no_reply_needed(db, editor.actor, thanks)
    answered = await make_conversation(db, org, mailbox, at=at + timedelta(minutes=2))
    await reply_at(db, editor, answered, at + timedelta(minutes=32))
    spam_answered = await make_conversation(db, org, mailbox, at=at + timedelta(minutes=3))
    await reply_at(db, editor, spam_answered, at + timedelta(days=3))
    await case_tools.mark_spam(db, editor.actor, spam_answered)  # answered, then found to be spam: no 3-day wait
    period = custom(date(2026, 3, 2), date(2026, 3, 8))
    mail = (await stats.report(db, admin.actor, period)).totals["mail"]
    assert (mail.incoming, mail.spam, mail.no_reply, mail.answered, mail.needing_reply) == (2, 2, 1, 1, 1)
    assert sum(mail.first_response) == 1 and mail.first_response[stats.BOUNDS.index(1800)] == 1
    assert mail.target_share == 1.0
    assert await drill_ids(db, admin.actor, period, measure="spam") == [spam, spam_answered]
    # the list of an hour's spam: the roll-ups' hours count no spam, the list finds it all the same
    night = await make_conversation(db, org, mailbox, at=local(2026, 3, 5, 3))
    await case_tools.mark_spam(db, editor.actor, night)
    assert await drill_ids(db, admin.actor, period, measure="spam", hour=3) == [night]
    assert await drill_ids(db, admin.actor, period, measure="spam", hour=10, weekday=3) == [spam, spam_answered]
    assert await drill_ids(db, admin.actor, period, measure="no_reply") == [thanks]
    assert await drill_ids(db, admin.actor, period) == [thanks, answered]
    await case_tools.mark_spam(db, editor.actor, spam, False)  # not spam after all: it counts again
    mail = (await stats.report(db, admin.actor, period)).totals["mail"]
    assert (mail.incoming, mail.spam) == (3, 2)


async def test_filters_by_channel_tag_group_tag_and_assignee(db):
    admin, editor, mailbox, forum = await setup(db)
    org = admin.actor.org_id
    other = await make_member(db, org, "editor", "Björn Ek")
    area = await tags.create_group(db, admin.actor, "Område")
    invoice = await tags.create_tag(db, admin.actor, "Faktura", area)
    membership = await tags.create_tag(db, admin.actor, "Medlemskap", area)
    loose = await tags.create_tag(db, admin.actor, "Övrigt")
    at = local(2026, 3, 4, 10)
    a = await make_conversation(db, org, mailbox, at=at)
    b = await make_conversation(db, org, mailbox, at=at + timedelta(minutes=1))
    c = await make_conversation(db, org, forum, at=at + timedelta(minutes=2))
    await tags.tag(db, editor.actor, a, invoice)
    await tags.tag(db, editor.actor, a, membership)  # two tags of one group: the group counts it once
    await tags.tag(db, editor.actor, b, membership)
    await tags.tag(db, editor.actor, c, loose)
    await conversations.assign(db, editor.actor, a, editor.actor.user_id)
    await conversations.assign(db, editor.actor, b, other.actor.user_id)
    await conversations.assign(db, editor.actor, b, editor.actor.user_id)  # reassigned: counts for Anna only
    period = custom(date(2026, 3, 2), date(2026, 3, 8))

    async def count(**filters) -> tuple[int, int]:
        p = custom(period.start, period.end, **filters)
        totals = (await stats.report(db, admin.actor, p)).totals
        listed = await drill_ids(db, admin.actor, p)
        assert len(listed) == totals["mail"].incoming + totals["forum"].incoming, filters
        return totals["mail"].incoming, totals["forum"].incoming

    assert await count() == (2, 1)
    assert await count(channel_id=forum) == (0, 1)
    assert await count(group_id=area) == (2, 0)
    assert await count(tag_id=membership) == (2, 0)
    assert await count(tag_id=invoice, group_id=area) == (1, 0)
    assert await count(tag_id=loose, group_id=area) == (0, 0)  # that tag is not in that group
    assert await count(assignee_id=editor.actor.user_id) == (2, 0)
    assert await count(assignee_id=other.actor.user_id) == (0, 0)
    assert await count(assignee_id=-1) == (0, 1)
    assert await count(tag_id=membership, assignee_id=editor.actor.user_id) == (2, 0)
    by_tag = {(r["name"], r["kind"]): r["incoming"] for r in (await stats.report(db, admin.actor, period)).tags}
    assert by_tag == {("Område", "mailbox"): 2, ("Medlemskap", "mailbox"): 2, ("Faktura", "mailbox"): 1,
                      ("Övrigt", "forum"): 1}
    await tags.untag(db, editor.actor, a, membership)
    assert await count(tag_id=membership) == (1, 0)
    assert await count(group_id=area) == (2, 0)


ROLLUPS_DIFFER = """
SELECT count(*) FROM (
    (SELECT * FROM stats_daily WHERE org_id = $1 AND incoming + spam <> 0
     EXCEPT ALL SELECT * FROM stats_recount($1, true))
    UNION ALL
    (SELECT * FROM stats_recount($1, true)
     EXCEPT ALL SELECT * FROM stats_daily WHERE org_id = $1 AND incoming + spam <> 0)
) differ
"""


async def test_rollups_equal_a_recount_from_the_base_tables_after_a_mix_of_changes(db):
    admin, editor, mailbox, forum = await setup(db)
    org = admin.actor.org_id
    group = await tags.create_group(db, admin.actor, "Område")
    tag = await tags.create_tag(db, admin.actor, "Leverans", group)
    now = datetime.now(STOCKHOLM)
    cases = [await make_conversation(db, org, mailbox, at=now - timedelta(days=d, hours=d)) for d in range(6)]
    thread = await make_conversation(db, org, forum, at=now - timedelta(days=2))
    await reply_at(db, editor, cases[0], now - timedelta(hours=1))
    await conversations.reply(db, editor.actor, cases[1], "Hej!", seen_message_id=0, send_anyway=True)
    await conversations.set_status(db, editor.actor, cases[1], "closed")
    await conversations.set_status(db, editor.actor, cases[1], "open")
    await tags.tag(db, editor.actor, cases[2], tag)
    await tags.tag(db, editor.actor, thread, tag)
    await conversations.assign(db, editor.actor, cases[2], editor.actor.user_id)
    await case_tools.mark_spam(db, editor.actor, cases[3])
    await conversations.mark_no_reply_needed(db, editor.actor, cases[4])
    await conversations.add_message(db, editor.actor, thread, kind="editor", body="Svar")
    await case_tools.merge(db, editor.actor, cases[5], f"#{(await conversations.find_row(db, org, cases[2]))['case_number']}")
    # a transaction that fails halfway leaves neither its rows nor its sums
    with pytest.raises(RuntimeError):
        async with db.transaction(org) as tx:
            await conversations.add_in(tx, editor.actor, cases[2], kind="editor", body="Halvvägs")
            await conversations.set_status_in(tx, editor.actor, cases[2], "closed")
            raise RuntimeError("the send failed")
    await tags.untag(db, editor.actor, thread, tag)
    rows = await db.read(org, ROLLUPS_DIFFER, org)
    assert rows[0]["count"] == 0
    assert (await db.read(org, SPANS_DIFFER, org))[0]["count"] == 0  # the weeks and months moved with the days
    recount = await db.read(org, "SELECT sum(incoming) AS n, sum(resolved) AS r FROM stats_recount($1, true) "
                                 "WHERE tag_id = 0 AND group_id = 0 AND assignee_id = 0", org)
    # seven conversations less one spam; the mail case closed once and the thread's official answer
    assert (recount[0]["n"], recount[0]["r"]) == (6, 2)


async def test_rebuild_gives_the_same_sums(db, settings):
    import asyncpg

    admin, editor, mailbox, _ = await setup(db)
    org = admin.actor.org_id
    case = await make_conversation(db, org, mailbox, at=local(2026, 3, 4, 10))
    await reply_at(db, editor, case, local(2026, 3, 4, 11))
    await conversations.set_status(db, editor.actor, case, "closed")
    await tags.tag(db, editor.actor, case, await tags.create_tag(db, admin.actor, "Faktura"))
    await conversations.set_status(db, editor.actor, case, "open")
    read = {t: f"SELECT * FROM {t} WHERE org_id = $1 ORDER BY 1, 2, 3, 4, 5, 6, 7" for t in ("stats_daily", "stats_spans")}
    before = {t: await db.read(org, sql, org) for t, sql in read.items()}
    conn = await asyncpg.connect(settings.database_owner_url)
    try:
        await conn.execute("SELECT stats_rebuild($1)", org)
    finally:
        await conn.close()
    for table, sql in read.items():
        after = await db.read(org, sql, org)
        assert [dict(r) for r in after] == [dict(r) for r in before[table] if r["incoming"] + r["spam"]], table
    assert len(before["stats_spans"]) == 2 * 2 * 2  # week and month, everything and the tag, everyone and Anna


def test_filters_refuse_a_period_that_ends_before_it_starts():
    with pytest.raises(Invalid) as refused:
        stats.parse_filters({"preset": "custom", "from": "2026-03-10", "to": "2026-03-01"}, date(2026, 3, 15))
    assert refused.value.field == "from"
    with pytest.raises(Invalid):
        stats.parse_filters({"preset": "custom", "from": "10/3", "to": "2026-03-01"}, date(2026, 3, 15))
    with pytest.raises(Invalid):
        stats.parse_filters({"preset": "yesterday"}, date(2026, 3, 15))
    assert stats.parse_filters({}, date(2026, 3, 15)).start == date(2026, 2, 14)


async def test_the_screen_the_lists_and_their_csv(db, client):
    admin, editor, mailbox, forum = await setup(db)
    org = admin.actor.org_id
    viewer = await make_member(db, org, "viewer", "Viktor Sand")
    tag = await tags.create_tag(db, admin.actor, "=HYPERLINK(\"x\")")  # a name a spreadsheet would run
    first = await make_conversation(db, org, mailbox, at=local(2026, 3, 4, 10), subject="Paketet")
    await reply_at(db, editor, first, local(2026, 3, 4, 10, 30))
    await tags.tag(db, editor.actor, first, tag)
    await conversations.assign(db, editor.actor, first, editor.actor.user_id)
    second = await make_conversation(db, org, mailbox, at=local(2026, 3, 11, 9), subject="Fakturan")
    await make_conversation(db, org, forum, at=local(2026, 3, 12, 9))
    await login(client, viewer.email)
    query = {"preset": "custom", "from": "2026-03-01", "to": "2026-03-31", "grouping": "week"}
    page = await client.get("/stats", params=query)
    assert page.status_code == 200
    assert "2026-W10" in page.text and "2026-W11" in page.text
    for name in ("incoming", "first_response", "weekdays", "hours"):  # each chart loads on its own
        svg = await client.get("/stats/chart", params={**query, "name": name})
        assert svg.status_code == 200 and svg.text.startswith("<svg") and "<style" not in svg.text
    bars = (await client.get("/stats/chart", params={**query, "name": "incoming"})).text
    assert "period=2026-03-02&amp;kind=mail" in bars
    listed = await client.get("/stats/conversations", params={**query, "kind": "mail", "period": "2026-03-02"})
    assert listed.status_code == 200 and "Paketet" in listed.text and "Fakturan" not in listed.text
    exported = await client.get("/stats/conversations.csv", params={**query, "kind": "mail"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(exported.text)))
    case_numbers = {r["id"]: r["case_number"] for r in await db.read(
        org, "SELECT id, case_number FROM conversations WHERE org_id = $1", org)}
    assert rows == [
        list(stats.CSV_COLUMNS),
        [str(case_numbers[first]), "info@", "2026-03-04 10:00", "2026-03-04 10:30", "", "Anna Lind",
         "'=HYPERLINK(\"x\")", ""],
        [str(case_numbers[second]), "info@", "2026-03-11 09:00", "", "", "", "", ""],
    ]
    table = await client.get("/stats.csv", params=query)
    lines = list(csv.reader(io.StringIO(table.text)))
    assert lines[0] == list(stats.TABLE_COLUMNS)
    assert lines[1][:4] == ["2026-W09", "mail", "0", "0"]
    # the 30-minute answer is read from its bucket, [30, 40) min: the middle of it
    assert lines[3][:5] == ["2026-W10", "mail", "1", "1", "35.0"]
    assert lines[5][:4] == ["2026-W11", "mail", "1", "0"] and lines[6][:3] == ["2026-W11", "forum", "1"]


async def test_a_period_that_ends_before_it_starts_is_shown_again_with_the_error(db, client):
    admin, *_ = await setup(db)
    await login(client, admin.email)
    response = await client.get("/stats", params={"preset": "custom", "from": "2026-03-10", "to": "2026-03-01"})
    assert response.status_code == 400
    assert 'value="2026-03-10"' in response.text and 'value="2026-03-01"' in response.text
    assert 'role="alert"' in response.text


async def test_admin_sets_opening_hours_and_holidays_on_the_channel_page(db, client):
    admin, _, mailbox, _ = await setup(db)
    from app import channels
    found = await channels.get_channel(db, admin.actor.org_id, mailbox)
    token = await login(client, admin.email)
    page = (await client.get(f"/admin/channels/{mailbox}")).text
    assert 'name="opens_1" value="08:00"' in page and 'name="opens_6" value=""' in page
    form = {"name": found["name"], "colour": found["colour"], "address": found["address"],
            "response_target_minutes": "60", "auto_assign": "off", "signature": "",
            **{f"opens_{d}": "09:00" for d in range(1, 6)}, **{f"closes_{d}": "16:30" for d in range(1, 6)},
            "opens_6": "10:00", "closes_6": "14:00", "opens_7": "", "closes_7": "",
            "holidays": "2026-12-24\n2026-12-25, 2026-12-24"}
    saved = await client.post(f"/admin/channels/{mailbox}", data=form, headers={"x-csrf-token": token})
    assert saved.status_code == 303
    found = await channels.get_channel(db, admin.actor.org_id, mailbox)
    assert found["opening_hours"] == [[540, 990]] * 5 + [[600, 840], None]
    assert found["holidays"] == [date(2026, 12, 24), date(2026, 12, 25)]
    refused = await client.post(f"/admin/channels/{mailbox}", data={**form, "closes_6": "", "holidays": "julafton"},
                                headers={"x-csrf-token": token})
    assert refused.status_code == 400 and 'role="alert"' in refused.text
    assert 'name="opens_6" value="10:00"' in refused.text and "julafton" in refused.text  # what was typed stays
    assert (await channels.get_channel(db, admin.actor.org_id, mailbox))["opening_hours"][5] == [600, 840]


async def test_a_thread_moved_to_mail_counts_once_in_the_forum_it_began_in(db):
    from app import forum as public_forum, forum_moves
    from tests.factories import unique_email

    admin, editor, mailbox, forum = await setup(db)
    now = datetime.now(STOCKHOLM)
    slug = (await db.read_one(admin.actor.org_id, "SELECT address FROM channels WHERE org_id = $1 AND id = $2",
                              admin.actor.org_id, forum))["address"]
    found = await public_forum.find(db, slug)
    number = await public_forum.start_thread(db, found, topic="question", title="Fel belopp",
                                             post=public_forum.Post("Olle", unique_email(), "Beloppet stämmer inte."))
    thread = (await public_forum.thread(db, found, number))["thread"]["id"]
    period = custom(now.date() - timedelta(days=1), now.date())
    before = await stats.report(db, admin.actor, period)
    await forum_moves.move_to_mail(db, editor.actor, thread, mailbox_id=mailbox, note="Per mejl.", message="Hej!")
    after = await stats.report(db, admin.actor, period)
    assert (before.totals["forum"].incoming, before.totals["mail"].incoming) == (1, 0)
    assert (after.totals["forum"].incoming, after.totals["mail"].incoming) == (1, 0)
    assert await drill_ids(db, admin.actor, period) == [thread]


# --- weeks and months beside the days (migration 0028) ----------------------------------------------



def test_a_period_is_whole_months_and_weeks_and_the_days_at_its_edges():
    # Wednesday 25 February to Wednesday 8 April 2026
    start, end = date(2026, 2, 25), date(2026, 4, 8)
    everything = stats.pieces(start, end)
    assert everything.months == [date(2026, 3, 1)]
    assert everything.weeks == []  # 30 March–5 April overlaps March, 6–12 April ends after the period
    assert everything.days == [date(2026, 2, d) for d in range(25, 29)] + [date(2026, 4, d) for d in range(1, 9)]
    by_week = stats.pieces(start, end, "week")
    assert by_week.months == [] and by_week.weeks == [date(2026, 3, 2) + timedelta(weeks=w) for w in range(5)]
    assert by_week.days == [date(2026, 2, d) for d in range(25, 29)] + [date(2026, 3, 1)] + \
        [date(2026, 4, d) for d in range(6, 9)]
    by_month = stats.pieces(start, end, "month")  # weeks only inside one month
    assert by_month.months == [date(2026, 3, 1)] and by_month.weeks == []
    assert stats.pieces(start, end, "day") == stats.Pieces([start + timedelta(days=d) for d in range(43)], [], [])
    for grouping in (None, "day", "week", "month"):  # every day once, whatever the grouping
        p = stats.pieces(start, end, grouping)
        covered = p.days + [w + timedelta(days=d) for w in p.weeks for d in range(7)] + \
            [m + timedelta(days=d) for m in p.months for d in range(31) if (m + timedelta(days=d)).month == m.month]
        assert sorted(covered) == [start + timedelta(days=d) for d in range(43)], grouping


async def test_a_period_cut_mid_week_and_mid_month_gives_the_daily_sums(db):
    admin, editor, mailbox, forum = await setup(db)
    org = admin.actor.org_id
    area = await tags.create_group(db, admin.actor, "Område")
    invoice = await tags.create_tag(db, admin.actor, "Faktura", area)
    arrivals = [  # (local arrival, channel, minutes to the first reply or None, tagged)
        (local(2026, 2, 24, 9), mailbox, 30, False),  # before the period
        (local(2026, 2, 26, 9), mailbox, 30, True),  # Thursday of a week the period cuts
        (local(2026, 3, 1, 10), mailbox, None, False),  # Sunday: the first of a whole month, last of a cut week
        (local(2026, 3, 2, 8, 30), forum, 45, True),
        (local(2026, 3, 9, 14), mailbox, 120, False),
        (local(2026, 3, 18, 16), mailbox, 3000, True),
        (local(2026, 3, 31, 23, 30), mailbox, None, False),
        (local(2026, 4, 1, 0, 30), mailbox, 5, True),  # a whole week of a cut month
        (local(2026, 4, 6, 12), forum, 10, False),
        (local(2026, 4, 8, 23, 59), mailbox, 60, True),  # the period's last minute
        (local(2026, 4, 9, 9), mailbox, 60, True),  # after the period
    ]
    cases = []
    for at, channel, minutes, tagged in arrivals:
        case = await make_conversation(db, org, channel, at=at)
        cases.append(case)
        if minutes is not None:
            await reply_at(db, editor, case, at + timedelta(minutes=minutes))
        if tagged:
            await tags.tag(db, editor.actor, case, invoice)
    start, end = date(2026, 2, 25), date(2026, 4, 8)

    def zeros(figures: stats.Figures) -> dict:
        return {k: (v if v is not None else [0] * len(stats.BOUNDS)) for k, v in vars(figures).items() if k != "hours"}

    days = await stats.report(db, admin.actor, custom(start, end, "day"))
    assert sum(k["mail"].incoming + k["forum"].incoming for _, k in days.periods) == 9
    for grouping, first_day in (("week", lambda d: d - timedelta(days=d.weekday())), ("month", lambda d: d.replace(day=1))):
        result = await stats.report(db, admin.actor, custom(start, end, grouping))
        expected: dict[date, dict[str, stats.Figures]] = {}
        for day, by_kind in days.periods:
            for kind, figures in by_kind.items():
                expected.setdefault(first_day(day), {k: stats.Figures() for k in stats.KINDS})[kind].add(
                    {k: v for k, v in vars(figures).items() if v is not None})
        assert [(s, {k: zeros(f) for k, f in by_kind.items()}) for s, by_kind in result.periods] == \
            [(s, {k: zeros(f) for k, f in by_kind.items()}) for s, by_kind in sorted(expected.items())], grouping
        assert {k: zeros(f) for k, f in result.totals.items()} == {k: zeros(f) for k, f in days.totals.items()}
    weeks = await stats.report(db, admin.actor, custom(start, end, "week"))
    assert [k["mail"].incoming for _, k in weeks.periods] == [2, 0, 1, 1, 0, 2, 1]  # W09 … W15
    months = await stats.report(db, admin.actor, custom(start, end, "month"))
    assert [(k["mail"].incoming, k["forum"].incoming) for _, k in months.periods] == [(1, 0), (4, 1), (2, 1)]
    assert months.totals["mail"].answered == 5 and months.totals["mail"].percentile("first_response", 0.5) > 1800

    # weekdays, hours and tags, read from whole months and weeks, equal the same read from the days alone
    async def read(sql: str, *args, grouping: str | None) -> list:
        p = stats.pieces(start, end, grouping)
        return [dict(r) for r in await db.read(org, sql, org, *args, p.days, p.weeks, p.months)]

    common = (0, 0, 0, None)
    assert await read(stats.BY_WEEKDAY, *common, grouping=None) == await read(stats.BY_WEEKDAY, *common, grouping="day")
    assert await read(stats.BY_TAG, 0, None, grouping=None) == await read(stats.BY_TAG, 0, None, grouping="day")
    weekdays = {d: k["mail"].incoming + k["forum"].incoming for d, k in weeks.weekdays.items()}
    assert weekdays == {1: 3, 2: 1, 3: 3, 4: 1, 5: 0, 6: 0, 7: 1} and sum(weekdays.values()) == 9
    hours = [a + b for a, b in zip(weeks.totals["mail"].hours, weeks.totals["forum"].hours, strict=True)]
    assert {h: n for h, n in enumerate(hours) if n} == {0: 1, 8: 1, 9: 1, 10: 1, 12: 1, 14: 1, 16: 1, 23: 2}
    assert {(r["name"], r["kind"]): r["incoming"] for r in weeks.tags} == {
        ("Område", "mailbox"): 4, ("Faktura", "mailbox"): 4, ("Område", "forum"): 1, ("Faktura", "forum"): 1}

    # the lists behind those numbers, in order of arrival, page by page
    period = custom(start, end, "week")
    assert await drill_ids(db, admin.actor, period) == cases[1:-1]
    for weekday, n in weekdays.items():
        assert len(await drill_ids(db, admin.actor, period, weekday=weekday)) == n
    assert await drill_ids(db, admin.actor, period, hour=23) == [cases[6], cases[9]]
    assert await drill_ids(db, admin.actor, period, weekday=2, hour=23) == [cases[6]]
    assert await drill_ids(db, admin.actor, custom(start, end, tag_id=invoice), kind="forum") == [cases[3]]
    assert await drill_ids(db, admin.actor, custom(start, end, group_id=area), measure="unanswered") == []
    assert await drill_ids(db, admin.actor, period, measure="unanswered") == [cases[2], cases[6]]


async def test_a_write_moves_the_week_and_month_rows_in_its_transaction(db):
    admin, editor, mailbox, _ = await setup(db)
    org = admin.actor.org_id
    area = await tags.create_group(db, admin.actor, "Område")
    invoice = await tags.create_tag(db, admin.actor, "Faktura", area)
    case = await make_conversation(db, org, mailbox, at=local(2026, 3, 5, 10))  # Thursday of 2026-W10

    async def spans(**where) -> dict:
        rows = await db.read(org, "SELECT * FROM stats_spans WHERE org_id = $1 AND tag_id = $2 AND group_id = 0 "
                                  "AND assignee_id = $3", org, where.get("tag_id", 0), where.get("assignee_id", 0))
        return {(r["span"], r["day"]): r for r in rows}

    before = await spans()
    assert set(before) == {("week", date(2026, 3, 2)), ("month", date(2026, 3, 1))}
    week, month = before[("week", date(2026, 3, 2))], before[("month", date(2026, 3, 1))]
    assert (week["incoming"], week["answered"], week["weekdays"], week["hours"][10]) == (1, 0, [0, 0, 0, 1, 0, 0, 0], 1)
    assert dict(month) | {"span": "week", "day": date(2026, 3, 2)} == dict(week)
    await reply_at(db, editor, case, local(2026, 3, 5, 10, 20))
    await tags.tag(db, editor.actor, case, invoice)
    await conversations.assign(db, editor.actor, case, editor.actor.user_id)
    after = await spans()
    for key in after:
        assert after[key]["answered"] == 1 and after[key]["first_response"][stats.BOUNDS.index(1200)] == 1
    assert (await spans(tag_id=invoice))[("month", date(2026, 3, 1))]["incoming"] == 1
    assert (await spans(assignee_id=editor.actor.user_id))[("week", date(2026, 3, 2))]["incoming"] == 1
    await case_tools.mark_spam(db, editor.actor, case)
    moved = await spans()
    assert [(r["incoming"], r["spam"], r["answered"], r["weekdays"]) for r in moved.values()] == \
        [(0, 1, 0, [0] * 7)] * 2
    assert (await db.read(org, SPANS_DIFFER, org))[0]["count"] == 0
