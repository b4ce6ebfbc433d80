"""Every form's error paths as a person meets them in the browser: a clear message, nothing lost, then success."""
from __future__ import annotations

from playwright.async_api import expect

from app import accounts
from tests.factories import PASSWORD, make_channel, make_member, make_org, unique_email


async def log_in(page, email: str, password: str = PASSWORD) -> None:
    await page.goto("/login")
    await page.get_by_label("E-postadress").fill(email)
    await page.get_by_label("Lösenord").fill(password)
    await page.get_by_role("button", name="Logga in").click()
    await expect(page.get_by_role("heading", name="Öppna ärenden")).to_be_visible()


async def _invite_link(db, settings, admin, email: str) -> str:
    return f"/invite/{accounts.invite_token(settings.secret_key, await accounts.invite(db, admin.actor, email, 'editor'))}"


async def test_invite_form_says_what_is_wrong_and_keeps_the_name_until_it_works(page, db, settings):
    admin = await make_org(db, "Inbjudarna AB")
    await page.goto(await _invite_link(db, settings, admin, unique_email("cecilia")))
    name, password, again = page.get_by_label("Ditt namn"), page.get_by_label("Välj ett lösenord"), \
        page.get_by_label("Lösenordet igen")
    join = page.get_by_role("button", name="Gå med")

    await name.fill("Cecilia Ny")
    await password.fill("ett långt lösenord")
    await again.fill("ett annat långt lösenord")
    await join.click()
    await expect(page.get_by_role("alert")).to_have_text("Lösenorden stämmer inte överens.")
    await expect(name).to_have_value("Cecilia Ny")

    await name.fill("   ")  # passes the browser's `required`, not ours
    await password.fill("ett långt lösenord")
    await again.fill("ett långt lösenord")
    await join.click()
    await expect(page.get_by_role("alert")).to_have_text("Ange ett namn.")

    await name.fill("Cecilia\u202eyN")
    await password.fill("ett långt lösenord")
    await again.fill("ett långt lösenord")
    await join.click()
    await expect(page.get_by_role("alert")).to_contain_text("synliga tecken")

    await name.fill("Cecilia Ny")
    await password.fill("ett långt lösenord")
    await again.fill("ett långt lösenord")
    await join.click()
    await expect(page.get_by_role("heading", name="Öppna ärenden")).to_be_visible()
    await expect(page.locator(".topbar .user")).to_contain_text("Cecilia Ny")
    assert page.problems == [] or all(" 400 " in p or p.startswith("400") or "status of 400" in p
                                      for p in page.problems), page.problems


async def test_an_existing_account_is_sent_to_log_in_and_then_joins(page, db, settings):
    admin = await make_org(db, "Nya jobbet AB")
    sara = await make_org(db, "Gamla jobbet AB", "Sara Finns")
    link = await _invite_link(db, settings, admin, sara.email)
    await page.goto(link)
    await page.get_by_label("Ditt namn").fill("Sara")
    await page.get_by_label("Välj ett lösenord").fill("ett långt lösenord")
    await page.get_by_label("Lösenordet igen").fill("ett långt lösenord")
    await page.get_by_role("button", name="Gå med").click()
    await expect(page.get_by_role("alert")).to_contain_text("logga in för att tacka ja")
    await page.get_by_role("link", name="Logga in för att gå med").click()
    # a boosted link: htmx focuses the autofocus field when the swap settles, which under load can come
    # between the two fills below and send the password into the e-mail field
    await expect(page.get_by_label("E-postadress")).to_be_focused()
    await page.get_by_label("E-postadress").fill(sara.email)
    await page.get_by_label("Lösenord").fill(PASSWORD)
    await page.get_by_role("button", name="Logga in").click()
    await expect(page.get_by_text("Du är inloggad som Sara Finns.")).to_be_visible()
    await page.get_by_role("button", name="Gå med").click()
    await expect(page.locator("#org-switch option[selected]")).to_have_text("Nya jobbet AB")


async def test_reset_form_refuses_mismatch_then_sets_the_password(page, db, settings):
    admin = await make_org(db)
    editor = await make_member(db, admin.actor.org_id, "editor", "Anna Lind")
    token = await accounts.reset_link_token(db, admin.actor, settings.secret_key, editor.actor.user_id)
    await page.goto(f"/reset/{token}")
    await page.get_by_label("Nytt lösenord").fill("ett nytt långt lösenord")
    await page.get_by_label("Lösenordet igen").fill("något helt annat här")
    await page.get_by_role("button", name="Spara lösenord").click()
    await expect(page.get_by_role("alert")).to_have_text("Lösenorden stämmer inte överens.")
    await page.get_by_label("Nytt lösenord").fill("ett nytt långt lösenord")
    await page.get_by_label("Lösenordet igen").fill("ett nytt långt lösenord")
    await page.get_by_role("button", name="Spara lösenord").click()
    await expect(page.get_by_role("heading", name="Öppna ärenden")).to_be_visible()
    await page.goto(f"/reset/{token}")
    await expect(page.get_by_role("heading", name="Hittades inte")).to_be_visible()


