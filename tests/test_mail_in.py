"""Mail in over real SMTP: stored before 250, routed by recipient, parsed and threaded by the worker."""
from __future__ import annotations

import asyncio
import dataclasses
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib
import pytest

from app import channels, conversations
from app.db import Database
from app.mail import ingress, raw, receive
from devtools.services import free_port, migrated_settings, throwaway_servers
from tests.factories import login, make_channel, make_org, unique_email
from workers.smtp import smtp_factory
from workers.worker import run_once

HANDLERS = {"mail.parse": receive.parse_job}


def mail(to: str, subject: str = "Var är mitt paket?", body: str = "Hej! Jag har inte fått min beställning.",
         sender: str = "Karin Berg <karin@kund.example>", **headers) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Message-ID"] = headers.pop("message_id", make_msgid(domain="kund.example"))
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


async def send(port: int, message: EmailMessage, recipients: list[str]) -> None:
    await aiosmtplib.send(message, hostname="127.0.0.1", port=port, sender="karin@kund.example",
                          recipients=recipients, timeout=10)


async def work_off(db) -> None:
    """Run the worker's mail jobs until none are due (what `python -m workers.worker` does)."""
    while await run_once(db, HANDLERS, "test-worker"):
        pass


async def conversation_of(db, org_id: int, subject: str):
    rows = [r for r in await conversations.queue(db, org_id) if r["subject"] == subject]
    assert len(rows) == 1, f"{len(rows)} conversations titled {subject!r}"
    return await conversations.get(db, org_id, rows[0]["id"])


async def test_a_mail_to_the_ingress_address_becomes_a_case_on_the_dashboard(db, client, smtp_port, mailbox):
    await send(smtp_port, mail(mailbox.ingress, "Trasig leverans åäö"), [mailbox.ingress])
    await work_off(db)
    row, messages = await conversation_of(db, mailbox.org_id, "Trasig leverans åäö")
    assert (row["customer_email"], row["customer_name"], row["needs_reply"]) == ("karin@kund.example", "Karin Berg", True)
    assert "Jag har inte fått min beställning." in messages[0]["body_text"]
    assert messages[0]["language"] == "sv", "detected on arrival, for search and sentiment"
    await login(client, mailbox.admin.email)
    assert "Trasig leverans åäö" in (await client.get("/")).text


async def test_the_public_address_and_plus_addresses_route_too(db, smtp_port, mailbox):
    local, domain = mailbox.address.split("@")
    for to in (mailbox.address, f"{local}+kampanj@{domain}", mailbox.ingress.replace("@", "+x@")):
        await send(smtp_port, mail(to, f"Till {to}"), [to])
    await work_off(db)
    for to in (mailbox.address, f"{local}+kampanj@{domain}", mailbox.ingress.replace("@", "+x@")):
        await conversation_of(db, mailbox.org_id, f"Till {to}")


async def test_an_unknown_recipient_gets_550_and_nothing_is_stored(db, smtp_port, mailbox):
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await send(smtp_port, mail("nobody@ingress.localhost"), ["nobody@ingress.localhost"])
    assert refused.value.recipients[0].code == 550


async def test_a_mail_over_the_size_limit_gets_552(db, settings):
    small = dataclasses.replace(settings, mail_max_bytes=10_000)
    server = await asyncio.get_running_loop().create_server(smtp_factory(db, small), "127.0.0.1", port := free_port())
    admin = await make_org(db)
    found = await channels.get_channel(db, admin.actor.org_id, await make_channel(db, admin))
    try:
        with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
            await send(port, mail(found["address"], body="x" * 20_000), [found["address"]])
        assert refused.value.code == 552
    finally:
        server.close()
    assert await raw.unplaced(db, admin.actor.org_id) == []


