"""Lena, the demo team lead, answers: how many mails came in last month, per week, and how fast did we answer?"""
from __future__ import annotations

import csv
import io
import os
import re

from playwright.async_api import expect

from app import demo
from tests.e2e.test_form_errors import log_in


async def test_lena_counts_last_months_mail_per_week_opens_a_bar_and_downloads_it(page, demo_org):
    await log_in(page, "lena@demo.samsyn.se", demo.DEMO_PASSWORD)
    await page.get_by_role("link", name="Statistik").click()
    await expect(page.get_by_role("heading", name="Statistik", exact=True)).to_be_visible()
    await page.get_by_label("Period", exact=True).select_option(label="Förra månaden")
    await page.get_by_label("Dela upp per").select_option(label="Vecka")
    await page.get_by_role("button", name="Visa").click()
    await expect(page).to_have_url(re.compile(r"preset=last_month"))

    # the numbers as a table: each week of last month, mail beside forum, with the median first response
    weeks = page.locator("table.stats-periods tbody tr[data-kind=mail]")
    assert await weeks.count() >= 4
    incoming = [int(await row.locator("td[data-measure=incoming]").inner_text()) for row in await weeks.all()]
    assert sum(incoming) > 0
    total = int(await page.locator(".stats-summary td[data-kind=mail][data-measure=incoming]").inner_text())
    assert total == sum(incoming)
    await expect(page.locator(".stats-summary")).to_contain_text("Första svar, median")
    if os.environ.get("SAMSYN_SHOTS"):
        await page.screenshot(path=os.environ["SAMSYN_SHOTS"] + "/stats.png", full_page=True)

    # the chart's bar for the busiest week of mail leads to exactly those mails
    busiest = max(range(len(incoming)), key=incoming.__getitem__)
    bars = page.locator("#chart-incoming .serie-0 a")
    await bars.nth(busiest).click()
    await expect(page.get_by_role("heading", name="Ärendena bakom siffran")).to_be_visible()
    await expect(page).to_have_url(re.compile(r"kind=mail"))
    listed = page.locator("table.stats-conversations tbody tr")
    shown = await listed.count()
    while await page.get_by_role("link", name="Nästa sida").count():
        await page.get_by_role("link", name="Nästa sida").click()
        shown += await listed.count()
    assert shown == incoming[busiest]

    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Ladda ner CSV").click()
    download = await download_info.value
    rows = list(csv.reader(io.StringIO(open(await download.path(), encoding="utf-8").read())))
    assert rows[0][:3] == ["case_number", "channel", "created"] and len(rows) == incoming[busiest] + 1
    assert page.problems == []


async def test_a_period_that_ends_before_it_starts_says_so_and_keeps_the_dates(page, demo_org):
    await log_in(page, "lena@demo.samsyn.se", demo.DEMO_PASSWORD)
    await page.goto("/stats")
    await page.get_by_label("Period", exact=True).select_option(label="Från–till (nedan)")
    await page.get_by_label("Från", exact=True).fill("2026-03-10")
    await page.get_by_label("Till", exact=True).fill("2026-03-01")
    await page.get_by_role("button", name="Visa").click()
    await expect(page.get_by_role("alert")).to_contain_text("Perioden börjar efter att den slutar")
    await expect(page.get_by_label("Från", exact=True)).to_have_value("2026-03-10")
    await expect(page.get_by_label("Till", exact=True)).to_have_value("2026-03-01")
    # corrected, it shows the figures
    await page.get_by_label("Från", exact=True).fill("2026-02-10")
    await page.get_by_role("button", name="Visa").click()
    await expect(page.get_by_role("alert")).to_have_count(0)
    await expect(page.locator(".stats-summary")).to_be_visible()
