"""What a new user does after `make run`: log in as each demo user and land on the dashboard."""
from __future__ import annotations

import pytest
from playwright.async_api import expect

from app import demo


async def log_in(page, email: str) -> None:
    await page.goto("/login")
    await page.get_by_label("E-postadress").fill(email)
    await page.get_by_label("Lösenord").fill(demo.DEMO_PASSWORD)
    await page.get_by_role("button", name="Logga in").click()
    await expect(page.get_by_role("heading", name="Öppna ärenden")).to_be_visible()


@pytest.mark.parametrize("key,name,email,role", demo.DEMO_USERS)
async def test_each_demo_user_logs_in_and_sees_the_queue(page, demo_org, key, name, email, role):
    await log_in(page, email)
    rows = page.locator("#queue-rows > li")
    assert await rows.count() >= 40
    # colour-coded by channel: the stripe comes from the channel's palette class
    first = rows.first
    assert "ch-" in (await first.get_attribute("class"))
    stripe = await first.evaluate("el => getComputedStyle(el).borderLeftColor")
    assert stripe not in ("rgba(0, 0, 0, 0)", "rgb(0, 0, 0)")
    await expect(page.locator(".topbar .user")).to_contain_text(name)
    admin_link = page.get_by_role("link", name="Kanaler")
    if role == "admin":
        await expect(admin_link).to_be_visible()
    else:
        await expect(admin_link).to_have_count(0)
    assert page.problems == [], page.problems  # no CSP violations, no script errors


async def test_wrong_password_shows_one_calm_message(page, demo_org):
    await page.goto("/login")
    await page.get_by_label("E-postadress").fill("nobody@demo.samsyn.se")
    await page.get_by_label("Lösenord").fill("wrong password")
    await page.get_by_role("button", name="Logga in").click()
    await expect(page.get_by_role("alert")).to_have_text("Fel e-postadress eller lösenord.")


async def test_admin_marks_a_colleague_away_and_opens_a_conversation(page, demo_org):
    await log_in(page, "lena@demo.samsyn.se")
    await page.get_by_role("link", name="Team").click()
    row = page.locator(".member-row", has_text="Björn Ek")
    await row.get_by_role("button", name="Markera som borta").click()  # an htmx-boosted form: CSRF header
    await expect(row.locator(".badge.away")).to_have_text("Borta")
    await row.get_by_role("button", name="Markera som tillbaka").click()
    await expect(row.locator(".badge.away")).to_have_count(0)
    await page.get_by_role("link", name="Översikt").click()
    await page.locator("#queue-rows > li a").first.click()
    await expect(page.locator(".messages .message").first).to_be_visible()
    assert page.problems == [], page.problems


async def test_switching_to_english_in_the_browser(page, demo_org):
    await log_in(page, "anna@demo.samsyn.se")
    await page.get_by_role("button", name="English").click()
    await expect(page.get_by_role("heading", name="Open conversations")).to_be_visible()
    await page.get_by_role("button", name="Svenska").click()
    await expect(page.get_by_role("heading", name="Öppna ärenden")).to_be_visible()


async def test_dashboard_fits_a_phone(browser, server, demo_org):
    context = await browser.new_context(base_url=server, viewport={"width": 390, "height": 844}, locale="sv-SE")
    page = await context.new_page()
    try:
        await log_in(page, "bjorn@demo.samsyn.se")
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"page is {overflow}px wider than the phone"
    finally:
        await context.close()
