"""The public forum on a phone: a visitor posts a thread (after a mistake), an editor answers, the visitor reads it."""
from __future__ import annotations

from playwright.async_api import expect

from tests.e2e.test_form_errors import log_in
from tests.factories import make_channel, make_member, make_org, unique_email

PHONE = {"width": 390, "height": 844}


async def test_a_visitor_posts_from_a_phone_an_editor_answers_and_the_visitor_sees_the_official_answer(
        browser, server, page, db):
    admin = await make_org(db, "Cykelbolaget AB")
    anna = await make_member(db, admin.actor.org_id, "editor", "Anna Lind")
    channel = await make_channel(db, admin, kind="forum", name="Cykelforum", colour="green")
    async with db.transaction(admin.actor.org_id, readonly=True) as tx:
        slug = await tx.fetchval("SELECT address FROM channels WHERE id = $1", channel)
    email = unique_email("karin")

    phone = await browser.new_context(base_url=server, locale="sv-SE", viewport=PHONE, is_mobile=True,
                                      has_touch=True)
    visitor = await phone.new_page()
    try:
        await visitor.goto(f"/forum/{slug}?ref=https://cykel.example/kedjor")
        await expect(visitor.get_by_role("heading", name="Cykelforum")).to_be_visible()
        await expect(visitor.get_by_text("Cykelbolaget AB")).to_be_visible()
        await visitor.get_by_role("link", name="Starta en tråd").click()

        await visitor.get_by_label("Fråga").check()
        await visitor.get_by_label("Rubrik").fill("Kedjan hoppar av i backar")
        await visitor.get_by_label("Text").fill("Min kedja hoppar av när jag växlar. Vad gör jag?")
        await visitor.get_by_label("Ditt namn").fill("   ")  # passes the browser's `required`, not ours
        await visitor.get_by_label("Din e-postadress").fill(email)
        await visitor.get_by_role("button", name="Publicera").click()
        await expect(visitor.get_by_role("alert")).to_have_text("Skriv ditt namn.")
        await expect(visitor.get_by_label("Text")).to_have_value("Min kedja hoppar av när jag växlar. Vad gör jag?")
        await expect(visitor.get_by_label("Rubrik")).to_have_value("Kedjan hoppar av i backar")

        await visitor.get_by_label("Ditt namn").fill("Karin Berg")
        await visitor.get_by_role("button", name="Publicera").click()
        await expect(visitor.get_by_role("heading", name="Kedjan hoppar av i backar")).to_be_visible()
        await expect(visitor.get_by_text("Karin Berg")).to_be_visible()
        assert email not in await visitor.content()
        thread_url = visitor.url
        # nothing wider than the phone's screen
        assert await visitor.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        await log_in(page, anna.email)
        await page.get_by_role("link", name="Kedjan hoppar av i backar").click()
        await expect(page.get_by_text("https://cykel.example/kedjor")).to_be_visible()  # editors only
        await page.get_by_label("Svara i forumet").fill("Hej Karin! Justera bakväxelns gränsskruv ett kvarts varv.")
        await page.get_by_role("button", name="Publicera svar").click()
        await expect(page.get_by_text("Hej Karin! Justera bakväxelns gränsskruv")).to_be_visible()

        await visitor.goto(thread_url)
        official = visitor.locator(".forum-post.official")
        await expect(official).to_contain_text("Officiellt svar")
        await expect(official).to_contain_text("Anna Lind")
        await expect(official).to_contain_text("Justera bakväxelns gränsskruv")
        assert "cykel.example/kedjor" not in await visitor.content()
    finally:
        await phone.close()
