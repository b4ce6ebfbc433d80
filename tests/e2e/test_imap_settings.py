"""A mailbox's IMAP settings in the browser: errors say what is wrong and keep what was typed, but never the password."""
from __future__ import annotations

from playwright.async_api import expect

from tests.e2e.test_form_errors import log_in
from tests.factories import make_channel, make_org
from tests.test_imap import Account, work_off


async def test_imap_form_errors_keep_the_input_and_the_saved_password_is_never_shown(page, db, dovecot):
    admin = await make_org(db, "Hämtarna AB")
    channel = await make_channel(db, admin, "mailbox", name="info@")
    account = Account(dovecot)
    await log_in(page, admin.email)
    await page.goto(f"/admin/channels/{channel}")
    host, security, port = page.get_by_label("IMAP-server"), page.get_by_label("Anslutning"), page.get_by_label("Port", exact=True)
    username, password = page.get_by_label("Användarnamn"), page.get_by_label("Lösenord")
    save = page.get_by_role("button", name="Spara IMAP-inställningar")

    await host.fill("imap.example.se")
    await security.select_option(label="Okrypterat (bara till den här datorn)")
    await username.fill(account.user)
    await password.fill(account.password)
    await save.click()
    await expect(page.get_by_role("alert")).to_contain_text("okrypterad anslutning är tillåten bara till den här datorn")
    await expect(host).to_have_value("imap.example.se")
    await expect(username).to_have_value(account.user)
    await expect(password).to_have_value("")  # a password is never sent back, not even the one just typed

    await host.fill("127.0.0.1")
    await port.fill("port 143")
    await password.fill(account.password)
    await save.click()
    await expect(page.get_by_role("alert")).to_have_text("Porten är ett tal från 1 till 65535.")
    await expect(security).to_have_value("none")

    await port.fill(str(dovecot.port))
    await password.fill(account.password)
    await save.click()
    await expect(page.get_by_text("Ett lösenord är sparat.")).to_be_visible()
    await expect(page.get_by_text("Inte hämtat än")).to_be_visible()
    assert account.password not in await page.content()

    await account.append(b"From: kund@example.se\r\nSubject: Via IMAP\r\nMessage-ID: <e2e-imap@kund.example>\r\n\r\nHej!\r\n")
    await work_off(db)
    await page.reload()
    await expect(page.get_by_role("status")).to_contain_text("Senast hämtat")
    await expect(page.get_by_role("status")).to_contain_text("1 nytt mejl")

    # a wrong password, saved over the right one, shows on the page after the next poll
    await password.fill("fel-lösenord")
    async with page.expect_navigation():  # saved (the redirect came back) before the worker polls
        await save.click()
    await work_off(db)
    await page.reload()
    await expect(page.locator(".imap-error")).to_contain_text("IMAP-servern godtog inte användarnamnet eller lösenordet.")
    assert page.problems == [] or all("400" in p for p in page.problems), page.problems
