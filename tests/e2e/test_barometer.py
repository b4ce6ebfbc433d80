"""The customer barometer in Chromium: Lena finds the tag with the most negative mails this month and opens
them; an editor corrects a message's tone."""
from __future__ import annotations

import re

from playwright.async_api import expect

from app import barometer, demo
from tests.e2e.test_form_errors import log_in
from tests.factories import make_channel, make_conversation, make_member, make_org


async def test_lena_finds_the_most_negative_tag_this_month_and_opens_those_mails(page, demo_org):
    await log_in(page, "lena@demo.samsyn.se", demo.DEMO_PASSWORD)
    await page.get_by_role("link", name="Barometer").click()
    await expect(page.get_by_role("heading", name="Kundbarometer")).to_be_visible()
    await expect(page.get_by_role("note")).to_contain_text("trenden")
    # the month's page itself, not the default period's still on screen (its table would change under us)
    async with page.expect_response(lambda r: "period=this_month" in r.url and r.request.method == "GET"):
        await page.get_by_role("link", name="Den här månaden").click()
    await page.wait_for_url(re.compile(r"period=this_month"))
    await expect(page.locator(".barometer-period")).to_contain_text("Jämfört med")
    # the tags, most negative first, with the change against last month
    first = page.locator("#barometer-tags tbody tr").first
    tag = (await first.locator("th").inner_text()).split(":")[-1].strip()
    negative = int(await first.locator("a.drill.neg").inner_text())
    assert negative > 0
    await expect(first.locator("td.change")).to_have_text(re.compile(r"procentenheter|–"))
    await first.locator("a.drill.neg").click()
    await expect(page.get_by_role("heading", name=re.compile("^Negativt"))).to_be_visible()
    await expect(page.locator(".filters")).to_contain_text(f"Tagg: {tag}")
    mails = page.locator(".drill-row")
    await expect(mails).to_have_count(min(negative, barometer.PAGE))
    await mails.first.locator("a.drill-open").click()
    await expect(page.locator(".case-sentiment")).to_be_visible()
    await expect(page.locator(".tags").first).to_contain_text(tag)
    assert page.problems == [], page.problems


async def test_an_editor_corrects_a_messages_tone_and_the_barometer_counts_it(page, db):
    admin = await make_org(db, "Tonläget AB")
    anna = await make_member(db, admin.actor.org_id, "editor", "Anna Lind")
    conv = await make_conversation(db, admin.actor.org_id, await make_channel(db, admin), subject="Trasig leverans",
                                   body="Jag är mycket missnöjd, paketet kom trasigt och ingen svarar.")
    message = (await db.read_one(admin.actor.org_id, "SELECT id FROM messages WHERE org_id = $1 AND conversation_id = $2",
                                 admin.actor.org_id, conv))["id"]
    await barometer.score_messages(db, admin.actor.org_id, [message])
    await log_in(page, anna.email)
    await page.goto(f"/conversations/{conv}")
    tone = page.locator(f"#message-{message} .message-sentiment")
    await expect(tone).to_contain_text("maskinellt bedömt")
    machine = await tone.get_attribute("data-label")
    correction, name = ("pos", "Positivt") if machine != "pos" else ("neg", "Negativt")
    await tone.get_by_label("Rätta tonläget").select_option(correction)
    # the page comes back from the server (the live push may show the correction a moment earlier)
    async with page.expect_response(lambda r: r.url.endswith(f"/conversations/{conv}") and r.request.method == "GET"):
        await tone.get_by_role("button", name="Spara tonläge").click()
    await expect(page.locator(f"#message-{message} .message-sentiment")).to_contain_text("rättat av Anna Lind")
    await expect(page.locator(f"#message-{message} .badge.sentiment")).to_have_text(f"Tonläge: {name}")
    await expect(page.locator(".case-sentiment")).to_contain_text(name)
    await page.get_by_role("link", name="Barometer").click()
    await expect(page.locator(".barometer-period")).to_contain_text("1 rättat av en redaktör")
    assert page.problems == [], page.problems