async def test_a_mail_with_lines_longer_than_rfc_5321_allows_is_accepted(db, smtp_port, mailbox):
    # HTML mail written on one line exists (the corpus has 24,000-octet lines); refusing it bounces a customer
    raw = (f"From: karin@kund.example\r\nTo: {mailbox.ingress}\r\nSubject: En lång rad\r\n"
           f"Message-ID: {make_msgid(domain='kund.example')}\r\n"
           "Content-Type: text/html; charset=utf-8\r\n\r\n<p>" + "Hej! " * 5000 + "</p>\r\n").encode()
    await aiosmtplib.send(raw, hostname="127.0.0.1", port=smtp_port, sender="karin@kund.example",
                          recipients=[mailbox.ingress], timeout=10)
    await work_off(db)
    _, messages = await conversation_of(db, mailbox.org_id, "En lång rad")
    assert messages[0]["body_text"].count("Hej!") == 5000


async def test_a_redelivered_mail_is_stored_once(db, smtp_port, mailbox):
    message = mail(mailbox.ingress, "Skickat två gånger")
    await send(smtp_port, message, [mailbox.ingress])
    await send(smtp_port, message, [mailbox.ingress])  # the sender did not see our 250 and retried
    await work_off(db)
    await conversation_of(db, mailbox.org_id, "Skickat två gånger")


async def test_the_ingress_answers_451_when_postgresql_is_down():
    """Nothing is accepted that is not stored: with the database gone the sender is told to retry."""
    with throwaway_servers("samsyn-451-") as (pg, redis):
        settings = await migrated_settings(pg, redis, secret_key="451")
        db = await Database.connect(settings, None)
        admin = await make_org(db)
        address = (await channels.get_channel(db, admin.actor.org_id, await make_channel(db, admin)))["address"]
        server = await asyncio.get_running_loop().create_server(smtp_factory(db, settings), "127.0.0.1",
                                                                port := free_port())
        try:
            pg.stop()
            with pytest.raises(aiosmtplib.SMTPException) as refused:
                await send(port, mail(address), [address])
            # at RCPT (the route lookup) or at DATA (the store): either way a temporary failure
            failure = refused.value.recipients[0] if hasattr(refused.value, "recipients") else refused.value
            assert failure.code == 451
        finally:
            server.close()
            await db.pool.close()


async def test_a_reply_threads_by_its_headers_even_with_a_new_subject(db, smtp_port, mailbox):
    first = mail(mailbox.ingress, "Faktura 2026-11")
    await send(smtp_port, first, [mailbox.ingress])
    answer = mail(mailbox.ingress, "Ny fråga helt annan rubrik", body="En sak till.",
                  In_Reply_To=first["Message-ID"], References=first["Message-ID"])
    await send(smtp_port, answer, [mailbox.ingress])
    await work_off(db)
    row, messages = await conversation_of(db, mailbox.org_id, "Faktura 2026-11")
    assert [m["joined_by"] for m in messages] == ["new", "header"]


async def test_a_case_number_threads_only_for_someone_already_in_the_case(db, smtp_port, mailbox):
    await send(smtp_port, mail(mailbox.ingress, "Min router"), [mailbox.ingress])
    await work_off(db)
    row, _ = await conversation_of(db, mailbox.org_id, "Min router")
    number = row["case_number"]
    await send(smtp_port, mail(mailbox.ingress, f"Sv: [#{number}] Min router", body="Den fungerar nu!"),
               [mailbox.ingress])
    await send(smtp_port, mail(mailbox.ingress, f"[#{number}] kapning", body="Jag vill in i ditt ärende",
                               sender="Eve <eve@elak.example>"), [mailbox.ingress])
    await work_off(db)
    _, messages = await conversations.get(db, mailbox.org_id, row["id"])
    assert [m["joined_by"] for m in messages] == ["new", "case_number"]
    await conversation_of(db, mailbox.org_id, f"[#{number}] kapning")  # a case of its own


