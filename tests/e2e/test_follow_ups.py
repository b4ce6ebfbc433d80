"""An editor sets a follow-up in Chromium; when it comes due, the notification shows in the header and is read."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from playwright.async_api import expect

from app import conversations, followups, notifications
from tests.e2e.test_form_errors import log_in
from tests.factories import make_channel, make_conversation, make_member, make_org


async def test_a_follow_up_comes_due_and_its_notification_is_opened_and_read(page, db):
    admin = await make_org(db, "Påminnarna AB")
    org_id = admin.actor.org_id
    anna = await make_member(db, org_id, "editor", "Anna Lind")
    conv = await make_conversation(db, org_id, await make_channel(db, admin), subject="Ring tillbaka på fredag")
    await log_in(page, anna.email)
    await expect(page.locator("#notification-count")).to_be_hidden()
    await page.get_by_role("link", name="Ring tillbaka på fredag").click()

    when, set_it = page.get_by_label("Följ upp den"), page.get_by_role("button", name="Lägg in uppföljning")
    await set_it.click()  # nothing chosen
    await expect(page.get_by_role("alert")).to_have_text("Ange datum och klockslag.")
    await when.fill("2020-01-01T09:00")
    await set_it.click()
    await expect(page.get_by_role("alert")).to_have_text("Välj en tidpunkt framåt i tiden.")
    await expect(when).to_have_value("2020-01-01T09:00")
    await when.fill("2099-01-01T09:00")
    await set_it.click()
    await expect(page.get_by_role("alert")).to_have_text("Välj en tidpunkt inom ett år.")

    await page.get_by_role("button", name="I morgon 09.00").click()
    await expect(page.get_by_role("alert")).to_have_count(0)
    await expect(page.locator(".follow-up")).to_contain_text("Uppföljning:")
    tomorrow = followups.quick_time("tomorrow", "Europe/Stockholm")
    assert (await conversations.find_row(db, org_id, conv))["follow_up_at"] == tomorrow
    await page.get_by_role("link", name="Översikt").click()
    await expect(page.locator(f"#conversation-{conv} .badge.follow-up")).to_be_visible()

    # the time passes (set for a minute ago, as of an hour ago), and a worker sweeps
    now = datetime.now(timezone.utc)
    await followups.set_follow_up(db, anna.actor, conv, now - timedelta(minutes=1), now=now - timedelta(hours=1))
    await followups.sweep(db)
    await page.reload()
    await expect(page.locator("#notification-count")).to_have_text("1 olästa")
    await expect(page.locator(f"#conversation-{conv} .badge.follow-up.due")).to_be_visible()

    await page.get_by_role("link", name="Notiser").click()
    await page.get_by_role("button", name="Dags att följa upp: #1 Ring tillbaka på fredag").click()
    await expect(page.get_by_role("heading", name="Ring tillbaka på fredag")).to_be_visible()
    await expect(page.locator(".follow-up .badge.due")).to_have_text("Dags")
    await expect(page.locator("#notification-count")).to_be_hidden()
    assert await notifications.unread_count(db, org_id, anna.actor.user_id) == 0
    assert await notifications.unread_count(db, org_id, admin.actor.user_id) == 1, "the admin's own stays unread"

    await page.get_by_role("button", name="Ta bort uppföljningen").click()
    await expect(page.locator(".follow-up p")).to_have_text("Ingen uppföljning inlagd.")
    assert page.problems == [] or all("400" in p for p in page.problems), page.problems


async def test_mark_all_read_empties_the_count(page, db):
    admin = await make_org(db, "Tilldelarna AB")
    org_id = admin.actor.org_id
    anna = await make_member(db, org_id, "editor", "Anna Lind")
    channel = await make_channel(db, admin)
    for subject in ("Första", "Andra"):
        await conversations.assign(db, admin.actor, await make_conversation(db, org_id, channel, subject=subject),
                                   anna.actor.user_id)
    await log_in(page, anna.email)
    await expect(page.locator("#notification-count")).to_have_text("2 olästa")
    await page.get_by_role("link", name="Notiser").click()
    await expect(page.locator(".notification.unread")).to_have_count(2)
    await expect(page.locator(".notification").first).to_contain_text("Lena Admin tilldelade dig: #2 Andra")
    await page.get_by_role("button", name="Markera alla som lästa").click()
    await expect(page.locator(".notification.unread")).to_have_count(0)
    await expect(page.locator("#notification-count")).to_be_hidden()
    assert page.problems == [], page.problems
