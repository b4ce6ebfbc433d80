"""Case tools in Chromium: marking spam, splitting a mail out, merging (and its error paths), the formatted mail."""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

from playwright.async_api import expect

from app import conversations
from app.actors import System
from app.mail import ingress, receive
from tests.e2e.test_form_errors import log_in
from tests.factories import make_channel, make_member, make_org


async def _mail_arrives(db, org_id: int, channel_id: int, subject: str, *, html: str | None = None) -> int:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Karin Berg <karin@kund.example>", "info@x.se", subject
    message["Message-ID"] = make_msgid(domain="kund.example")
    message.set_content(f"Hej! {subject}.")
    if html:
        message.add_alternative(html, subtype="html")
    return await receive.receive(db, org_id, await ingress.store(db, ingress.Mailbox(org_id, channel_id),
                                                                  message.as_bytes()))


async def _team(db, name: str):
    admin = await make_org(db, name)
    anna = await make_member(db, admin.actor.org_id, "editor", "Anna Lind")
    return admin.actor.org_id, anna, await make_channel(db, admin)


async def test_an_editor_marks_a_case_as_spam_and_back(page, db):
    org_id, anna, channel = await _team(db, "Spamfria AB")
    conv = await _mail_arrives(db, org_id, channel, "Billiga klockor")
    await log_in(page, anna.email)
    await expect(page.get_by_role("link", name="Billiga klockor")).to_be_visible()
    await page.goto(f"/conversations/{conv}")
    await page.get_by_role("button", name="Markera som skräppost").click()
    await expect(page.locator(".case-head .badge.spam")).to_have_text("Skräppost")
    await expect(page.locator(".event", has_text="markerade ärendet som skräppost")).to_contain_text("Anna Lind")
    await page.get_by_role("link", name="Översikt").click()
    await expect(page.get_by_role("link", name="Billiga klockor")).to_have_count(0)
    await page.goto(f"/conversations/{conv}")
    await page.get_by_role("button", name="Inte skräppost").click()
    await expect(page.locator(".case-head .badge.spam")).to_have_count(0)
    assert page.problems == [], page.problems


async def test_an_editor_splits_a_mail_out_and_must_say_why(page, db):
    org_id, anna, channel = await _team(db, "Delbara AB")
    conv = await _mail_arrives(db, org_id, channel, "Två frågor")
    await conversations.add_message(db, System(org_id), conv, kind="customer", body="En sak till: ny adress?")
    number = (await conversations.find_row(db, org_id, conv))["case_number"]
    await log_in(page, anna.email)
    await page.goto(f"/conversations/{conv}")
    second = page.locator(".message", has_text="En sak till: ny adress?")
    await second.get_by_text("Bryt ut till ett nytt ärende").click()
    why = second.get_by_label("Varför")
    await why.fill("   ")  # passes the browser's `required`, not ours
    await second.get_by_role("button", name="Bryt ut").click()
    await expect(page.get_by_role("alert")).to_have_text("Skriv varför mejlet bryts ut.")
    second = page.locator(".message", has_text="En sak till: ny adress?")
    await second.get_by_text("Bryt ut till ett nytt ärende").click()
    await second.get_by_label("Varför").fill("Gäller en annan beställning")
    await second.get_by_role("button", name="Bryt ut").click()
    await expect(page.locator(".split-from")).to_contain_text(f"Utbrutet ur #{number}: Gäller en annan beställning")
    await expect(page.get_by_text("En sak till: ny adress?")).to_be_visible()
    await page.get_by_role("link", name=f"#{number}", exact=True).click()
    await expect(page.locator(".event", has_text="bröt ut ett mejl till")).to_be_visible()
    await expect(page.get_by_text("En sak till: ny adress?")).to_have_count(0)
    assert [p for p in page.problems if "400" not in p] == [], page.problems  # htmx logs the refusal


async def test_merging_refuses_itself_and_a_missing_number_then_merges(page, db):
    org_id, anna, channel = await _team(db, "Sammanslagna AB")
    source = await _mail_arrives(db, org_id, channel, "Första frågan")
    target = await _mail_arrives(db, org_id, channel, "Andra frågan")
    source_number, target_number = [(await conversations.find_row(db, org_id, c))["case_number"]
                                    for c in (source, target)]
    await log_in(page, anna.email)
    await page.goto(f"/conversations/{source}")
    into = page.get_by_label("Slå ihop med ärende")
    merge = page.get_by_role("button", name="Slå ihop")
    await into.fill(f"#{source_number}")
    await merge.click()
    await expect(page.get_by_role("alert")).to_have_text("Ett ärende kan inte slås ihop med sig självt.")
    await expect(into).to_have_value(f"#{source_number}")
    await into.fill("#99999")
    await merge.click()
    await expect(page.get_by_role("alert")).to_have_text("Det finns inget ärende med nummer #99999.")
    await expect(into).to_have_value("#99999")
    await into.fill(str(target_number))
    await merge.click()
    await expect(page).to_have_url(f"/conversations/{target}")
    await expect(page.locator(".event", has_text=f"slog ihop #{source_number} med det här ärendet")).to_be_visible()
    await expect(page.get_by_text("Hej! Första frågan.")).to_be_visible()
    await page.goto(f"/conversations/{source}")
    await expect(page.locator(".notice.merged")).to_have_text(f"Sammanslaget med #{target_number}")
    # htmx reports each refusal (400) on the console; nothing else went wrong
    assert [p for p in page.problems if "400" not in p] == [], page.problems


async def test_the_formatted_mail_shows_in_a_frame_without_remote_images_or_scripts(page, db, server):
    org_id, anna, channel = await _team(db, "Formaterade AB")
    # a "remote" image that would load if allowed: this very server answers for it
    html = (f'<p>Hej! <b>Fetstil</b> här.</p><img src="{server}/static/favicon.svg?spårning" alt="spårning">'
            '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="inbäddad">')
    conv = await _mail_arrives(db, org_id, channel, "Formaterat", html=html)
    loaded: list[str] = []
    page.on("response", lambda r: loaded.append(r.url) if "favicon.svg?" in r.url else None)
    await log_in(page, anna.email)
    await page.goto(f"/conversations/{conv}")
    await page.get_by_text("Visa formaterat").click()
    frame = page.frame_locator(".formatted iframe")
    await expect(frame.locator("b")).to_have_text("Fetstil")
    await expect(frame.get_by_alt_text("inbäddad")).to_be_attached()
    assert loaded == [], "remote images are blocked"
    assert any("violates the following Content Security Policy directive" in p for p in page.problems), page.problems
    assert [p for p in page.problems if "Content Security Policy" not in p] == []
