"""The reply composer in Chromium: Cc and a file on a reply, a draft that survives a reload, a new mail,
and the error paths (a bad Cc, a file too big), with JavaScript and without."""
from __future__ import annotations

from playwright.async_api import expect

from app import conversations, drafts
from tests.e2e.test_form_errors import log_in
from tests.e2e.test_working_a_case import _mail_arrives
from tests.factories import make_channel, make_member, make_org, unique_email


async def _editor_on_a_case(page, db, subject: str):
    admin = await make_org(db, "Komponera AB")
    anna = await make_member(db, admin.actor.org_id, "editor", "Anna Lind")
    channel = await make_channel(db, admin)
    conv = await _mail_arrives(db, admin.actor.org_id, channel, subject)
    await log_in(page, anna.email)
    await page.goto(f"/conversations/{conv}")
    return admin, anna, channel, conv


async def test_a_reply_with_cc_and_an_attachment(page, db):
    admin, _, _, conv = await _editor_on_a_case(page, db, "Kvitto saknas")
    cc = unique_email("chef")
    await page.get_by_label("Kopia (Cc)").fill(cc)
    await page.get_by_label("Svara kunden").fill("Hej Karin! Här är kvittot.")
    await page.get_by_label("Bifoga filer").set_input_files(
        {"name": "kvitto.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 kvitto"})
    await expect(page.locator("#draft-files .filename")).to_have_text(["kvitto.pdf"])  # uploaded, no reload
    await expect(page.get_by_role("button", name="Bifoga", exact=True)).to_be_hidden()
    await page.get_by_role("button", name="Skicka svar").click()
    reply = page.locator(".message.kind-editor", has_text="Här är kvittot.")
    await expect(reply.locator(".copies")).to_contain_text(cc)
    await expect(reply.locator(".attachments a")).to_have_text("kvitto.pdf")
    await expect(page.locator("#draft-files .filename")).to_have_count(0)
    assert page.problems == [], page.problems


async def test_a_draft_survives_a_reload(page, db):
    _, anna, _, conv = await _editor_on_a_case(page, db, "Utkastet")
    await page.get_by_label("Kopia (Cc)").fill("chef@firma.example")
    await page.get_by_label("Svara kunden").fill("Hej Karin, jag återkommer")
    await expect(page.locator(".draft-state")).to_have_text("Utkastet är sparat")
    await page.reload()
    await expect(page.get_by_label("Svara kunden")).to_have_value("Hej Karin, jag återkommer")
    await expect(page.get_by_label("Kopia (Cc)")).to_have_value("chef@firma.example")
    await page.get_by_role("button", name="Skicka svar").click()
    await expect(page.locator(".message.kind-editor", has_text="jag återkommer")).to_be_visible()
    await expect(page.get_by_label("Svara kunden")).to_have_value("")
    assert (await drafts.get(db, anna.actor, conv)).body == ""
    assert page.problems == [], page.problems


async def test_a_new_mail_opens_a_case(page, db):
    admin = await make_org(db, "Nya mejl AB")
    anna = await make_member(db, admin.actor.org_id, "editor", "Anna Lind")
    await make_channel(db, admin, name="Kundtjänst")
    await log_in(page, anna.email)
    await page.get_by_role("link", name="Nytt mejl").click()
    customer = unique_email("karin")
    await page.get_by_label("Till").fill(customer)
    await page.get_by_label("Ämne").fill("Er beställning")
    await page.get_by_label("Meddelande").fill("Hej! Vi har fått er beställning.")
    await page.get_by_role("button", name="Skicka mejlet").click()
    await expect(page.get_by_role("heading", name="Er beställning")).to_be_visible()
    await expect(page.locator(".message.kind-editor .badge.delivery")).to_have_text("Inte skickat än")
    await expect(page.locator(".section-head")).to_contain_text(customer)
    [row] = [r for r in await conversations.queue(db, admin.actor.org_id) if r["subject"] == "Er beställning"]
    assert row["customer_email"] == customer
    assert page.problems == [], page.problems


async def test_a_bad_cc_says_what_is_wrong_and_keeps_the_reply(page, db):
    await _editor_on_a_case(page, db, "Fel kopia")
    await page.get_by_label("Kopia (Cc)").fill("chef(at)firma.se")
    await page.get_by_label("Svara kunden").fill("Hej Karin!")
    await page.get_by_role("button", name="Skicka svar").click()
    await expect(page.get_by_role("alert")).to_have_text("chef(at)firma.se är ingen e-postadress som vi kan skicka till.")
    await expect(page.get_by_label("Svara kunden")).to_have_value("Hej Karin!")
    await page.get_by_label("Kopia (Cc)").fill("chef@firma.example")
    await page.get_by_role("button", name="Skicka svar").click()
    await expect(page.locator(".message.kind-editor .copies")).to_contain_text("chef@firma.example")


async def test_a_file_too_big_for_a_mail_is_refused(page, db, settings):
    await _editor_on_a_case(page, db, "Stor fil")
    too_big = drafts.files_budget(settings.mail_max_bytes) + 1
    await page.get_by_label("Bifoga filer").set_input_files(
        {"name": "film.mov", "mimeType": "video/quicktime", "buffer": b"\0" * too_big})
    await expect(page.get_by_role("alert")).to_contain_text("Det är för stort: filerna i ett mejl får vara högst")
    await expect(page.locator("#draft-files .filename")).to_have_count(0)
    await page.get_by_label("Bifoga filer").set_input_files(
        {"name": "liten.txt", "mimeType": "text/plain", "buffer": b"liten"})
    await expect(page.locator("#draft-files .filename")).to_have_text(["liten.txt"])


async def test_without_javascript_files_are_attached_and_sent(browser, server, db):
    context = await browser.new_context(base_url=server, locale="sv-SE", java_script_enabled=False)
    page = await context.new_page()
    try:
        admin, _, _, conv = await _editor_on_a_case(page, db, "Utan skript")
        await page.get_by_label("Svara kunden").fill("Hej! Se bilagan.")
        await page.get_by_label("Bifoga filer").set_input_files(
            {"name": "bilaga.txt", "mimeType": "text/plain", "buffer": b"bilagan"})
        await page.get_by_role("button", name="Bifoga", exact=True).click()
        await expect(page.locator("#draft-files .filename")).to_have_text(["bilaga.txt"])
        await expect(page.get_by_label("Svara kunden")).to_have_value("Hej! Se bilagan.")
        await page.get_by_role("button", name="Skicka svar").click()
        reply = page.locator(".message.kind-editor", has_text="Se bilagan.")
        await expect(reply.locator(".attachments a")).to_have_text("bilaga.txt")
    finally:
        await context.close()
