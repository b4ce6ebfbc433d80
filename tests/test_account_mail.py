"""Accounts that need mail, over real SMTP: invites and "forgot password" reach an aiosmtpd relay with
their links; removing a member ends the membership, not the person or their messages."""
from __future__ import annotations

import dataclasses
import email
import re
from email import policy

import httpx
import pytest

from app import accounts, conversations, ratelimit
from app.actors import System
from app.db import events_after, last_seq
from app.errors import Forbidden, Invalid, NotFound
from app.mail import account_mail
from app.main import create_app
from devtools.services import free_port
from tests.factories import PASSWORD, csrf_from, login, make_channel, make_conversation, make_member, make_org, unique_email
from tests.test_login_limits import new_address
from tests.test_mail_out import make_due_now, relay_at, smtp_sink
from workers.worker import run_once

NEW_PASSWORD = "ett helt nytt lösenord"


async def work_off_account_mail(db) -> None:
    """Run the worker's account mail jobs until none are due (claims cross organisations: others' may run)."""
    while await run_once(db, {"account.mail": account_mail.send_job}, "test-worker"):
        pass


def mail_to(sink, address: str) -> list[email.message.Message]:
    return [email.message_from_bytes(e.content, policy=policy.default) for e in sink.to(address)]


def link_in(message: email.message.Message, settings, kind: str) -> str:
    """The path of the one link of this kind in the mail's text, checked to point at this site."""
    links = re.findall(r"https?://\S+", message.get_content())
    assert len(links) == 1, links
    assert links[0].startswith(f"{settings.base_url}/{kind}/"), links[0]
    return links[0].removeprefix(settings.base_url)


@pytest.fixture
async def sink(settings):
    account_mail.configure(settings)
    async with smtp_sink() as sink:
        with relay_at(settings, sink.port):
            yield sink


@pytest.fixture
def app(settings, db, redis_client):
    """The app in-process, so each client comes from an address of its own (the forgot-password limits)."""
    app = create_app(settings)
    app.state.db, app.state.redis = db, redis_client
    return app


def client_from(app, address: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address or new_address(), 1234)),
                             base_url="http://samsyn.test")


async def forgot(client: httpx.AsyncClient, address: str) -> httpx.Response:
    token = csrf_from((await client.get("/forgot")).text)
    return await client.post("/forgot", data={"email": address, "csrf_token": token})


async def invite_state(db, org_id: int, invite_id: int):
    return await db.read_one(org_id, "SELECT mail_state, mail_error, mail_job_id FROM invites "
                                     "WHERE org_id = $1 AND id = $2", org_id, invite_id)


# --- invites --------------------------------------------------------------------------------------


async def test_an_invite_goes_out_by_mail_with_a_link_that_lets_the_person_join(db, client, sink, settings):
    admin = await make_org(db, "Kaffebolaget AB")
    token = await login(client, admin.email)
    address = unique_email("bjorn")
    sent = await client.post("/admin/members/invite", data={"email": address, "role": "editor"},
                             headers={"x-csrf-token": token})
    assert sent.status_code == 303
    page = (await client.get("/admin/members")).text
    assert address in page and "Mejlet är inte skickat än" in page

    [job] = await db.read(admin.actor.org_id, "SELECT payload FROM jobs WHERE org_id = $1 AND kind = 'account.mail'",
                          admin.actor.org_id)
    assert set(job["payload"]) == {"mail", "invite_id"}, "the job names the invite, never its link"
    await work_off_account_mail(db)

    [mail] = mail_to(sink, address)
    assert mail["From"] == f"Samsyn <noreply@{settings.ingress_domain}>"
    assert mail["To"] == address and mail["Subject"] == "Inbjudan till Kaffebolaget AB i Samsyn"
    assert mail["Auto-Submitted"] == "auto-generated" and mail["Message-ID"].endswith(f"@{settings.ingress_domain}>")
    assert "Lena Admin har bjudit in dig till Kaffebolaget AB i Samsyn som redaktör" in mail.get_content()
    assert "Mejlet är skickat" in (await client.get("/admin/members")).text

    path = link_in(mail, settings, "invite")
    client.cookies.clear()
    form = await client.get(path)
    assert form.status_code == 200 and address in form.text
    joined = await client.post(path, data={"name": "Björn Ek", "password": "a long password",
                                           "password2": "a long password", "csrf_token": csrf_from(form.text)})
    assert joined.status_code == 303
    assert "Björn Ek" in (await client.get("/")).text
    client.cookies.clear()
    assert (await client.get(path)).status_code == 404, "the link works once"


