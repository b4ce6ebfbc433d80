"""Moving between forum and mail, visitors' confirmed addresses and answer mails, and the embeddable form.

Mail goes over real SMTP to an aiosmtpd relay (as in tests/test_mail_out.py); customers' replies come
in through the SMTP ingress.
"""
from __future__ import annotations

import email
import re
from email import policy

import pytest

from app import channels, conversations, forum, forum_embed, forum_moves, visitor_mail
from app.actors import System
from app.errors import Forbidden, Invalid, NotFound
from app.mail import outgoing, receive
from tests.factories import csrf_from, make_channel, make_member, unique_email
from tests.test_forum import app, post_thread, visitor_client  # noqa: F401 - the in-process app fixture
from tests.test_mail_in import mail, send
from tests.test_mail_out import relay_at, smtp_sink
from workers.worker import run_once

HANDLERS = {visitor_mail.JOB: visitor_mail.send_job, outgoing.SEND: outgoing.send_job,
            "mail.parse": receive.parse_job}


async def work_off(db) -> None:
    """Run the worker's mail jobs until none are due (claims cross organisations: others' may run too)."""
    while await run_once(db, HANDLERS, "test-worker"):
        pass


def mails_to(sink, address: str) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(e.content, policy=policy.default) for e in sink.to(address)]


def link_in(message, path: str) -> str:
    found = re.search(rf"https?://[^/\s]+(/{path}/[^\s]+)", message.get_content())
    assert found, f"no /{path}/ link in the mail"
    return found.group(1)


@pytest.fixture
async def sink(settings):
    visitor_mail.configure(settings)
    async with smtp_sink() as sink:
        with relay_at(settings, sink.port):
            yield sink


@pytest.fixture
async def place(db, mailbox, settings):
    """The mailbox fixture's organisation with a forum too, and a visitor's question in it."""
    forum_id = await make_channel(db, mailbox.admin, kind="forum", name="Cykelforum", colour="green")
    found = await forum.find(db, (await channels.get_channel(db, mailbox.org_id, forum_id))["address"])
    karin = unique_email("karin")
    number = await forum.start_thread(db, found, topic="question", title="Min faktura är fel",
                                      post=forum.Post("Karin Berg", karin, "Hej! Fakturan har fel belopp."))
    thread_id = (await forum.thread(db, found, number))["thread"]["id"]
    return type("Place", (), {"mailbox": mailbox, "admin": mailbox.admin.actor, "org_id": mailbox.org_id,
                              "forum": found, "number": number, "thread": thread_id, "karin": karin,
                              "settings": settings})


async def move(db, place, **fields) -> bool:
    return await forum_moves.move_to_mail(
        db, place.admin, place.thread, mailbox_id=place.mailbox.id, note=fields.get("note", "Vi tar det per mejl."),
        message=fields.get("message", "Hej Karin! Vi fortsätter här."))


async def test_a_moved_thread_keeps_its_case_number_and_history_and_remembers_where_it_began(db, place, app):  # noqa: F811
    await conversations.reply(db, place.admin, place.thread, "Vilket fakturanummer gäller det?", seen_message_id=2**62)
    before, old = await conversations.get(db, place.org_id, place.thread)
    assert await move(db, place) is False  # her address is not confirmed: the mail waits

    row, messages = await conversations.get(db, place.org_id, place.thread)
    assert (row["case_number"], row["kind"], row["channel_id"]) == (before["case_number"], "mail", place.mailbox.id)
    assert [m["id"] for m in messages[:-1]] == [m["id"] for m in old]
    move_mail = messages[-1]
    assert move_mail["kind"] == "editor" and move_mail["delivery_state"] is None
    assert "Hej Karin! Vi fortsätter här." in move_mail["body_text"]
    assert "> Hej! Fakturan har fel belopp." in move_mail["body_text"]  # the thread quoted below
    async with db.transaction(place.org_id, readonly=True) as tx:
        assert await tx.fetchval("SELECT origin_channel_id FROM conversations WHERE org_id = $1 AND id = $2",
                                 place.org_id, place.thread) == place.forum.channel_id
        assert await tx.fetchval("SELECT count(*) FROM events WHERE org_id = $1 AND kind = 'conversation.moved' "
                                 "AND payload->>'conversation_id' = $2", place.org_id, str(place.thread)) == 1
    assert await move(db, place) is False  # moved already: nothing more happens
    assert len((await conversations.get(db, place.org_id, place.thread))[1]) == len(messages)

    async with visitor_client(app) as client:  # the public URL shows the note, not the thread
        page = await client.get(f"/forum/{place.forum.slug}/{place.number}")
    assert page.status_code == 200 and "Vi tar det per mejl." in page.text
    assert "Fakturan har fel belopp" not in page.text and "Vilket fakturanummer" not in page.text


