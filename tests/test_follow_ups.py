"""Follow-ups come due once and notify the right people; each person reads only their own notifications."""
from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from app import accounts, conversations, followups, notifications
from app.errors import Forbidden, Invalid, NotFound
from tests.factories import login, make_channel, make_conversation, make_member, make_org

UTC = timezone.utc


def _in(**delta) -> datetime:
    return datetime.now(UTC) + timedelta(**delta)


@pytest.fixture
async def team(db):
    """An organisation with its admin Lena, editors Anna and Björn, viewer Viktor, and a case."""
    lena = await make_org(db, "Uppföljarna AB")
    org_id = lena.actor.org_id
    anna = await make_member(db, org_id, "editor", "Anna Lind")
    bjorn = await make_member(db, org_id, "editor", "Björn Ek")
    viktor = await make_member(db, org_id, "viewer", "Viktor Sand")
    channel = await make_channel(db, lena)
    return {"lena": lena, "anna": anna, "bjorn": bjorn, "viktor": viktor, "org_id": org_id, "channel": channel,
            "conv": await make_conversation(db, org_id, channel)}


async def _make_due(db, actor, conversation_id: int) -> None:
    """A follow-up whose time passed a minute ago (set an hour ago)."""
    await followups.set_follow_up(db, actor, conversation_id, _in(minutes=-1), now=_in(hours=-1))


async def _kinds(db, org_id: int, kind: str) -> list[dict]:
    rows = await db.read(org_id, "SELECT payload FROM events WHERE org_id = $1 AND kind = $2 ORDER BY seq",
                         org_id, kind)
    return [r["payload"] for r in rows]


async def _notified(db, org_id: int, conversation_id: int) -> list[tuple[int, str]]:
    rows = await db.read(org_id, """SELECT user_id, kind FROM notifications WHERE org_id = $1 AND conversation_id = $2
                                    ORDER BY user_id, id""", org_id, conversation_id)
    return [(r["user_id"], r["kind"]) for r in rows]


async def test_an_editor_sets_and_clears_a_follow_up_and_the_case_shows_it(db, team):
    anna, conv, org_id = team["anna"].actor, team["conv"], team["org_id"]
    at = _in(days=2).replace(second=0, microsecond=0)
    await followups.set_follow_up(db, anna, conv, at)
    row = await conversations.find_row(db, org_id, conv)
    assert (row["follow_up_at"], row["follow_up_due"]) == (at, False)
    await followups.set_follow_up(db, anna, conv, at)  # the same again changes nothing
    await followups.set_follow_up(db, anna, conv, None)
    assert (await conversations.find_row(db, org_id, conv))["follow_up_at"] is None
    assert [p["follow_up_at"] for p in await _kinds(db, org_id, "conversation.follow_up_set")] == [at.isoformat(), None]


async def test_a_viewer_sets_no_follow_up_and_times_must_lie_ahead_within_a_year(db, team):
    conv, anna, viktor = team["conv"], team["anna"].actor, team["viktor"].actor
    with pytest.raises(Forbidden):
        await followups.set_follow_up(db, viktor, conv, _in(days=1))
    with pytest.raises(Forbidden):  # refused before the input is even read
        followups.chosen_time(viktor, "not a date")
    for at in (_in(minutes=-5), _in(days=400)):
        with pytest.raises(Invalid):
            await followups.set_follow_up(db, anna, conv, at)
    for typed in ("", "imorgon", "2026-12-01", "2026-13-01T09:00", "2026-02-30 09:00"):
        with pytest.raises(Invalid):
            followups.chosen_time(anna, typed)
    with pytest.raises(Invalid):
        followups.chosen_time(anna, "", "yesterday")
    with pytest.raises(NotFound):
        await followups.set_follow_up(db, anna, 999_999_999, _in(days=1))
    assert (await conversations.find_row(db, team["org_id"], conv))["follow_up_at"] is None