async def test_an_invite_to_an_english_speaking_account_is_in_english(db, sink):
    admin = await make_org(db)
    elsewhere = await make_org(db, "Annat AB", "Sara Finns")
    await accounts.set_locale(db, elsewhere.actor.user_id, "en")
    await accounts.invite(db, admin.actor, elsewhere.email, "viewer")
    await work_off_account_mail(db)
    [mail] = mail_to(sink, elsewhere.email)
    assert mail["Subject"] == "Invitation to Testbolaget AB in Samsyn"
    assert "as viewer" in mail.get_content()


async def test_a_refused_invite_mail_shows_failed_and_can_be_sent_again(db, client, sink, settings):
    admin = await make_org(db)
    token = await login(client, admin.email)
    address = unique_email("cecilia")
    invite_id = await accounts.invite(db, admin.actor, address, "editor")
    sink.answer = "550 5.1.1 No such mailbox"
    await work_off_account_mail(db)
    state = await invite_state(db, admin.actor.org_id, invite_id)
    assert state["mail_state"] == "failed" and "550" in state["mail_error"]
    page = (await client.get("/admin/members")).text
    assert "Mejlet kunde inte skickas" in page and f"/admin/invites/{invite_id}/resend" in page

    sink.answer = "250 2.0.0 OK"
    resent = await client.post(f"/admin/invites/{invite_id}/resend", headers={"x-csrf-token": token})
    assert resent.status_code == 303
    assert (await invite_state(db, admin.actor.org_id, invite_id))["mail_state"] == "queued"
    await work_off_account_mail(db)
    assert (await invite_state(db, admin.actor.org_id, invite_id))["mail_state"] == "sent"
    [mail] = mail_to(sink, address)
    assert link_in(mail, settings, "invite")


async def test_an_invite_mail_waits_out_a_relay_that_is_down(db, settings):
    account_mail.configure(settings)
    admin = await make_org(db)
    address = unique_email("dora")
    invite_id = await accounts.invite(db, admin.actor, address, "editor")
    with relay_at(settings, free_port()):
        await work_off_account_mail(db)
    state = await invite_state(db, admin.actor.org_id, invite_id)
    assert state["mail_state"] == "retrying" and state["mail_error"]
    async with smtp_sink() as sink:
        with relay_at(settings, sink.port):
            await make_due_now(db, admin.actor.org_id, state["mail_job_id"])
            await work_off_account_mail(db)
    assert (await invite_state(db, admin.actor.org_id, invite_id))["mail_state"] == "sent"
    assert len(sink.to(address)) == 1


async def test_a_header_injection_in_an_organisation_name_stays_in_the_subject(db, sink):
    admin = await make_org(db, "Ond AB Bcc: x@evil.example")
    address = unique_email("eva")
    await accounts.invite(db, admin.actor, address, "editor")
    await work_off_account_mail(db)
    [envelope] = sink.to(address)
    assert envelope.rcpt_tos == [address]
    mail = email.message_from_bytes(envelope.content, policy=policy.compat32)
    assert mail["Bcc"] is None and "Bcc: x@evil.example" in mail["Subject"]


# --- forgot password ------------------------------------------------------------------------------