async def test_an_unconfirmed_address_gets_no_mail_until_the_visitor_confirms_it(db, place, sink, app, server):  # noqa: F811
    await move(db, place)
    await work_off(db)
    [confirmation] = mails_to(sink, place.karin)  # only the link to confirm: nothing of the case yet
    assert confirmation["Subject"].startswith("Bekräfta din e-postadress")
    case_page = await _case_page(db, place, server)
    assert f"Mejlet till {place.karin} väntar tills" in case_page

    assert await forum_moves.ask_again(db, place.admin, place.thread)  # "send the link again" on the case
    await work_off(db)
    assert [m["Subject"] for m in mails_to(sink, place.karin)] == [confirmation["Subject"]] * 2
    path = link_in(confirmation, "visitor/confirm")  # the first still works
    sink.envelopes.clear()
    async with visitor_client(app) as client:
        shown = await client.get(path)
        assert shown.status_code == 200 and place.karin in shown.text
        assert not mails_to(sink, place.karin), "opening the link is not confirming it (mail scanners do that)"
        done = await client.post(path, data={"csrf_token": csrf_from(shown.text)})
    assert done.status_code == 200 and "är bekräftad" in done.text
    await work_off(db)

    [moved] = mails_to(sink, place.karin)
    assert not await forum_moves.ask_again(db, place.admin, place.thread)  # confirmed: no more links
    row, messages = await conversations.get(db, place.org_id, place.thread)
    assert moved["Subject"] == f"Re: Min faktura är fel [#{row['case_number']}]"
    assert moved["From"].addresses[0].addr_spec == place.mailbox.address
    assert "> Hej! Fakturan har fel belopp." in moved.get_content()
    assert messages[-1]["delivery_state"] == "sent" and row["customer_email"] == place.karin
    assert "väntar tills" not in await _case_page(db, place, server)


async def test_the_customers_reply_threads_into_the_moved_case(db, place, sink, smtp_port):
    await _confirmed(db, place, sink)
    await move(db, place)
    await work_off(db)
    [moved] = [m for m in mails_to(sink, place.karin) if "[#" in m["Subject"]]
    # her client answers with our Message-ID in In-Reply-To, to the mailbox (forwarded to our ingress)
    answer = mail(place.mailbox.ingress, f"Sv: {moved['Subject']}", body="Fakturanummer 4711.",
                  sender=f"Karin Berg <{place.karin}>", In_Reply_To=moved["Message-ID"])
    await send(smtp_port, answer, [place.mailbox.ingress])
    await work_off(db)
    row, messages = await conversations.get(db, place.org_id, place.thread)
    assert (messages[-1]["kind"], messages[-1]["joined_by"], messages[-1]["body_text"].strip()) == (
        "customer", "header", "Fakturanummer 4711.")
    assert row["needs_reply"] and row["kind"] == "mail"