async def test_a_new_mail_reopens_a_closed_case(db, smtp_port, mailbox):
    first = mail(mailbox.ingress, "Återkommer")
    await send(smtp_port, first, [mailbox.ingress])
    await work_off(db)
    row, _ = await conversation_of(db, mailbox.org_id, "Återkommer")
    await conversations.set_status(db, mailbox.admin.actor, row["id"], "closed")
    await send(smtp_port, mail(mailbox.ingress, "Sv: Återkommer", In_Reply_To=first["Message-ID"]), [mailbox.ingress])
    await work_off(db)
    row, _ = await conversations.get(db, mailbox.org_id, row["id"])
    assert row["status"] == "open" and row["needs_reply"]


async def test_an_auto_reply_never_opens_a_case_or_reopens_one(db, client, smtp_port, mailbox):
    first = mail(mailbox.ingress, "Beställning 77")
    await send(smtp_port, first, [mailbox.ingress])
    await work_off(db)
    row, _ = await conversation_of(db, mailbox.org_id, "Beställning 77")
    await conversations.set_status(db, mailbox.admin.actor, row["id"], "closed")
    out_of_office = mail(mailbox.ingress, "Frånvaromeddelande: Beställning 77", body="Jag är ledig till måndag.",
                         In_Reply_To=first["Message-ID"], Auto_Submitted="auto-replied")
    stray = mail(mailbox.ingress, "Automatiskt svar", body="Jag är på semester.", Auto_Submitted="auto-replied")
    for message in (out_of_office, stray):
        await send(smtp_port, message, [mailbox.ingress])
    await work_off(db)
    row, messages = await conversations.get(db, mailbox.org_id, row["id"])
    assert (row["status"], row["needs_reply"], len(messages)) == ("closed", False, 2)
    assert not [r for r in await conversations.queue(db, mailbox.org_id) if r["subject"] == "Automatiskt svar"]
    set_aside = await raw.unplaced(db, mailbox.org_id)
    assert [m["state"] for m in set_aside] == ["ignored"]
    await login(client, mailbox.admin.email)
    assert "Automatiskt svar" in (await client.get(f"/mail/{set_aside[0]['id']}")).text


async def test_a_parse_that_overruns_is_stopped_and_later_mails_still_come_in(db, mailbox, monkeypatch):
    """A mail that keeps the parser busy past its time is set aside and its parser process killed: it is not
    left running (as a thread would be), taking the capacity that later mails need."""
    from multiprocessing import active_children

    from app.mail import parsers

    store = ingress.Mailbox(mailbox.org_id, mailbox.id)
    monkeypatch.setattr(receive, "PARSE_TIMEOUT_SECONDS", 0.01)  # these take the parser some 0.4 s each
    heavy = []
    for n in range(parsers.KEPT + 2):
        message = mail(mailbox.ingress, f"För lång tolkning {n}")
        message.add_alternative("<p>" + "<b>ord</b> " * 200_000 + "</p>", subtype="html")
        heavy.append(message.as_bytes())
    overran = [await ingress.store(db, store, raw_mail) for raw_mail in heavy]
    await work_off(db)
    set_aside = {m["id"]: m for m in await raw.unplaced(db, mailbox.org_id)}
    assert [set_aside[i]["problem"] for i in overran] == ["parsing took too long"] * len(overran)
    assert not [p for p in active_children() if p.name == "mail-parser" and p not in
                [c.process for c in parsers._idle]], "no parser left running"

    monkeypatch.setattr(receive, "PARSE_TIMEOUT_SECONDS", 30)
    await ingress.store(db, store, mail(mailbox.ingress, "Efter de långa").as_bytes())
    await work_off(db)
    row, _ = await conversation_of(db, mailbox.org_id, "Efter de långa")
    assert row is not None


async def test_a_mail_that_cannot_be_read_is_kept_for_editors_to_read_and_download(db, client, mailbox):
    garbage = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 4  # an Outlook .msg, not a mail
    raw_mail_id = await ingress.store(db, ingress.Mailbox(mailbox.org_id, mailbox.id), garbage)
    await work_off(db)
    [kept] = await raw.unplaced(db, mailbox.org_id)
    assert (kept["id"], kept["state"]) == (raw_mail_id, "unreadable")
    await login(client, mailbox.admin.email)
    assert "Kunde inte läsas" in (await client.get("/mail/unplaced")).text
    download = await client.get(f"/mail/{raw_mail_id}/raw")
    assert download.content == garbage
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"


