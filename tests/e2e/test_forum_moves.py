"""Forum moves in a browser: an editor moves a thread to private mail and publishes it back; a forum's form
inside another site's frame, allowed for a listed site and refused for any other."""
from __future__ import annotations

import asyncio
import contextlib
import re

from playwright.async_api import expect

from app import channels, forum
from devtools.services import free_port
from tests.e2e.test_form_errors import log_in
from tests.factories import make_channel, make_member, make_org, unique_email


async def _forum(db, admin) -> forum.Forum:
    forum_id = await make_channel(db, admin, kind="forum", name="Cykelforum", colour="green")
    return await forum.find(db, (await channels.get_channel(db, admin.actor.org_id, forum_id))["address"])


async def test_an_editor_moves_a_thread_to_private_mail_and_publishes_it_back_to_the_forum(browser, server, page, db):
    admin = await make_org(db, "Cykelbolaget AB")
    anna = await make_member(db, admin.actor.org_id, "editor", "Anna Lind")
    await make_channel(db, admin, name="Fakturor")
    found = await _forum(db, admin)
    karin = unique_email("karin")
    number = await forum.start_thread(db, found, topic="question", title="Fel belopp på min faktura",
                                      post=forum.Post("Karin Berg", karin, "Min faktura 4711 har fel belopp."))
    thread_id = (await forum.thread(db, found, number))["thread"]["id"]

    await log_in(page, anna.email)
    await page.goto(f"/conversations/{thread_id}")
    await page.get_by_role("link", name="Flytta till privat mejl").click()
    await expect(page.get_by_label("Inkorg")).to_have_value(re.compile(r"\d+"))
    await expect(page.get_by_label("Ditt mejl till kunden")).to_have_value(re.compile("^Hej Karin Berg!"))
    await page.get_by_label("Det forumet visar i stället för tråden").fill("   ")  # passes `required`, not ours
    await page.get_by_role("button", name="Flytta till privat mejl").click()
    await expect(page.get_by_role("alert")).to_have_text("Skriv texten som forumet visar i stället för tråden.")
    await expect(page.get_by_label("Ditt mejl till kunden")).to_have_value(re.compile("^Hej Karin Berg!"))
    await page.get_by_label("Det forumet visar i stället för tråden").fill("Vi hjälper Karin per mejl.")
    await page.get_by_role("button", name="Flytta till privat mejl").click()

    await expect(page.get_by_text("Flyttad hit från forumet Cykelforum.")).to_be_visible()
    await expect(page.get_by_text(f"Mejlet till {karin} väntar tills")).to_be_visible()  # her address: unconfirmed
    await expect(page.get_by_text(f"#{number}").first).to_be_visible()  # the same case number
    await expect(page.get_by_text("Min faktura 4711 har fel belopp.").first).to_be_visible()  # and history

    visitor = await (await browser.new_context(base_url=server, locale="sv-SE")).new_page()
    try:
        await visitor.goto(f"/forum/{found.slug}/{number}")
        await expect(visitor.get_by_text("Vi hjälper Karin per mejl.")).to_be_visible()
        assert "4711" not in await visitor.content()

        await page.get_by_role("link", name="Publicera i forumet").click()
        await expect(page.get_by_label("Frågan")).to_have_value("Min faktura 4711 har fel belopp.")
        await expect(page.locator("select[name=forum_id]")).to_have_value(str(found.channel_id))
        await page.get_by_label("Frågan").fill("Min faktura har fel belopp.")
        await page.get_by_label("Svaret").fill("Vi skickar en rättad faktura.")
        await page.get_by_role("button", name="Publicera", exact=True).click()  # without the edit step
        await expect(page.get_by_role("alert")).to_have_text("Bekräfta att du har tagit bort kundens personuppgifter.")
        await expect(page.get_by_label("Frågan")).to_have_value("Min faktura har fel belopp.")
        await page.get_by_label("Jag har tagit bort kundens personuppgifter").check()
        await page.get_by_role("button", name="Publicera", exact=True).click()
        await expect(page.get_by_text("Publicerad från ärende")).to_be_visible()

        await visitor.goto(f"/forum/{found.slug}/{number}")
        await visitor.get_by_role("link", name="Läs svaret i forumet").click()
        await expect(visitor.get_by_text("Min faktura har fel belopp.")).to_be_visible()
        await expect(visitor.locator(".forum-post.official")).to_contain_text("Vi skickar en rättad faktura.")
        assert "4711" not in await visitor.content() and "Karin" not in await visitor.content()
    finally:
        await visitor.context.close()