async def test_a_reply_with_only_the_case_number_in_its_subject_joins_the_moved_case(db, place, sink, smtp_port):
    await _confirmed(db, place, sink)
    await move(db, place)
    number = (await conversations.find_row(db, place.org_id, place.thread))["case_number"]
    answer = mail(place.mailbox.ingress, f"Angående [#{number}]", body="Här är numret: 4711.",
                  sender=f"Karin Berg <{place.karin}>")  # no In-Reply-To: a new mail from her webmail
    await send(smtp_port, answer, [place.mailbox.ingress])
    await work_off(db)
    _, messages = await conversations.get(db, place.org_id, place.thread)
    assert (messages[-1]["joined_by"], messages[-1]["body_text"].strip()) == ("case_number", "Här är numret: 4711.")


async def test_a_confirmed_address_gets_the_move_mail_at_once_and_no_new_link(db, place, sink):
    await _confirmed(db, place, sink)
    assert await move(db, place) is True
    await work_off(db)
    assert [m["Subject"].startswith("Re: Min faktura") for m in mails_to(sink, place.karin)] == [True]


async def test_a_follower_gets_each_official_answer_once_confirmed_and_can_stop(db, place, sink, app, server):  # noqa: F811
    """Answers that came before the confirmation go out with it, once; later ones as they come."""
    olle = unique_email("olle")
    async with visitor_client(app) as client:
        answered = await client.post(f"/forum/{place.forum.slug}/{place.number}", data={
            "csrf_token": csrf_from((await client.get(f"/forum/{place.forum.slug}/{place.number}")).text),
            "name": "Olle", "email": olle, "body": "Samma här!", "notify": "1"})
        assert answered.status_code == 303
    await conversations.reply(db, place.admin, place.thread, "Före bekräftelsen.", seen_message_id=2**62)
    await work_off(db)
    [confirmation] = mails_to(sink, olle)  # not confirmed yet: the answer did not go to him
    path = link_in(confirmation, "visitor/confirm")
    async with visitor_client(app) as client:
        await client.post(path, data={"csrf_token": csrf_from((await client.get(path)).text)})
    await visitor_mail.confirm(db, place.settings.secret_key, path.rsplit("/", 1)[1])  # the link used again
    await work_off(db)
    [_, meanwhile] = mails_to(sink, olle)  # what he missed while unconfirmed, once
    assert "Före bekräftelsen." in meanwhile.get_content()

    await conversations.reply(db, place.admin, place.thread, "Vi rättar fakturan i dag.", seen_message_id=2**62)
    await work_off(db)
    [_, _, answer] = mails_to(sink, olle)
    assert answer["Subject"] == "Nytt svar: Min faktura är fel"
    assert "Vi rättar fakturan i dag." in answer.get_content()
    assert f"/forum/{place.forum.slug}/{place.number}" in answer.get_content()
    stop = link_in(answer, "visitor/unsubscribe")
    assert answer["List-Unsubscribe"] == f"<{server}{stop}>"

    async with visitor_client(app) as client:
        done = await client.post(stop, data={"csrf_token": csrf_from((await client.get(stop)).text)})
        assert done.status_code == 200
        assert (await client.get(stop)).status_code == 404  # stopped: the link finds nothing more
    await conversations.reply(db, place.admin, place.thread, "En sak till.", seen_message_id=2**62)
    await work_off(db)
    assert len(mails_to(sink, olle)) == 3


async def test_a_tampered_confirmation_or_unsubscribe_link_finds_nothing(db, settings, place, app):  # noqa: F811
    token = visitor_mail.confirm_token("another-secret", place.org_id, 1, place.karin)
    with pytest.raises(NotFound):
        await visitor_mail.confirm(db, settings.secret_key, token)
    async with visitor_client(app) as client:
        assert (await client.get(f"/visitor/confirm/{token}")).status_code == 404
        assert (await client.get("/visitor/unsubscribe/x.y.z")).status_code == 404