async def test_attachments_are_kept_once_and_downloaded_with_a_safe_name(db, client, smtp_port, mailbox):
    message = mail(mailbox.ingress, "Kvitto bifogat")
    message.add_attachment(b"%PDF-1.4 kvitto", maintype="application", subtype="pdf", filename="../../kvitto\u202egpj.pdf")
    await send(smtp_port, message, [mailbox.ingress])
    await work_off(db)
    row, messages = await conversation_of(db, mailbox.org_id, "Kvitto bifogat")
    [attachment] = (await raw.attachments_of(db, mailbox.org_id, row["id"]))[messages[0]["id"]]
    await login(client, mailbox.admin.email)
    download = await client.get(f"/attachments/{attachment['id']}")
    assert download.content == b"%PDF-1.4 kvitto"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "/" not in disposition.split("filename*=")[0]
    assert "\u202e" not in attachment["filename"] and "/" not in attachment["filename"]


async def test_another_organisation_cannot_read_our_mail_or_attachments(db, client, mailbox):
    raw_mail_id = await ingress.store(db, ingress.Mailbox(mailbox.org_id, mailbox.id), b"not a mail at all")
    other = await make_org(db)
    await login(client, other.email)
    assert (await client.get(f"/mail/{raw_mail_id}")).status_code == 404
    assert (await client.get(f"/mail/{raw_mail_id}/raw")).status_code == 404
    assert unique_email() not in (await client.get("/mail/unplaced")).text


def _corpus():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "mail"
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix not in (".md", ".json")) if root.exists() else []


async def test_every_corpus_mail_ends_up_in_a_conversation_or_kept_raw_for_editors(db):
    files = _corpus()
    if not files:
        pytest.skip("../shared/corpus/mail is not beside this checkout")
    admin = await make_org(db, "Korpus AB")
    box = ingress.Mailbox(admin.actor.org_id, await make_channel(db, admin))
    # (some files differ only in what the dedupe ignores, e.g. no body and the same identity headers)
    stored = {await ingress.store(db, box, f.read_bytes()) for f in files} - {None}
    await work_off(db)
    async with db.transaction(admin.actor.org_id, readonly=True) as tx:
        states = dict(await tx.fetch("SELECT state, count(*) FROM raw_mails WHERE org_id = $1 GROUP BY state",
                                     admin.actor.org_id))
        placed = await tx.fetchval("SELECT count(*) FROM raw_mails WHERE org_id = $1 AND state = 'parsed' "
                                   "AND conversation_id IS NOT NULL", admin.actor.org_id)
    assert sum(states.values()) == len(stored) >= len(files) - 10, states
    assert states.get("new", 0) == 0, "every mail was handled"
    assert placed == states.get("parsed", 0)
    # the rest: bounces and automatic or bulk mail with no case to join (set aside), and an Outlook .msg
    assert placed >= len(stored) * 0.85 and states.get("unreadable", 0) <= 5, states


async def test_a_reply_parsed_before_the_mail_it_answers_waits_for_it(db, mailbox):
    box = ingress.Mailbox(mailbox.org_id, mailbox.id)
    first = mail(mailbox.ingress, "Två arbetare samtidigt")
    reply = mail(mailbox.ingress, "Sv: Två arbetare samtidigt", In_Reply_To=first["Message-ID"])
    first_id, reply_id = [await ingress.store(db, box, m.as_bytes()) for m in (first, reply)]
    with pytest.raises(receive.EarlierMailFirst):  # another worker holds the first mail's job
        await receive.receive(db, mailbox.org_id, reply_id)
    await receive.receive(db, mailbox.org_id, first_id)
    await receive.receive(db, mailbox.org_id, reply_id)  # the job's retry
    _, messages = await conversation_of(db, mailbox.org_id, "Två arbetare samtidigt")
    assert [m["joined_by"] for m in messages] == ["new", "header"]