def test_typed_times_and_quick_choices_are_in_the_organisations_time_zone():
    assert followups.parse_time("2026-12-01T09:00", "Europe/Stockholm") == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert followups.parse_time("2026-07-01 09:00", "Europe/Stockholm") == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    friday_evening = datetime(2026, 11, 27, 20, 30, 15, tzinfo=UTC)  # 21:30 in Stockholm
    quick = {c: followups.quick_time(c, "Europe/Stockholm", friday_evening) for c in followups.QUICK_CHOICES}
    assert quick == {"tomorrow": datetime(2026, 11, 28, 8, 0, tzinfo=UTC),
                     "in_3_days": datetime(2026, 11, 30, 20, 30, tzinfo=UTC),
                     "next_monday": datetime(2026, 11, 30, 8, 0, tzinfo=UTC)}
    monday = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # on a Monday, "next Monday" is a week on
    assert followups.quick_time("next_monday", "Europe/Stockholm", monday) == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    before_summer_time = datetime(2027, 3, 26, 9, 0, tzinfo=UTC)  # 10:00 CET; three days on is 10:00 CEST
    assert followups.quick_time("in_3_days", "Europe/Stockholm", before_summer_time) == datetime(
        2027, 3, 29, 8, 0, tzinfo=UTC)


async def test_a_due_follow_up_on_an_assigned_case_notifies_the_assignee_alone(db, team):
    org_id, conv, anna = team["org_id"], team["conv"], team["anna"].actor
    await conversations.assign(db, anna, conv, anna.user_id)  # by herself: no notification
    await _make_due(db, anna, conv)
    await followups.sweep(db)
    assert await _notified(db, org_id, conv) == [(anna.user_id, "follow_up_due")]
    row = await conversations.find_row(db, org_id, conv)
    assert row["follow_up_due"] and row["follow_up_at"] is not None, "it stays, shown as due"
    assert len(await _kinds(db, org_id, "conversation.follow_up_due")) == 1


async def test_a_due_follow_up_on_an_unassigned_case_notifies_every_editor_and_admin_away_or_not(db, team):
    org_id, conv, lena = team["org_id"], team["conv"], team["lena"].actor
    await accounts.set_away(db, lena, team["bjorn"].actor.user_id, True)
    await _make_due(db, team["anna"].actor, conv)
    await followups.sweep(db)
    everyone = sorted(p.actor.user_id for p in (team["lena"], team["anna"], team["bjorn"]))
    assert await _notified(db, org_id, conv) == [(u, "follow_up_due") for u in everyone], "not the viewer"


async def test_a_member_who_was_removed_hears_of_no_follow_up(db, team):
    org_id, conv, lena = team["org_id"], team["conv"], team["lena"].actor
    await accounts.remove_member(db, lena, team["bjorn"].actor.user_id)
    await _make_due(db, team["anna"].actor, conv)
    await followups.sweep(db)
    still = sorted(p.actor.user_id for p in (team["lena"], team["anna"]))
    assert await _notified(db, org_id, conv) == [(u, "follow_up_due") for u in still]


async def test_two_workers_sweeping_at_once_notify_each_follow_up_exactly_once(db, team):
    org_id, anna = team["org_id"], team["anna"].actor
    cases = [await make_conversation(db, org_id, team["channel"], subject=f"Ärende {i}") for i in range(12)]
    for conv in cases:
        await conversations.assign(db, anna, conv, anna.user_id)
        await _make_due(db, anna, conv)
    for _ in range(3):
        await asyncio.gather(followups.sweep(db, batch=5), followups.sweep(db, batch=5))
    due = await _kinds(db, org_id, "conversation.follow_up_due")
    assert sorted(p["conversation_id"] for p in due) == sorted(cases)
    for conv in cases:
        assert await _notified(db, org_id, conv) == [(anna.user_id, "follow_up_due")]


