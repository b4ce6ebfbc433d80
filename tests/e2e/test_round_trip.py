"""The whole inbox in Chromium, over real SMTP both ways: the issue's "done when", as one editor lives it.

A customer's mail goes through the SMTP ingress and the worker to the dashboard; Anna opens it,
notes, assigns, tags, sets a follow-up and replies; the reply leaves through the worker to a
relay; the customer's answer to it threads back into the same case; the search finds it.
"""
from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default

import aiosmtplib
from playwright.async_api import expect

from app import tags
from tests.e2e.test_form_errors import log_in
from tests.test_mail_out import relay_at, smtp_sink
from tests.factories import make_member, unique_email
from workers.worker import HANDLERS, run_once

# The mail jobs, as `python -m workers.worker` runs them (other tests' queued jobs may run too:
# claims cross organisations, so this test reads only what went to its own customer).
MAIL_JOBS = {kind: HANDLERS[kind] for kind in ("mail.parse", "mail.send")}


async def work_off(db) -> None:
    while await run_once(db, MAIL_JOBS, "round-trip-worker"):
        pass


async def mail_in(port: int, customer: str, to: str, subject: str, body: str, **headers) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = f"Karin Berg <{customer}>", to, subject
    message["Message-ID"] = email.utils.make_msgid(domain="kund.example")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    await aiosmtplib.send(message, hostname="127.0.0.1", port=port, sender=customer, recipients=[to])
    return message


async def test_a_mail_in_worked_and_answered_in_the_browser_and_the_answer_threads_back(
        page, db, settings, smtp_port, mailbox):
    anna = await make_member(db, mailbox.org_id, "editor", "Anna Lind")
    admin = mailbox.admin.actor
    await tags.create_tag(db, admin, "Leverans", await tags.create_group(db, admin, "Område"))
    karin = unique_email("karin")
    first = await mail_in(smtp_port, karin, mailbox.ingress, "Var är mitt paket?", "Hej! Jag väntar på min beställning.")
    await work_off(db)

    await log_in(page, anna.email)
    await page.get_by_role("link", name="Var är mitt paket?").click()
    await expect(page.get_by_text("Hej! Jag väntar på min beställning.")).to_be_visible()

    await page.get_by_label("Intern anteckning (skickas aldrig)").fill("Kollar med lagret.")
    await page.get_by_role("button", name="Spara anteckning").click()
    await expect(page.locator(".message.kind-note", has_text="Kollar med lagret.")).to_be_visible()
    await page.get_by_label("Tilldelad").select_option(label="Anna Lind")
    await page.get_by_role("button", name="Tilldela").click()
    await expect(page.locator(".section-head .muted").first).to_contain_text("Anna Lind")
    await page.locator("select[name=tag_id]").select_option(label="Område: Leverans")
    await page.get_by_role("button", name="Lägg till tagg").click()
    await expect(page.locator(".tags .badge.tag", has_text="Leverans")).to_be_visible()
    await page.get_by_role("button", name="I morgon 09.00").click()
    await expect(page.locator(".follow-up time")).to_contain_text("09:00")

    await page.get_by_label("Svara kunden").fill("Hej Karin! Paketet går i dag.")
    await page.get_by_role("button", name="Skicka svar").click()
    await expect(page.locator(".message.kind-editor", has_text="Paketet går i dag.")).to_be_visible()
    async with smtp_sink() as sink:
        with relay_at(settings, sink.port):
            await work_off(db)
    [envelope] = [e for e in sink.envelopes if e.rcpt_tos == [karin]]
    sent = email.message_from_bytes(envelope.content, policy=default)
    assert sent["In-Reply-To"] == first["Message-ID"] and "[#" in sent["Subject"]

    await mail_in(smtp_port, karin, mailbox.ingress, "Nytt ämne: tack", "Tack, nu kom det!",
                  In_Reply_To=sent["Message-ID"], References=f"{first['Message-ID']} {sent['Message-ID']}")
    await work_off(db)
    await page.reload()
    await expect(page.get_by_text("Tack, nu kom det!")).to_be_visible()  # the same case, by its headers
    await expect(page.locator(".message.kind-editor .badge.delivery")).to_have_text("Skickat")

    await page.get_by_role("searchbox").fill("beställning")
    await page.get_by_role("searchbox").press("Enter")
    await expect(page.locator("mark", has_text="beställning")).to_be_visible()
    assert page.problems == [], page.problems