def _answer(response: httpx.Response, address: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', "", response.text.replace(address, "ADDRESS"))


async def test_forgot_password_answers_the_same_whether_or_not_the_address_has_an_account(db, app, sink):
    admin = await make_org(db)
    nobody = unique_email("ingen")
    async with client_from(app) as client:
        known, unknown = await forgot(client, admin.email), await forgot(client, nobody)
    assert known.status_code == unknown.status_code == 200
    assert _answer(known, admin.email) == _answer(unknown, nobody)
    assert "är en länk för att välja ett nytt lösenord på väg" in known.text
    await work_off_account_mail(db)
    assert len(sink.to(admin.email)) == 1 and sink.to(nobody) == []


async def test_forgot_password_refuses_an_address_that_is_not_one(db, app):
    async with client_from(app) as client:
        response = await forgot(client, "anna@localhost")
    assert response.status_code == 400 and "Ange en giltig e-postadress." in response.text
    assert 'value="anna@localhost"' in response.text


async def test_the_reset_link_from_the_mail_works_once_and_ends_the_persons_other_sessions(
        db, app, client, sink, settings):
    admin = await make_org(db)
    editor = await make_member(db, admin.actor.org_id, "editor", "Anna Lind")
    await login(client, editor.email)  # a session elsewhere, say on a lost phone
    async with client_from(app) as anon:
        await forgot(anon, editor.email.upper())  # typed as it comes
    await work_off_account_mail(db)
    [mail] = mail_to(sink, editor.email)
    assert mail["To"] == f"Anna Lind <{editor.email}>" and mail["Subject"] == "Välj ett nytt lösenord för Samsyn"
    path = link_in(mail, settings, "reset")
    [job] = await db.read(admin.actor.org_id, "SELECT payload FROM jobs WHERE org_id = $1 AND kind = 'account.mail'",
                          admin.actor.org_id)
    assert job["payload"] == {"mail": "reset", "user_id": editor.actor.user_id}, "no link at rest"

    async with client_from(app) as browser:
        form = await browser.get(path)
        assert form.status_code == 200
        done = await browser.post(path, data={"password": NEW_PASSWORD, "password2": NEW_PASSWORD,
                                              "csrf_token": csrf_from(form.text)})
        assert done.status_code == 303 and (await browser.get("/")).status_code == 200
        assert (await browser.get(path)).status_code == 404, "used once"
    assert (await client.get("/")).headers["location"] == "/login", "the other session ended"
    assert await accounts.authenticate(db, editor.email, NEW_PASSWORD) == editor.actor.user_id
    assert await accounts.authenticate(db, editor.email, PASSWORD) is None


async def test_forgot_password_mails_an_address_at_most_its_limit_with_the_same_answer(db, app, sink, settings):
    admin = await make_org(db)
    answers = []
    for _ in range(settings.forgot_per_email + 2):
        async with client_from(app) as client:  # from ever new client addresses: the address's own limit
            answers.append((await forgot(client, admin.email)).status_code)
    assert answers == [200] * len(answers)
    await work_off_account_mail(db)
    assert len(sink.to(admin.email)) == settings.forgot_per_email


async def test_forgot_password_answers_429_to_a_client_past_its_limit(db, settings, redis_client):
    limited = create_app(dataclasses.replace(settings, forgot_per_client=2))
    limited.state.db, limited.state.redis = db, redis_client
    async with client_from(limited) as client:
        codes = [(await forgot(client, unique_email())).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        refused = await forgot(client, unique_email())
    assert int(refused.headers["retry-after"]) > 0 and "För många försök" in refused.text


async def test_no_reset_mail_for_someone_in_no_organisation(db, sink):
    admin = await make_org(db)
    leaving = await make_member(db, admin.actor.org_id, "editor", "Rut Går")
    await accounts.remove_member(db, admin.actor, leaving.actor.user_id)
    await accounts.request_password_reset(db, leaving.email)
    await work_off_account_mail(db)
    assert sink.to(leaving.email) == []


# --- removing a member ----------------------------------------------------------------------------


async def test_removing_a_member_ends_their_membership_sessions_and_open_cases_here_only(db, server):
    admin = await make_org(db, "Första AB")
    org = admin.actor.org_id
    bjorn = await make_member(db, org, "editor", "Björn Ek")
    other_org = await accounts.create_organization(db, "Andra AB")
    await accounts.add_member(db, other_org, bjorn.actor.user_id, "editor")
    channel = await make_channel(db, admin)
    open_case, waiting, closed = [await make_conversation(db, org, channel, subject=s)
                                  for s in ("Öppet", "Väntar", "Stängt")]
    for case in (open_case, waiting, closed):
        await conversations.assign(db, admin.actor, case, bjorn.actor.user_id)
    await conversations.set_status(db, admin.actor, waiting, "waiting")
    await conversations.set_status(db, admin.actor, closed, "closed")
    await conversations.add_message(db, bjorn.actor, open_case, kind="editor", body="Hej! Vi kollar.")

    async with httpx.AsyncClient(base_url=server) as here, httpx.AsyncClient(base_url=server) as there:
        for client, org_id in ((here, org), (there, other_org)):
            token = await login(client, bjorn.email)
            assert (await client.post("/organization", data={"org_id": str(org_id)},
                                      headers={"x-csrf-token": token})).status_code == 303
        seq = await last_seq(db, org)
        await accounts.remove_member(db, admin.actor, bjorn.actor.user_id)
        assert (await here.get("/")).headers["location"] == "/login"
        assert (await there.get("/")).status_code == 200, "their session in Andra AB goes on"

    events = [(e["kind"], e["payload"]) for e in await events_after(db, org, seq)]
    assert ("member.removed", {"user_id": bjorn.actor.user_id, "actor_id": admin.actor.user_id}) in events
    unassigned = sorted(p["conversation_id"] for k, p in events if k == "conversation.assigned")
    assert unassigned == sorted([open_case, waiting]) and all(
        p["assignee_id"] is None for k, p in events if k == "conversation.assigned")
    assert (await conversations.find_row(db, org, closed))["assignee_name"] == "Björn Ek", "history stays"

    _, messages = await conversations.get(db, org, open_case)
    assert [m for m in messages if m["kind"] == "editor"][0]["author_name"] == "Björn Ek"
    assert bjorn.actor.user_id not in [m["id"] for m in await accounts.members(db, org)]
    [former] = [m for m in await accounts.team(db, org) if m["id"] == bjorn.actor.user_id]
    assert former["ended_at"] is not None
    assert [o[0] for o in await accounts.organizations_of(db, bjorn.actor.user_id)] == [other_org]
    with pytest.raises(Invalid):
        await conversations.assign(db, admin.actor, open_case, bjorn.actor.user_id)
    with pytest.raises(NotFound):
        await accounts.remove_member(db, admin.actor, bjorn.actor.user_id)


async def test_the_team_page_shows_a_former_member_without_controls(db, client):
    admin = await make_org(db)
    rut = await make_member(db, admin.actor.org_id, "editor", "Rut Går")
    token = await login(client, admin.email)
    removed = await client.post(f"/admin/members/{rut.actor.user_id}/remove", headers={"x-csrf-token": token})
    assert removed.status_code == 303
    page = (await client.get("/admin/members")).text
    row = re.search(rf'<li id="member-{rut.actor.user_id}".*?</li>', page, re.S).group(0)
    assert "Tidigare medlem" in row and "<form" not in row


async def test_a_closed_case_of_a_former_member_reopened_by_the_customer_goes_back_to_no_one(db):
    admin = await make_org(db)
    org = admin.actor.org_id
    bjorn = await make_member(db, org, "editor", "Björn Ek")
    case = await make_conversation(db, org, await make_channel(db, admin), subject="Gammalt ärende")
    await conversations.assign(db, admin.actor, case, bjorn.actor.user_id)
    await conversations.set_status(db, admin.actor, case, "closed")
    await accounts.remove_member(db, admin.actor, bjorn.actor.user_id)
    assert (await conversations.find_row(db, org, case))["assignee_id"] == bjorn.actor.user_id, "closed: kept"

    async with db.transaction(org) as tx:  # the customer writes again, as a mail does (app/mail/receive.py)
        await conversations.add_in(tx, System(org), case, kind="customer", body="Det krånglar igen.")
        await conversations.set_status_in(tx, System(org), case, "open")
    row = await conversations.find_row(db, org, case)
    assert (row["status"], row["assignee_id"]) == ("open", None)
    [event] = await db.read(org, "SELECT payload FROM events WHERE org_id = $1 AND kind = 'conversation.assigned' "
                                 "ORDER BY seq DESC LIMIT 1", org)
    assert event["payload"]["assignee_id"] is None and event["payload"]["conversation_id"] == case


async def test_a_removed_person_can_no_longer_log_in_to_that_organisation(db, client):
    admin = await make_org(db)
    rut = await make_member(db, admin.actor.org_id, "editor", "Rut Går")
    await accounts.remove_member(db, admin.actor, rut.actor.user_id)
    page = await client.get("/login")
    response = await client.post("/login", data={"email": rut.email, "password": PASSWORD,
                                                 "csrf_token": csrf_from(page.text)})
    assert response.status_code == 400


async def test_the_last_admin_cannot_remove_themselves_but_one_of_two_can(db, client):
    admin = await make_org(db)
    with pytest.raises(Invalid):
        await accounts.remove_member(db, admin.actor, admin.actor.user_id)
    token = await login(client, admin.email)
    refused = await client.post(f"/admin/members/{admin.actor.user_id}/remove", headers={"x-csrf-token": token})
    assert refused.status_code == 400 and "Du är den sista administratören" in refused.text

    second = await make_member(db, admin.actor.org_id, "admin", "Andra Admin")
    left = await client.post(f"/admin/members/{admin.actor.user_id}/remove", headers={"x-csrf-token": token})
    assert left.status_code == 303 and left.headers["location"] == "/login"
    assert [m["id"] for m in await accounts.members(db, admin.actor.org_id)] == [second.actor.user_id]


async def test_viewers_and_editors_cannot_remove_anyone(db):
    admin = await make_org(db)
    viewer = await make_member(db, admin.actor.org_id, "viewer", "Viktor Sand")
    editor = await make_member(db, admin.actor.org_id, "editor", "Anna Lind")
    for actor in (viewer.actor, editor.actor, System(admin.actor.org_id)):
        with pytest.raises(Forbidden):
            await accounts.remove_member(db, actor, admin.actor.user_id)
    assert len(await accounts.members(db, admin.actor.org_id)) == 3


async def test_a_former_member_invited_again_joins_by_logging_in_and_keeps_their_messages(db, client, sink, settings):
    admin = await make_org(db)
    org = admin.actor.org_id
    rut = await make_member(db, org, "editor", "Rut Går")
    case = await make_conversation(db, org, await make_channel(db, admin))
    await conversations.add_message(db, rut.actor, case, kind="note", body="Ringde kunden.")
    await accounts.remove_member(db, admin.actor, rut.actor.user_id)

    await accounts.invite(db, admin.actor, rut.email, "viewer")
    await work_off_account_mail(db)
    path = link_in(mail_to(sink, rut.email)[0], settings, "invite")
    page = await client.get(f"/login?next={path}")
    response = await client.post("/login", data={"email": rut.email, "password": PASSWORD, "next": path,
                                                 "csrf_token": csrf_from(page.text)})
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert (await client.get("/")).status_code == 200
    assert (await accounts.member(db, org, rut.actor.user_id))["role"] == "viewer"
    _, messages = await conversations.get(db, org, case)
    assert [m["author_name"] for m in messages if m["kind"] == "note"] == ["Rut Går"]


@pytest.fixture(autouse=True)
async def _forgot_counters_of_loopback(redis_client):
    """Browser-like clients come from 127.0.0.1 in every test: its forgot-password count starts at zero."""
    await ratelimit.clear(redis_client, "forgot:ip:127.0.0.1")