async def test_a_sweep_skips_follow_ups_another_worker_is_notifying_and_never_repeats_them(db, team):
    org_id, conv, anna = team["org_id"], team["conv"], team["anna"].actor
    await conversations.assign(db, anna, conv, anna.user_id)
    await _make_due(db, anna, conv)
    async with db.transaction(org_id) as tx:  # the first worker, mid-claim
        assert await followups._notify_due(tx, [conv]) == 1
        await followups.sweep(db)  # the second worker meanwhile: skips the locked row
        assert await _notified(db, org_id, conv) == [], "the first worker has not committed yet"
    await followups.sweep(db)  # and after the first committed: nothing left to do
    assert await _notified(db, org_id, conv) == [(anna.user_id, "follow_up_due")]
    assert len(await _kinds(db, org_id, "conversation.follow_up_due")) == 1


async def test_a_follow_up_set_again_after_it_came_due_comes_due_again(db, team):
    org_id, conv, anna = team["org_id"], team["conv"], team["anna"].actor
    await conversations.assign(db, anna, conv, anna.user_id)
    await _make_due(db, anna, conv)
    await followups.sweep(db)
    await followups.set_follow_up(db, anna, conv, _in(days=1))
    assert not (await conversations.find_row(db, org_id, conv))["follow_up_due"]
    await followups.sweep(db)
    assert len(await _notified(db, org_id, conv)) == 1, "not due yet"
    await _make_due(db, anna, conv)
    await followups.sweep(db)
    assert len(await _notified(db, org_id, conv)) == 2


async def test_the_follow_up_view_lists_due_follow_ups_earliest_first_from_its_index(db, team):
    org_id, anna = team["org_id"], team["anna"].actor
    later, earlier, ahead = [await make_conversation(db, org_id, team["channel"]) for _ in range(3)]
    await followups.set_follow_up(db, anna, later, _in(minutes=-1), now=_in(hours=-1))
    await followups.set_follow_up(db, anna, earlier, _in(minutes=-30), now=_in(hours=-1))
    await followups.set_follow_up(db, anna, ahead, _in(days=1))
    assert [r["id"] for r in await followups.due_in_org(db, org_id)] == [earlier, later]
    async with db.transaction(org_id, readonly=True) as tx:
        await tx.execute("SET LOCAL enable_seqscan = off")  # a small table: ask whether the index serves it
        plan = json.dumps(await tx.fetchval("EXPLAIN (FORMAT JSON) " + followups.DUE_IN_ORG, org_id, 50))
    assert "conversations_follow_up_idx" in plan and '"Sort"' not in plan


async def test_a_case_assigned_by_someone_else_notifies_the_assignee(db, team):
    org_id, conv, anna, bjorn = team["org_id"], team["conv"], team["anna"].actor, team["bjorn"].actor
    await conversations.assign(db, anna, conv, bjorn.user_id)
    await conversations.assign(db, bjorn, conv, bjorn.user_id)  # unchanged: nothing
    await conversations.assign(db, bjorn, conv, None)  # unassigned: no one to tell
    await conversations.assign(db, bjorn, conv, bjorn.user_id)  # himself: nothing
    assert await _notified(db, org_id, conv) == [(bjorn.user_id, "assigned")]
    [n] = await notifications.of_person(db, org_id, bjorn.user_id)
    assert (n["actor_name"], n["conversation_id"], n["read_at"]) == ("Anna Lind", conv, None)


async def test_each_person_reads_only_their_own_notifications_in_each_organisation(db, team):
    org_id, conv, anna, bjorn = team["org_id"], team["conv"], team["anna"].actor, team["bjorn"].actor
    other = await make_org(db, "Andra AB")
    await accounts.add_member(db, other.actor.org_id, bjorn.user_id, "editor")
    bjorn_there = dataclasses.replace(bjorn, org_id=other.actor.org_id, org_name="Andra AB")
    there = await make_conversation(db, other.actor.org_id, await make_channel(db, other))
    await conversations.assign(db, other.actor, there, bjorn.user_id)
    await conversations.assign(db, anna, conv, bjorn.user_id)
    mine = (await notifications.of_person(db, org_id, bjorn.user_id))[0]["id"]
    with pytest.raises(NotFound):  # not Anna's
        await notifications.open_notification(db, anna, mine)
    with pytest.raises(NotFound):  # not in the other organisation
        await notifications.open_notification(db, bjorn_there, mine)
    assert await notifications.mark_all_read(db, bjorn_there) == 1
    assert await notifications.unread_count(db, org_id, bjorn.user_id) == 1, "this organisation's stays unread"
    assert await notifications.open_notification(db, bjorn, mine) == conv
    assert await notifications.open_notification(db, bjorn, mine) == conv, "opening it again is fine"
    assert await notifications.unread_count(db, org_id, bjorn.user_id) == 0
    assert len(await _kinds(db, org_id, "notification.read")) == 1


