"""Forgot password and removing a member, as a person meets them in the browser, error paths included."""
from __future__ import annotations

import pytest
from playwright.async_api import expect

from app import conversations, ratelimit
from app.mail import account_mail
from tests.e2e.test_form_errors import log_in
from tests.factories import make_channel, make_conversation, make_member, make_org
from tests.test_account_mail import link_in, mail_to, work_off_account_mail
from tests.test_mail_out import relay_at, smtp_sink


@pytest.fixture
async def sink(settings, redis_client):
    await ratelimit.clear(redis_client, "forgot:ip:127.0.0.1")  # the browser comes from loopback in every test
    account_mail.configure(settings)
    async with smtp_sink() as sink:
        with relay_at(settings, sink.port):
            yield sink


async def test_forgot_password_from_the_login_page_to_a_new_password(page, db, settings, sink):
    admin = await make_org(db)
    anna = await make_member(db, admin.actor.org_id, "editor", "Anna Lind")
    await page.goto("/login")
    await page.get_by_role("link", name="Glömt lösenordet?").click()
    # the login page has an "E-postadress" too: fill only once the forgot page has replaced it
    await expect(page.get_by_role("heading", name="Glömt lösenordet?")).to_be_visible()

    await page.get_by_label("E-postadress").fill("anna@localhost")  # passes the browser's check, not ours
    await page.get_by_role("button", name="Skicka länk").click()
    await expect(page.get_by_role("alert")).to_have_text("Ange en giltig e-postadress.")
    await expect(page.get_by_label("E-postadress")).to_have_value("anna@localhost")

    await page.get_by_label("E-postadress").fill(anna.email)
    await page.get_by_role("button", name="Skicka länk").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Om det finns ett konto för {anna.email}")

    await work_off_account_mail(db)
    [mail] = mail_to(sink, anna.email)
    await page.goto(link_in(mail, settings, "reset"))
    await page.get_by_label("Nytt lösenord").fill("ett nytt långt lösenord")
    await page.get_by_label("Lösenordet igen").fill("något helt annat här")
    await page.get_by_role("button", name="Spara lösenord").click()
    await expect(page.get_by_role("alert")).to_have_text("Lösenorden stämmer inte överens.")
    await page.get_by_label("Nytt lösenord").fill("ett nytt långt lösenord")
    await page.get_by_label("Lösenordet igen").fill("ett nytt långt lösenord")
    await page.get_by_role("button", name="Spara lösenord").click()
    await expect(page.get_by_role("heading", name="Öppna ärenden")).to_be_visible()
    assert all("400" in p for p in page.problems), page.problems  # only the refusals shown above


async def test_an_admin_removes_a_member_but_not_the_last_admin(page, db):
    admin = await make_org(db, "Borttaget AB")
    bjorn = await make_member(db, admin.actor.org_id, "editor", "Björn Ek")
    case = await make_conversation(db, admin.actor.org_id, await make_channel(db, admin), subject="Björns ärende")
    await conversations.assign(db, admin.actor, case, bjorn.actor.user_id)
    await log_in(page, admin.email)
    await expect(page.locator(f"#conversation-{case}")).to_contain_text("Björn Ek")
    await page.get_by_role("link", name="Team").click()
    page.on("dialog", lambda dialog: dialog.accept())

    row = page.locator(f"#member-{bjorn.actor.user_id}")
    await row.get_by_role("button", name="Ta bort").click()
    await expect(row).to_contain_text("Tidigare medlem")
    await expect(row.get_by_role("button")).to_have_count(0)

    await page.locator(f"#member-{admin.actor.user_id}").get_by_role("button", name="Ta bort").click()
    await expect(page.get_by_role("alert")).to_have_text("Du är den sista administratören: gör någon annan "
                                                         "till administratör först.")
    await page.get_by_role("link", name="Översikt").click()
    await expect(page.locator(f"#conversation-{case}")).not_to_contain_text("Björn Ek")
    assert all("400" in p for p in page.problems), page.problems  # only the refusals shown above
