"""An editor works a case that arrived by mail, in Chromium: note, reply, assignment, status."""
from __future__ import annotations

from email.message import EmailMessage

from playwright.async_api import expect

from app import conversations
from app.actors import System
from app.mail import ingress, receive
from tests.e2e.test_form_errors import log_in
from tests.factories import make_channel, make_member, make_org


async def _mail_arrives(db, org_id: int, channel_id: int, subject: str) -> int:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Karin Berg <karin@kund.example>", "info@x.se", subject
    message.set_content("Hej! Min beställning har inte kommit.")
    return await receive.receive(db, org_id, await ingress.store(db, ingress.Mailbox(org_id, channel_id),
                                                                  message.as_bytes()))


async def test_an_editor_notes_replies_assigns_and_closes_a_mail_case(page, db):
    admin = await make_org(db, "Kundtjänsten AB")
    anna = await make_member(db, admin.actor.org_id, "editor", "Anna Lind")
    conv = await _mail_arrives(db, admin.actor.org_id, await make_channel(db, admin), "Paketet har inte kommit")
    await log_in(page, anna.email)
    await page.get_by_role("link", name="Paketet har inte kommit").click()
    await expect(page.get_by_text("Hej! Min beställning har inte kommit.")).to_be_visible()

    await page.get_by_label("Intern anteckning (skickas aldrig)").fill("Kollar med lagret först.")
    await page.get_by_role("button", name="Spara anteckning").click()
    note = page.locator(".message.kind-note", has_text="Kollar med lagret först.")
    await expect(note.locator(".badge.note")).to_have_text("Intern anteckning")
    # the live push can show the note before the form's own answer replaces the page: wait for that page
    await expect(page.get_by_label("Intern anteckning (skickas aldrig)")).to_have_value("")

    await page.get_by_label("Svara kunden").fill("Hej Karin! Paketet skickas i dag.")
    await page.get_by_role("button", name="Skicka svar").click()
    reply = page.locator(".message.kind-editor", has_text="Paketet skickas i dag.")
    await expect(reply.locator(".badge.delivery")).to_have_text("Inte skickat än")

    await page.get_by_label("Tilldelad").select_option(label="Anna Lind")
    await page.get_by_role("button", name="Tilldela").click()
    await expect(page.locator(".section-head .muted").first).to_contain_text("Anna Lind")
    await expect(page.locator(".htmx-request")).to_have_count(0)  # the live push may come before the form's page
    await page.get_by_label("Status").select_option(label="Stängd")
    await page.get_by_role("button", name="Spara status").click()
    await expect(page.locator(".section-head .muted").first).to_contain_text("Stängd")
    row, _ = await conversations.get(db, admin.actor.org_id, conv)
    assert (row["status"], row["assignee_id"]) == ("closed", anna.actor.user_id)


async def test_a_reply_crossing_a_new_customer_mail_is_held_for_review(page, db):
    admin = await make_org(db, "Krockfria AB")
    anna = await make_member(db, admin.actor.org_id, "editor", "Anna Lind")
    conv = await _mail_arrives(db, admin.actor.org_id, await make_channel(db, admin), "Fel storlek")
    await log_in(page, anna.email)
    await page.goto(f"/conversations/{conv}")
    await page.get_by_label("Svara kunden").fill("Vi byter gärna storlek.")
    # the customer writes again while Anna is typing
    await conversations.add_message(db, System(admin.actor.org_id), conv, kind="customer", body="Nu passar den!")
    await page.get_by_role("button", name="Skicka svar").click()
    await expect(page.get_by_role("alert")).to_contain_text("Medan du skrev")
    await expect(page.get_by_text("Nu passar den!")).to_be_visible()
    await expect(page.get_by_label("Svara kunden")).to_have_value("Vi byter gärna storlek.")
    await page.get_by_role("button", name="Skicka ändå").click()
    await expect(page.locator(".message.kind-editor", has_text="Vi byter gärna storlek.")).to_be_visible()


async def test_an_editor_tags_a_case_and_removes_the_tag_again(page, db):
    from app import tags

    admin = await make_org(db, "Taggbolaget AB")
    anna = await make_member(db, admin.actor.org_id, "editor", "Anna Lind")
    await tags.create_tag(db, admin.actor, "Leverans", await tags.create_group(db, admin.actor, "Ämne"))
    conv = await _mail_arrives(db, admin.actor.org_id, await make_channel(db, admin), "Sen leverans")
    await log_in(page, anna.email)
    await page.goto(f"/conversations/{conv}")
    await page.locator("select[name=tag_id]").select_option(label="Ämne: Leverans")
    await page.get_by_role("button", name="Lägg till tagg").click()
    badge = page.locator(".tags .badge.tag", has_text="Leverans")
    await expect(badge).to_be_visible()
    await badge.get_by_role("button", name="Ta bort taggen Leverans").click()
    await expect(page.locator(".tags .badge.tag")).to_have_count(0)
    assert page.problems == [], page.problems


async def test_a_canned_reply_goes_in_by_click_and_by_shortcut(page, db):
    from app import canned

    admin = await make_org(db, "Mallbolaget AB")
    anna = await make_member(db, admin.actor.org_id, "editor", "Anna Lind")
    await canned.create(db, admin.actor, title="Tack", body="Tack {kund}!", shortcut="tack")
    conv = await _mail_arrives(db, admin.actor.org_id, await make_channel(db, admin), "Tackmejl")
    await log_in(page, anna.email)
    await page.goto(f"/conversations/{conv}")
    reply = page.get_by_label("Svara kunden")
    await page.locator(".canned-insert", has_text="Tack").click()
    await expect(reply).to_have_value("Tack Karin Berg!")
    await reply.fill("")
    await reply.press_sequentially("Hej! /tack ")
    await expect(reply).to_have_value("Hej! Tack Karin Berg!")
    assert page.problems == [], page.problems