async def test_the_follow_up_form_sets_by_quick_choice_and_keeps_what_was_typed_on_error(db, client, team):
    conv, org_id = team["conv"], team["org_id"]
    token = await login(client, team["anna"].email)
    path = f"/conversations/{conv}/follow-up"
    r = await client.post(path, data={"follow_up_at": "", "quick": "tomorrow"}, headers={"x-csrf-token": token})
    assert r.status_code == 303
    assert (await conversations.find_row(db, org_id, conv))["follow_up_at"] == followups.quick_time(
        "tomorrow", "Europe/Stockholm")
    page = (await client.get(f"/conversations/{conv}")).text
    assert "Uppföljning:" in page and "Ta bort uppföljningen" in page
    past = await client.post(path, data={"follow_up_at": "2020-01-01T09:00", "quick": ""},
                             headers={"x-csrf-token": token})
    assert past.status_code == 400 and "Välj en tidpunkt framåt i tiden." in past.text
    assert 'value="2020-01-01T09:00"' in past.text, "what was typed is kept"
    r = await client.post(path, data={"follow_up_at": "", "clear": "1"}, headers={"x-csrf-token": token})
    assert r.status_code == 303 and (await conversations.find_row(db, org_id, conv))["follow_up_at"] is None
    client.cookies.clear()
    viewer_token = await login(client, team["viktor"].email)
    r = await client.post(path, data={"follow_up_at": "bad", "quick": ""}, headers={"x-csrf-token": viewer_token})
    assert r.status_code == 403


async def test_opening_a_notification_marks_it_read_and_goes_to_the_case(db, client, team):
    conv, anna, bjorn = team["conv"], team["anna"], team["bjorn"].actor
    await conversations.assign(db, bjorn, conv, anna.actor.user_id)
    await conversations.assign(db, bjorn, await make_conversation(db, team["org_id"], team["channel"]),
                               anna.actor.user_id)
    token = await login(client, anna.email)
    listed = await client.get("/notifications")
    assert re.search(r'id="notification-count"[^>]*>2<', listed.text), "the header counts both"
    assert "Björn Ek tilldelade dig:" in listed.text
    newest, older = [n["id"] for n in await notifications.of_person(db, team["org_id"], anna.actor.user_id)]
    r = await client.post(f"/notifications/{older}/open", headers={"x-csrf-token": token})
    assert (r.status_code, r.headers["location"]) == (303, f"/conversations/{conv}")
    assert await notifications.unread_count(db, team["org_id"], anna.actor.user_id) == 1
    r = await client.post("/notifications/read-all", headers={"x-csrf-token": token})
    assert r.status_code == 303 and await notifications.unread_count(db, team["org_id"], anna.actor.user_id) == 0
    client.cookies.clear()
    bjorn_token = await login(client, team["bjorn"].email)
    r = await client.post(f"/notifications/{newest}/open", headers={"x-csrf-token": bjorn_token})
    assert r.status_code == 404, "no one opens another's"


async def test_the_workers_sweep_brings_due_follow_ups_within_a_quarter_minute(db, team):
    from workers import worker

    org_id, conv = team["org_id"], team["conv"]
    interval, sweep = worker.SWEEPS["follow_ups.due"]
    assert interval <= 15
    await _make_due(db, team["anna"].actor, conv)
    await worker.run_sweeps(db, {"follow_ups.due": (interval, sweep)}, {})
    assert len(await _notified(db, org_id, conv)) == 3, "Lena, Anna and Björn"
