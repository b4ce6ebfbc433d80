"""Two editors in two browsers: what one does, and what arrives, shows on the other's screen without reload."""
from __future__ import annotations

import dataclasses

from playwright.async_api import expect

from devtools.services import free_port
from tests.e2e.test_form_errors import log_in
from tests.e2e.test_working_a_case import _mail_arrives
from app import accounts
from tests.factories import PASSWORD, make_channel, make_member, make_org, unique_email
from tests.test_live import start_web

WAIT = 15_000  # ms: generous, never an assertion about speed


async def test_anna_sees_a_new_mail_and_bjorns_change_without_reloading(page, browser, server, db):
    admin = await make_org(db, "Samtidiga AB")
    org_id = admin.actor.org_id
    anna = await make_member(db, org_id, "editor", "Anna Lind")
    bjorn_email = unique_email("bjorn")  # an ASCII address: a browser's e-mail field refuses "björn@"
    await accounts.add_member(db, org_id, await accounts.create_user(db, bjorn_email, "Björn Ek", PASSWORD), "editor")
    channel = await make_channel(db, admin)
    bjorn_context = await browser.new_context(base_url=server, locale="sv-SE")
    bjorn = await bjorn_context.new_page()
    try:
        await log_in(page, anna.email)
        await log_in(bjorn, bjorn_email)
        for screen in (page, bjorn):
            await expect(screen.locator("#live-state")).to_have_text("Live", timeout=WAIT)
        await page.evaluate("window.notReloaded = true")

        await _mail_arrives(db, org_id, channel, "Paketet kom aldrig fram")
        row = page.locator(".queue-row", has_text="Paketet kom aldrig fram")
        await expect(row).to_be_visible(timeout=WAIT)
        await expect(page.locator("#dashboard-channels")).to_contain_text("1", timeout=WAIT)

        await bjorn.get_by_role("link", name="Paketet kom aldrig fram").click()
        await bjorn.get_by_label("Status").select_option(label="Stängd")
        await bjorn.get_by_role("button", name="Spara status").click()
        await expect(row).to_have_count(0, timeout=WAIT)
        assert await page.evaluate("window.notReloaded === true")
        assert page.problems == []
    finally:
        await bjorn_context.close()


async def test_bjorn_sees_anna_working_on_a_case_and_writing(page, browser, server, db):
    from app import conversations

    admin = await make_org(db, "Närvarande AB")
    org_id = admin.actor.org_id
    anna = await make_member(db, org_id, "editor", "Anna Lind")
    bjorn_email = unique_email("bjorn")
    await accounts.add_member(db, org_id, await accounts.create_user(db, bjorn_email, "Björn Ek", PASSWORD), "editor")
    conv = await _mail_arrives(db, org_id, await make_channel(db, admin), "Fel färg på tröjan")
    bjorn_context = await browser.new_context(base_url=server, locale="sv-SE")
    bjorn = await bjorn_context.new_page()
    try:
        await log_in(bjorn, bjorn_email)
        await log_in(page, anna.email)
        await page.get_by_role("link", name="Fel färg på tröjan").click()
        row = bjorn.locator(".queue-row", has_text="Fel färg på tröjan")
        await expect(row.locator(".presence-mark")).to_have_text("Anna Lind", timeout=WAIT)

        await bjorn.get_by_role("link", name="Fel färg på tröjan").click()
        await expect(bjorn.locator("#presence")).to_have_text("Anna Lind arbetar med detta", timeout=WAIT)
        await page.get_by_label("Svara kunden").fill("Hej! Vi skickar en ny.")
        await expect(bjorn.locator("#presence")).to_have_text("Anna Lind skriver ett svar", timeout=WAIT)
        await expect(page.locator("#presence")).to_have_text("Björn Ek arbetar med detta", timeout=WAIT)
        # both came to the case by a link (one page turning into another on the same socket): its own pieces reach
        # them, as the case page's pieces go only to the sockets showing it
        await conversations.assign(db, admin.actor, conv, anna.actor.user_id)
        for screen in (page, bjorn):
            await expect(screen.locator(f"#conversation-{conv}-head")).to_contain_text("Anna Lind", timeout=WAIT)

        await page.get_by_role("link", name="Översikt").click()  # Anna leaves the case
        await expect(bjorn.locator("#presence")).to_have_text("", timeout=WAIT)
        assert page.problems == []
    finally:
        await bjorn_context.close()



async def test_anna_is_told_at_once_when_bjorn_replies_while_she_writes(page, db):
    from app import conversations

    admin = await make_org(db, "Korsande AB")
    org_id = admin.actor.org_id
    anna = await make_member(db, org_id, "editor", "Anna Lind")
    bjorn = await make_member(db, org_id, "editor", "Björn Ek")
    conv = await _mail_arrives(db, org_id, await make_channel(db, admin), "Trasig dragkedja")
    await log_in(page, anna.email)
    await page.goto(f"/conversations/{conv}")
    await expect(page.locator("#live-state")).to_have_text("Live", timeout=WAIT)
    notice = page.locator(".notice.crossed")
    await conversations.add_message(db, admin.actor, conv, kind="note", body="Kolla lagret.")  # a note is no answer
    await page.get_by_label("Svara kunden").fill("Hej! Vi skickar en ny dragkedja.")
    await expect(page.locator(".message.kind-note", has_text="Kolla lagret.")).to_be_visible(timeout=WAIT)
    await expect(notice).to_be_hidden()

    await conversations.add_message(db, bjorn.actor, conv, kind="editor", body="Hej! En ny är på väg.")
    await expect(notice).to_have_text("Medan du skrev har Björn Ek skrivit i ärendet: läs det ovan innan du skickar.",
                                      timeout=WAIT)
    await expect(page.get_by_text("Hej! En ny är på väg.")).to_be_visible()
    await expect(page.get_by_label("Svara kunden")).to_have_value("Hej! Vi skickar en ny dragkedja.")
    assert page.problems == []


async def test_a_web_restart_shows_and_the_page_comes_back_current(browser, settings, db):
    """Anna's page stays open while its web process stops and starts again; what happened meanwhile arrives."""
    own = dataclasses.replace(settings, web_port=free_port())
    _, stop = await start_web(own)
    admin = await make_org(db, "Omstartade AB")
    org_id = admin.actor.org_id
    anna = await make_member(db, org_id, "editor", "Anna Lind")
    channel = await make_channel(db, admin)
    context = await browser.new_context(base_url=own.base_url, locale="sv-SE")
    page = await context.new_page()
    try:
        await log_in(page, anna.email)
        state = page.locator("#live-state")
        await expect(state).to_have_text("Live", timeout=WAIT)
        await page.evaluate("window.notReloaded = true")

        await stop()
        await expect(state).to_contain_text("Ej ansluten sedan", timeout=WAIT)
        await expect(state).to_have_attribute("data-state", "offline")
        await _mail_arrives(db, org_id, channel, "Kom under omstarten")  # no process is there to push it
        _, stop = await start_web(own)

        await expect(state).to_have_text("Live", timeout=WAIT)
        await expect(page.locator(".queue-row", has_text="Kom under omstarten")).to_be_visible(timeout=WAIT)
        assert await page.evaluate("window.notReloaded === true")
    finally:
        await context.close()
        await stop()
