"""The dashboard in Chromium: views, more rows on scroll, pushed rows finding their view, and bulk actions."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from playwright.async_api import expect

from app import conversations, queues
from tests.e2e.test_form_errors import log_in
from tests.e2e.test_working_a_case import _mail_arrives
from tests.factories import make_channel, make_conversation, make_member, make_org

WAIT = 15_000  # ms: generous, never an assertion about speed


def rows(page):
    return page.locator("#queue-rows > .queue-row")


async def test_switching_views_and_scrolling_for_more(page, db):
    admin = await make_org(db, "Vyer AB")
    org_id = admin.actor.org_id
    anna = await make_member(db, org_id, "editor", "Anna Lind")
    channel = await make_channel(db, admin, name="Support")
    start = datetime(2026, 2, 1, tzinfo=timezone.utc)
    made = [await make_conversation(db, org_id, channel, subject=f"Fråga {i}", at=start + timedelta(minutes=i))
            for i in range(queues.PAGE + 4)]
    await conversations.assign(db, admin.actor, made[0], anna.actor.user_id)
    await log_in(page, anna.email)

    await expect(rows(page)).to_have_count(queues.PAGE)
    await expect(rows(page).first).to_contain_text(f"Fråga {queues.PAGE + 3}")  # newest first
    await page.locator("#queue-more").scroll_into_view_if_needed()
    await expect(rows(page)).to_have_count(queues.PAGE + 4, timeout=WAIT)
    await expect(page.locator("#queue-more")).to_have_count(0)

    await page.get_by_role("link", name="Mina").click()
    await expect(page.get_by_role("heading", name="Mina")).to_be_visible()
    await expect(rows(page)).to_have_count(1)
    await expect(page.locator("#count-mine")).to_have_text("1")
    await page.get_by_role("link", name="Ej tilldelade").click()
    await expect(page.get_by_role("heading", name="Ej tilldelade")).to_be_visible()
    await expect(page.locator("#count-unassigned")).to_have_text(str(queues.PAGE + 3))
    await page.get_by_role("link", name="Äldsta först").click()
    await expect(page.get_by_role("link", name="Nyaste först")).to_be_visible()
    await expect(rows(page).first).to_contain_text("Fråga 1")
    await page.get_by_role("button", name="Support").click()  # the channel column filters
    await expect(page.locator(".section-head .filter")).to_contain_text("Support")
    await expect(rows(page).first).to_contain_text("Fråga 1")
    assert page.problems == []


async def test_a_pushed_row_lands_in_the_views_it_matches_and_leaves_the_others(page, db):
    admin = await make_org(db, "Levande vyer AB")
    org_id = admin.actor.org_id
    anna = await make_member(db, org_id, "editor", "Anna Lind")
    channel = await make_channel(db, admin)
    start = datetime(2026, 2, 1, tzinfo=timezone.utc)
    older = await make_conversation(db, org_id, channel, subject="Äldre fråga", at=start)
    await make_conversation(db, org_id, channel, subject="Nyare fråga", at=start + timedelta(days=1))
    await log_in(page, anna.email)
    await page.get_by_role("link", name="Ej tilldelade").click()
    await expect(page.get_by_role("heading", name="Ej tilldelade")).to_be_visible()
    await page.get_by_role("link", name="Äldsta först").click()
    await expect(page.get_by_role("link", name="Nyaste först")).to_be_visible()
    await expect(page.locator("#live-state")).to_have_text("Live", timeout=WAIT)
    await page.evaluate("window.notReloaded = true")

    new = await _mail_arrives(db, org_id, channel, "Helt ny fråga")  # newest: last, oldest first
    await expect(rows(page)).to_have_count(3, timeout=WAIT)
    await expect(rows(page).last).to_contain_text("Helt ny fråga")
    await expect(page.locator("#count-unassigned")).to_have_text("3", timeout=WAIT)

    await conversations.assign(db, admin.actor, older, anna.actor.user_id)  # no longer unassigned: it leaves
    await expect(page.locator(".queue-row", has_text="Äldre fråga")).to_have_count(0, timeout=WAIT)
    await expect(page.locator("#count-mine")).to_have_text("1", timeout=WAIT)  # Anna's own count, to her alone
    await conversations.assign(db, admin.actor, older, None)  # back, at its place by arrival
    await expect(rows(page).first).to_contain_text("Äldre fråga", timeout=WAIT)
    await expect(page.locator("#count-mine")).to_have_text("0", timeout=WAIT)
    await conversations.add_message(db, anna.actor, new, kind="note", body="Kollar")  # an update replaces its row
    await expect(page.locator(".queue-row", has_text="Helt ny fråga")).to_have_count(1)
    await expect(rows(page)).to_have_count(3)
    assert await page.evaluate("window.notReloaded === true")
    assert page.problems == []


async def test_bulk_assign_and_close_with_the_error_shown(page, db):
    admin = await make_org(db, "Massåtgärder AB")
    org_id = admin.actor.org_id
    anna = await make_member(db, org_id, "editor", "Anna Lind")
    channel = await make_channel(db, admin)
    for subject in ("Första", "Andra", "Tredje"):
        await make_conversation(db, org_id, channel, subject=subject)
    await log_in(page, anna.email)
    await expect(page.locator("#live-state")).to_have_text("Live", timeout=WAIT)

    await page.get_by_role("button", name="Stäng").click()  # nothing selected
    await expect(page.get_by_role("alert")).to_have_text("Välj minst ett ärende.")

    await page.get_by_label("Välj #1").check()
    await page.get_by_label("Välj #2").check()
    await page.get_by_label("Ansvarig").select_option(label="Anna Lind")
    await page.get_by_role("button", name="Tilldela", exact=True).click()
    await expect(page.get_by_label("Ansvarig")).to_have_value("")  # the view again, after the redirect
    await expect(page.locator("#count-mine")).to_have_text("2", timeout=WAIT)
    await expect(page.locator(".queue-row .badge.assignee", has_text="Anna Lind")).to_have_count(2)

    await page.get_by_label("Välj alla på skärmen").check()
    await page.get_by_role("button", name="Stäng").click()
    await expect(rows(page)).to_have_count(0, timeout=WAIT)
    await expect(page.locator("#count-closed")).to_have_text("3", timeout=WAIT)
    await page.get_by_role("link", name="Stängda och arkiverade").click()
    await expect(rows(page)).to_have_count(3)
    assert page.problems and all("400" in p for p in page.problems)  # only the refused first try


async def test_a_viewer_sees_no_bulk_controls(page, db):
    admin = await make_org(db, "Läsare AB")
    viewer = await make_member(db, admin.actor.org_id, "viewer", "Viktor Sand")
    await make_conversation(db, admin.actor.org_id, await make_channel(db, admin), subject="Bara läsa")
    await log_in(page, viewer.email)
    await expect(rows(page)).to_have_count(1)
    await expect(page.locator("#bulk")).to_have_count(0)
    await expect(page.locator(".queue-row .select")).to_be_hidden()
    assert page.problems == []