async def test_publishing_a_case_makes_a_linked_thread_of_only_the_edited_text(db, place, app):  # noqa: F811
    case = await conversations.open_conversation(
        db, System(place.org_id), channel_id=place.mailbox.id,
        subject="Faktura 4711 för Karin", body="Hej, jag heter Karin Berg och min faktura 4711 är fel.",
        customer_name="Karin Berg", customer_email=place.karin)
    await conversations.reply(db, place.admin, case, "Hej Karin! Vi har rättat faktura 4711.", seen_message_id=2**62)
    prefilled = await forum_moves.publish_form(db, place.admin, case)
    assert prefilled["question"].startswith("Hej, jag heter Karin") and "rättat faktura 4711" in prefilled["answer"]

    with pytest.raises(Invalid) as refused:  # no publishing without the editor's edit step
        await forum_moves.publish(db, place.admin, case, **prefilled, edited=False)
    assert refused.value.field == "edited"
    thread_id, number = await forum_moves.publish(
        db, place.admin, case, forum_id=place.forum.channel_id, title="Fel belopp på fakturan",
        question="Min faktura har fel belopp.", answer="Vi rättar fakturan och skickar en ny.", edited=True)

    shown = await forum.thread(db, place.forum, number)
    assert [shown["opening"]["body_text"], shown["answers"][0]["body_text"]] == [
        "Min faktura har fel belopp.", "Vi rättar fakturan och skickar en ny."]
    assert shown["answers"][0]["official"] and shown["opening"]["author_name"] == ""
    case_row = await conversations.find_row(db, place.org_id, case)
    assert case_row["kind"] == "mail" and thread_id != case  # the case stays private, as it was
    async with visitor_client(app) as client:
        page = await client.get(f"/forum/{place.forum.slug}/{number}")
    assert "Karin" not in page.text and "4711" not in page.text


async def test_a_thread_moved_to_mail_goes_back_to_the_forum_by_publishing(db, place, app):  # noqa: F811
    await move(db, place)
    prefilled = await forum_moves.publish_form(db, place.admin, place.thread)
    assert prefilled["forum_id"] == str(place.forum.channel_id)  # the forum it began in
    _, number = await forum_moves.publish(db, place.admin, place.thread, forum_id=place.forum.channel_id,
                                          title="Fel belopp", question="Fakturan har fel belopp.",
                                          answer="Vi skickar en ny faktura.", edited=True)
    async with visitor_client(app) as client:
        old = await client.get(f"/forum/{place.forum.slug}/{place.number}")
    assert "Vi tar det per mejl." in old.text and f'href="/forum/{place.forum.slug}/{number}"' in old.text


async def test_only_editors_move_or_publish_and_only_threads_move(db, place):
    viewer = await make_member(db, place.org_id, "viewer", "Viktor Sand")
    with pytest.raises(Forbidden):
        await forum_moves.move_to_mail(db, viewer.actor, place.thread, mailbox_id=place.mailbox.id, note="x",
                                       message="y")
    with pytest.raises(Forbidden):
        await forum_moves.publish_form(db, viewer.actor, place.thread)
    case = await conversations.open_conversation(
        db, System(place.org_id), channel_id=place.mailbox.id,
        subject="Hej", body="Hej", customer_email=unique_email())
    with pytest.raises(Invalid):
        await forum_moves.move_to_mail(db, place.admin, case, mailbox_id=place.mailbox.id, note="x", message="y")
    with pytest.raises(Invalid) as wrong:
        await forum_moves.move_to_mail(db, place.admin, place.thread, mailbox_id=place.forum.channel_id, note="x",
                                       message="y")
    assert wrong.value.field == "mailbox_id"


async def _confirmed(db, place, sink) -> None:
    """Karin confirms her address (she asked to follow her thread)."""
    await visitor_mail.follow(db, place.org_id, place.thread, email=place.karin, name="Karin Berg", locale="sv")
    await work_off(db)
    async with db.transaction(place.org_id, readonly=True) as tx:
        address_id = await tx.fetchval("SELECT id FROM visitor_addresses WHERE org_id = $1 AND email = $2",
                                       place.org_id, place.karin)
    secret = place.settings.secret_key
    await visitor_mail.confirm(db, secret, visitor_mail.confirm_token(secret, place.org_id, address_id, place.karin))
    sink.envelopes.clear()