SITE = """<!doctype html><html><head><title>Cykelappen</title></head><body><h1>Cykelappen</h1>{snippet}</body></html>"""


@contextlib.asynccontextmanager
async def another_site(shown: dict):
    """Another site (its own origin: another port) whose every path shows shown["html"]."""

    async def answer(reader, writer):
        body = shown["html"].encode()
        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
            pass  # the request's headers: every path gets the same page
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", port := free_port())
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


async def test_the_forums_form_works_in_a_listed_sites_frame_and_nowhere_else(browser, server, page, db):
    admin = await make_org(db, "Cykelbolaget AB")
    found = await _forum(db, admin)
    await log_in(page, admin.email)
    await page.goto(f"/admin/channels/{found.channel_id}")
    await page.get_by_label("Webbplatser som får visa formuläret, en per rad").fill("kund.example")
    await page.get_by_role("button", name="Spara webbplatser").click()
    await expect(page.get_by_role("alert")).to_contain_text("kund.example är ingen webbplatsadress")
    shown = {"html": ""}
    async with another_site(shown) as listed_site, another_site(shown) as other_site:
        await page.get_by_label("Webbplatser som får visa formuläret, en per rad").fill(listed_site)
        await page.get_by_role("button", name="Spara webbplatser").click()
        snippet = await page.get_by_label("Klistra in detta där formuläret ska synas").input_value()
        assert f'src="{server}/forum/{found.slug}/embed"' in snippet
        shown["html"] = SITE.format(snippet=snippet)  # both sites paste the snippet; only one is listed
        await _post_from_sites(browser, db, found, listed_site, other_site)


async def _post_from_sites(browser, db, found, listed_site: str, other_site: str) -> None:
    context = await browser.new_context(locale="sv-SE")
    visitor = await context.new_page()
    try:
        await visitor.goto(listed_site)
        frame = visitor.frame_locator("iframe")
        await frame.get_by_label("Idé").check()
        await frame.get_by_label("Rubrik").fill("Mörkt läge i appen")
        await frame.get_by_label("Text").fill("Det vore skönt på kvällen.")
        await frame.get_by_label("Ditt namn").fill("   ")
        await frame.get_by_label("Din e-postadress").fill(unique_email("sam"))
        await frame.get_by_role("button", name="Publicera").click()
        await expect(frame.get_by_role("alert")).to_have_text("Skriv ditt namn.")  # inside the frame, as typed
        await expect(frame.get_by_label("Rubrik")).to_have_value("Mörkt läge i appen")
        await frame.get_by_label("Ditt namn").fill("Sam Ek")
        await frame.get_by_role("button", name="Publicera").click()
        await expect(frame.get_by_role("status")).to_have_text("Tack! Ditt inlägg är publicerat i forumet.")
        assert [t["subject"] for t in await forum.threads(db, found)] == ["Mörkt läge i appen"]

        # the same snippet on a site that is not listed: the browser refuses to show our page there
        async with visitor.expect_console_message(lambda m: "frame-ancestors" in m.text) as refused:
            await visitor.goto(other_site)
        assert "has been blocked" in (await refused.value).text
        await expect(visitor.get_by_role("heading", name="Cykelappen")).to_be_visible()
        await expect(frame.get_by_label("Rubrik")).to_have_count(0)
    finally:
        await context.close()
