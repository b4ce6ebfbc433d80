"""The forum's editor workflow and public search in a real browser: a visitor on a phone searches and is
offered similar threads; an editor answers, accepts, marks "no reply needed", edits, pins and archives;
the chief editor's weekly review."""
from __future__ import annotations

from playwright.async_api import expect

from app import conversations, forum
from tests.e2e.test_form_errors import log_in
from tests.factories import make_channel, make_member, make_org, unique_email

PHONE = {"width": 390, "height": 844}
WAIT = 15_000  # ms: generous, never an assertion about speed


async def loaded_after(page, click) -> None:
    """Click, and wait for the new page itself: a live push may show the same change a moment before it."""
    await page.evaluate("document.querySelector('main').dataset.old = '1'")
    await click
    await expect(page.locator("main:not([data-old])")).to_have_count(1)


async def a_forum(db, name="Cykelbolaget AB"):
    admin = await make_org(db, name)
    channel = await make_channel(db, admin, kind="forum", name="Cykelforum", colour="green")
    slug = (await db.read_one(admin.actor.org_id, "SELECT address FROM channels WHERE org_id = $1 AND id = $2",
                              admin.actor.org_id, channel))["address"]
    return admin, await forum.find(db, slug)


async def a_thread(db, found, title, body="Vad gör jag?", name="Karin Berg") -> tuple[int, int]:
    number = await forum.start_thread(db, found, topic="question", title=title,
                                      post=forum.Post(name, unique_email("karin"), body))
    return number, (await forum.thread(db, found, number))["thread"]["id"]


async def test_a_visitor_on_a_phone_searches_the_forum_and_is_offered_similar_threads(browser, server, db):
    admin, found = await a_forum(db)
    chain, _ = await a_thread(db, found, "Kedjan hoppar av i backar", "Den hoppar när jag växlar.")
    await a_thread(db, found, "Sadeln är för hård")
    phone = await browser.new_context(base_url=server, locale="sv-SE", viewport=PHONE, is_mobile=True, has_touch=True)
    visitor = await phone.new_page()
    try:
        await visitor.goto(f"/forum/{found.slug}")
        await visitor.get_by_label("Sök i forumet").fill("kedjor")
        await loaded_after(visitor, visitor.get_by_role("button", name="Sök").click())
        results = visitor.locator(".forum-results")
        await expect(results.get_by_role("link")).to_have_count(1)
        await expect(results.get_by_role("link")).to_have_text("Kedjan hoppar av i backar")
        assert await visitor.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        await loaded_after(visitor, visitor.get_by_role("link", name="Alla trådar").click())
        await loaded_after(visitor, visitor.get_by_role("link", name="Starta en tråd").click())
        await visitor.get_by_label("Rubrik").press_sequentially("Min kedja hoppar")
        similar = visitor.locator("#similar-threads")
        await expect(similar).to_contain_text("Liknande trådar", timeout=WAIT)
        await expect(similar.get_by_role("link")).to_have_attribute("href", f"/forum/{found.slug}/{chain}")
        assert await visitor.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        await phone.close()

    # and without JavaScript the page still takes a new thread
    plain = await browser.new_context(base_url=server, locale="sv-SE", java_script_enabled=False)
    page = await plain.new_page()
    try:
        await page.goto(f"/forum/{found.slug}/new")
        await page.get_by_label("Fråga").check()
        await page.get_by_label("Rubrik").fill("Bromsarna gnisslar")
        await page.get_by_label("Text").fill("När det regnar.")
        await page.get_by_label("Ditt namn").fill("Olle Ek")
        await page.get_by_label("Din e-postadress").fill(unique_email("olle"))
        await page.get_by_role("button", name="Publicera").click()
        await expect(page.get_by_role("heading", name="Bromsarna gnisslar")).to_be_visible()
    finally:
        await plain.close()