async def _case_page(db, place, server) -> str:
    import httpx

    from tests.factories import login

    async with httpx.AsyncClient(base_url=server) as client:
        await login(client, place.mailbox.admin.email)
        return (await client.get(f"/conversations/{place.thread}")).text


# --- the embeddable form ---------------------------------------------------------------------------


def frame_ancestors(response) -> str:
    return re.search(r"frame-ancestors ([^;]+)", response.headers["content-security-policy"]).group(1)


async def test_the_embed_is_framable_only_by_the_sites_its_forum_lists(db, place, app):  # noqa: F811
    url = f"/forum/{place.forum.slug}/embed"
    async with visitor_client(app) as client:
        unlisted = await client.get(url)
        assert unlisted.status_code == 200 and frame_ancestors(unlisted) == "'none'"
        await forum_embed.save_origins(db, place.admin, place.forum.channel_id,
                                       "https://app.cykel.example\nhttp://localhost:8080/, https://app.cykel.example")
        listed = await client.get(url)
        assert frame_ancestors(listed) == "https://app.cykel.example http://localhost:8080"
        assert "x-frame-options" not in listed.headers
        elsewhere = await client.get(f"/forum/{place.forum.slug}")  # every other route keeps the site's rules
        assert frame_ancestors(elsewhere) == "'none'" and elsewhere.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("typed", ["*", "https://*.example.se", "javascript:alert(1)", "https://a.example/path",
                                   "app.example.se", "https://a b.example"])
def test_only_plain_site_origins_may_be_listed(typed):
    with pytest.raises(Invalid):
        forum_embed.clean_origins(typed)


async def test_the_embed_posts_with_its_own_token_and_refuses_a_wrong_one(db, place, app, settings):  # noqa: F811
    url = f"/forum/{place.forum.slug}/embed"
    fields = {"topic": "idea", "title": "Mörkt läge", "name": "Sam", "email": unique_email("sam"), "body": "Snälla!"}
    async with visitor_client(app) as client:
        token = re.search(r'name="embed_token" value="([^"]+)"', (await client.get(url)).text).group(1)
        client.cookies.clear()  # inside another site's frame our cookies are third-party: the browser drops them
        wrong = await client.post(url, data={**fields, "embed_token": forum_embed.form_token("x", place.forum.channel_id)})
        assert wrong.status_code == 403 and "Mörkt läge" in wrong.text  # what they typed stays
        other_forum = forum_embed.form_token(settings.secret_key, place.forum.channel_id + 1)
        assert (await client.post(url, data={**fields, "embed_token": other_forum})).status_code == 403
        foreign = await client.post(url, data={**fields, "embed_token": token},
                                    headers={"origin": "https://evil.example"})
        assert foreign.status_code == 403
        trap = await client.post(url, data={**fields, "embed_token": token, "website": "http://spam.example"})
        assert trap.status_code == 400
        assert not [t for t in await forum.threads(db, place.forum) if t["subject"] == "Mörkt läge"]
        sent = await client.post(url, data={**fields, "embed_token": token})
        assert (sent.status_code, sent.headers["location"]) == (303, f"{url}?sent=1")
    assert [t["subject"] for t in await forum.threads(db, place.forum)].count("Mörkt läge") == 1


async def test_the_embed_has_the_public_forms_rate_limits(db, place, app):  # noqa: F811
    url = f"/forum/{place.forum.slug}/embed"
    email = unique_email("sam")
    async with visitor_client(app) as client:
        token = re.search(r'name="embed_token" value="([^"]+)"', (await client.get(url)).text).group(1)
        statuses = [(await client.post(url, data={"topic": "idea", "title": f"Idé {i}", "name": "Sam", "email": email,
                                                  "body": "Hej", "embed_token": token})).status_code for i in range(4)]
    assert statuses == [303, 303, 303, 429]  # three per e-mail address here (tests/test_forum.py's app)
