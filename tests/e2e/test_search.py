"""Searching from the top bar: type a word, see the match highlighted, open the conversation."""
from __future__ import annotations

import re

from playwright.async_api import expect

from app import conversations
from app.actors import System
from tests.e2e.test_form_errors import log_in
from tests.factories import make_channel, make_conversation, make_member, make_org


async def test_top_bar_search_highlights_the_match_and_opens_the_case(page, db):
    admin = await make_org(db, "Sökarna AB")
    channel = await make_channel(db, admin)
    viewer = await make_member(db, admin.actor.org_id, "viewer", "Viktor Sand")
    conv = await make_conversation(db, admin.actor.org_id, channel, subject="Borttappad leverans", body="Hej.")
    await conversations.add_message(db, System(admin.actor.org_id), conv, kind="customer",
                                    body="Paketet kom aldrig fram till mig.", language="sv")
    await conversations.set_status(db, admin.actor, conv, "closed")

    await log_in(page, viewer.email)
    search = page.get_by_role("searchbox", name="Sök bland ärenden").first
    await search.fill("paket")
    await search.press("Enter")

    await expect(page.get_by_role("heading", name="Sök")).to_be_visible()
    result = page.locator("#search-results li").first
    await expect(result.locator("mark")).to_have_text("Paketet")
    await expect(result).to_contain_text("Stängd")
    await result.get_by_role("link").click()
    await expect(page).to_have_url(re.compile(rf"/conversations/{conv}$"))
    await expect(page.get_by_role("heading", name="Borttappad leverans")).to_be_visible()
    assert page.problems == []