async def test_an_editor_answers_accepts_marks_no_reply_needed_edits_pins_and_archives(page, browser, server, db):
    admin, found = await a_forum(db)
    anna = await make_member(db, found.org_id, "editor", "Anna Lind")
    number, conv = await a_thread(db, found, "Kedjan hoppar av")
    olles = await forum.add_post(db, found, number, post=forum.Post("Olle Ek", unique_email("olle"), "Byt kedja."))

    await log_in(page, anna.email)
    await page.goto(f"/conversations/{conv}")
    await expect(page.locator("#live-state")).to_have_text("Live", timeout=WAIT)
    # an official answer
    await page.get_by_label("Svara i forumet").fill("Justera gränsskruven ett kvarts varv.")
    await loaded_after(page, page.get_by_role("button", name="Publicera svar").click())
    ours = page.locator(".message", has_text="Justera gränsskruven")
    await expect(ours.locator(".badge.official")).to_have_text("Officiellt svar")
    # accept Olle's answer, then change to ours
    olle = page.locator(f"#message-{olles}")
    await loaded_after(page, olle.get_by_role("button", name="Godkänn det här svaret").click())
    await expect(olle.locator(".badge.accepted")).to_have_text("Godkänt svar")
    await loaded_after(page, ours.get_by_role("button", name="Godkänn det här svaret").click())
    await expect(ours.locator(".badge.accepted")).to_have_text("Godkänt svar")
    await expect(olle.locator(".badge.accepted")).to_have_count(0)
    # a comment on Olle's answer
    await olle.get_by_text("Kommentera").click()
    await olle.get_by_label("Din kommentar (publik)").fill("Det går också, men prova skruven först.")
    await loaded_after(page, olle.get_by_role("button", name="Publicera kommentar").click())
    await expect(page.locator(".message.kind-comment", has_text="prova skruven först")).to_be_visible()

    # the visitor thanks; "no reply needed" goes on that latest comment
    answer_id = (await conversations.get(db, found.org_id, conv))[1][-2]["id"]
    thanks = await forum.add_post(db, found, number, post=forum.Post("Karin Berg", unique_email("k"), "Tack!"),
                                  parent_id=answer_id)
    await expect(page.locator(f"#message-{thanks}")).to_be_visible(timeout=WAIT)  # live
    await page.reload()
    await loaded_after(page, page.get_by_role("button", name="Kräver ej svar").click())
    await expect(page.locator(f"#message-{thanks} .badge", has_text="Kräver ej svar")).to_be_visible()
    await expect(page.get_by_role("button", name="Kräver ej svar")).to_have_count(0)
    await page.goto("/")
    row = page.locator(".queue-row", has_text="Kedjan hoppar av")
    await expect(row.locator(".needs-reply")).to_have_count(0)
    await expect(page.locator("#live-state")).to_have_text("Live", timeout=WAIT)
    # a new comment from a visitor's browser puts it back among those needing a reply, live
    phone = await browser.new_context(base_url=server, locale="sv-SE", viewport=PHONE, is_mobile=True)
    visitor = await phone.new_page()
    try:
        await visitor.goto(f"/forum/{found.slug}/{number}")
        comment = visitor.locator(f"#message-{answer_id}").locator("xpath=..")
        await comment.get_by_text("Kommentera").first.click()
        form = comment.locator("form")
        await form.get_by_label("Text").fill("Nu hoppar den igen!")
        await form.get_by_label("Ditt namn").fill("Karin Berg")
        await form.get_by_label("Din e-postadress").fill(unique_email("karin"))
        await form.get_by_role("button", name="Kommentera").click()
        await expect(visitor.get_by_text("Nu hoppar den igen!")).to_be_visible()
        assert "Kräver ej svar" not in await visitor.content()
    finally:
        await phone.close()
    await expect(row.locator(".needs-reply")).to_be_visible(timeout=WAIT)

    # edit the headline: empty first (refused, what was typed kept), then for real
    await row.get_by_role("link", name="Kedjan hoppar av").click()
    await expect(page.get_by_role("button", name="Kräver ej svar")).to_be_visible()
    await page.get_by_text("Redigera rubrik och text").click()
    await page.get_by_label("Rubrik").fill("   ")
    await page.get_by_label("Första inlägget").fill("Min kedja hoppar av i backarna.")
    await loaded_after(page, page.get_by_role("button", name="Spara ändringar").click())
    await expect(page.get_by_role("alert")).to_have_text("Skriv en rubrik.")
    await expect(page.get_by_label("Första inlägget")).to_have_value("Min kedja hoppar av i backarna.")
    await page.get_by_label("Rubrik").fill("Kedjan hoppar av i backar")
    await loaded_after(page, page.get_by_role("button", name="Spara ändringar").click())
    await expect(page.get_by_role("heading", name="Kedjan hoppar av i backar")).to_be_visible()
    tools = page.locator(".forum-tools")
    await expect(tools).to_contain_text("1 tidigare version")
    # pin it, then archive it
    await loaded_after(page, tools.get_by_role("button", name="Fäst på startsidan").click())
    await expect(tools.locator(".badge.pinned")).to_have_text("Fästad på startsidan")
    await page.get_by_label("Status").select_option(label="Arkiverad")
    await loaded_after(page, page.get_by_role("button", name="Spara status").click())
    await expect(page.locator(".case-head")).to_contain_text("Arkiverad")

    await page.goto(f"/forum/{found.slug}")
    await expect(page.get_by_text("Inga trådar än")).to_be_visible()
    await page.goto(f"/forum/{found.slug}/{number}")
    await expect(page.get_by_role("heading", name="Kedjan hoppar av i backar")).to_be_visible()
    await expect(page.locator(".forum-meta")).to_contain_text("Redigerad")
    assert [p for p in page.problems if "400" not in p] == [], page.problems  # htmx logs the refused headline


async def test_the_chief_editor_reviews_the_week_archives_with_one_click_and_orders_the_start_page(page, db):
    admin, found = await a_forum(db)
    _, unanswered = await a_thread(db, found, "Ingen har svarat än")
    _, faq = await a_thread(db, found, "Vanliga frågor")
    await log_in(page, admin.email)
    await page.get_by_role("link", name="Forumgenomgång").click()
    await expect(page.get_by_role("heading", name="Veckans forumgenomgång")).to_be_visible()
    week = page.locator("section", has=page.get_by_role("heading", name="Senaste veckans trådar"))
    await expect(week.locator(f"#review-{unanswered} .badge.unclear")).to_have_text("Inget svar")

    start = page.locator("section", has=page.get_by_role("heading", name="Startsidan"))
    await loaded_after(page, start.locator(f"#review-{faq}").get_by_role("button", name="Fäst").click())
    await expect(start.locator(".review-row").first).to_contain_text("Vanliga frågor")
    await expect(start.locator(".review-row").first.locator(".badge.pinned")).to_be_visible()

    await loaded_after(page, week.locator(f"#review-{unanswered}").get_by_role("button", name="Arkivera").click())
    await expect(page.get_by_text("Ingen har svarat än")).to_have_count(0)
    await loaded_after(page, week.locator(f"#review-{faq}").get_by_role("link", name="Ändra").click())
    await expect(page.get_by_label("Rubrik")).to_have_value("Vanliga frågor")
    assert page.problems == []