async def test_channel_forms_report_a_taken_address_and_an_invisible_name(page, db):
    admin = await make_org(db)
    other = await make_org(db)
    taken = unique_email("upptagen")
    await make_channel(db, other, name="Deras")
    from app import channels

    await channels.create_channel(db, other.actor, kind="mailbox", name="Deras info", colour="red", address=taken)
    await log_in(page, admin.email)
    await page.get_by_role("link", name="Kanaler").click()
    form = page.locator("form[action='/admin/channels']")
    await form.get_by_label("Namn").fill("Info")
    await form.get_by_label("Adress").fill(taken)
    await form.get_by_role("button", name="Skapa kanal").click()
    await expect(page.get_by_role("alert")).to_have_text("Adressen används redan.")
    await expect(form.get_by_label("Namn")).to_have_value("Info")

    await form.get_by_label("Namn").fill("\u200b")
    await form.get_by_label("Adress").fill(unique_email("ledig"))
    await form.get_by_role("button", name="Skapa kanal").click()
    await expect(page.get_by_role("alert")).to_contain_text("synliga tecken")

    await form.get_by_label("Namn").fill("Info")
    await form.get_by_role("button", name="Skapa kanal").click()
    await expect(page.locator("#channel-rows")).to_contain_text("Info")


async def test_team_page_errors_show_beside_the_forms(page, db):
    admin = await make_org(db, "Lagbygget AB")
    member = await make_member(db, admin.actor.org_id, "editor", "Björn Ek")
    elsewhere = await accounts.create_organization(db, "Annan AB")
    await accounts.add_member(db, elsewhere, member.actor.user_id, "admin")
    await log_in(page, admin.email)
    await page.get_by_role("link", name="Team").click()

    invite = page.locator("form[action='/admin/members/invite']")
    await invite.get_by_label("E-postadress").fill(admin.email)
    await invite.get_by_role("button", name="Skicka inbjudan").click()
    await expect(page.get_by_role("alert")).to_have_text("Personen är redan medlem.")

    me = page.locator(".member-row", has_text=admin.actor.name)
    await me.get_by_label("Roll").select_option("editor")
    await me.get_by_role("button", name="Spara roll").click()
    await expect(page.get_by_role("alert")).to_have_text("Organisationen måste ha minst en administratör.")

    bjorn = page.locator(".member-row", has_text="Björn Ek")
    await bjorn.get_by_role("button", name="Länk för nytt lösenord").click()
    await expect(page.get_by_role("alert")).to_contain_text("organisation som du inte administrerar")
    await expect(page.locator("input.link")).to_have_count(0)


async def test_case_page_and_library_forms_say_what_is_wrong(page, db):
    from app import canned, conversations, tags
    from app.actors import System

    admin = await make_org(db, "Felvägar AB")
    channel = await make_channel(db, admin)
    conv = await conversations.open_conversation(db, System(admin.actor.org_id), channel_id=channel,
                                                 subject="Hej", body="En fråga", customer_email="k@kund.example")
    await tags.create_tag(db, admin.actor, "Faktura")
    await canned.create(db, admin.actor, title="Tack", body="Tack!", shortcut="tack")
    await log_in(page, admin.email)

    await page.goto(f"/conversations/{conv}")
    await page.get_by_label("Intern anteckning (skickas aldrig)").fill("   ")  # passes `required`, not ours
    await page.get_by_role("button", name="Spara anteckning").click()
    await expect(page.get_by_role("alert")).to_have_text("Skriv något först.")

    await page.goto("/admin/tags")
    form = page.locator("#tag-list form").last
    await form.get_by_label("Ny tagg").fill("Faktura")
    await form.get_by_role("button", name="Lägg till").click()
    await expect(page.get_by_role("alert")).to_have_text("Namnet används redan.")

    await page.goto("/canned")
    await page.get_by_label("Rubrik").fill("Tack igen")
    await page.get_by_label("Kortkommando (skriv /kortkommando i ett svar)").fill("tack")
    await page.get_by_label("Text").fill("Tack så mycket!")
    await page.get_by_role("button", name="Spara färdigt svar").click()
    await expect(page.get_by_role("alert")).to_have_text("Ett annat svar har redan det kortkommandot.")
    await expect(page.get_by_label("Rubrik")).to_have_value("Tack igen")
