"""Mail out over real SMTP: a reply goes to an aiosmtpd relay once, threads back, survives the relay being down."""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import email
from email import policy

import pytest
from aiosmtpd.smtp import SMTP

from app import conversations, jobs
from app.jobs import Job
from app.mail import outgoing, parse, receive
from devtools.services import free_port
from tests.factories import make_channel, make_conversation, make_org, unique_email
from tests.test_mail_in import conversation_of, mail, send
from workers.worker import run_once

HANDLERS = {"mail.parse": receive.parse_job, "mail.send": outgoing.send_job}


class Sink:
    """aiosmtpd hooks of a relay that keeps what it accepts, or answers what the test says."""

    def __init__(self):
        self.envelopes = []
        self.answer = "250 2.0.0 OK"
        self.port = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.answer.startswith("250"):
            self.envelopes.append(envelope)
        return self.answer

    def to(self, address: str) -> list:
        """What reached `address`: claims cross organisations, so other tests' replies may pass by too."""
        return [e for e in self.envelopes if address in e.rcpt_tos]


@contextlib.asynccontextmanager
async def smtp_sink():
    """A relay on a free port, as the SMTP ingress is started in tests/test_mail_in.py."""
    sink = Sink()
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(sink, hostname="relay.test"), "127.0.0.1", port := free_port())
    sink.port = port
    try:
        yield sink
    finally:
        server.close()


@contextlib.contextmanager
def relay_at(settings, port: int):
    """Send through the relay on `port` (nothing listening there: the relay is down)."""
    outgoing.configure(dataclasses.replace(settings, smtp_relay_host="127.0.0.1", smtp_relay_port=port))
    try:
        yield
    finally:
        outgoing.configure(settings)


async def queue_reply(db, editor, conversation_id: int, body: str = "Hej! Paketet är på väg.") -> int:
    """An editor's reply and its send job in one transaction, as the reply form does."""
    async with db.transaction(editor.org_id) as tx:
        message_id = await conversations.add_in(tx, editor, conversation_id, kind="editor", body=body)
        await outgoing.queue_send(tx, message_id)
    return message_id


async def work_off(db) -> None:
    """Run the worker's mail jobs until none are due."""
    while await run_once(db, HANDLERS, "test-worker"):
        pass


async def send_job_of(db, org_id: int, message_id: int):
    async with db.transaction(org_id, readonly=True) as tx:
        job_id = await tx.fetchval("SELECT send_job_id FROM messages WHERE org_id = $1 AND id = $2",
                                   org_id, message_id)
    return await jobs.job_state(db, org_id, job_id)


async def make_due_now(db, org_id: int, job_id: int, **changes) -> None:
    """Skip a job's back-off, as the passing of time would."""
    async with db.transaction(org_id) as tx:
        await tx.execute("UPDATE jobs SET run_at = now(), attempts = coalesce($3, attempts) "
                         "WHERE org_id = $1 AND id = $2", org_id, job_id, changes.get("attempts"))


def headers(envelope) -> email.message.Message:
    return email.message_from_bytes(envelope.content, policy=policy.compat32)


@pytest.fixture
async def sink(settings):
    async with smtp_sink() as sink:
        with relay_at(settings, sink.port):
            yield sink


@pytest.fixture
async def case(db):
    """A mail case from Karin, with an editor to answer it."""
    admin = await make_org(db)
    channel_id = await make_channel(db, admin, name="Kundtjänst")
    customer = unique_email("karin")
    conversation_id = await make_conversation(db, admin.actor.org_id, channel_id, subject="Var är mitt paket?",
                                              customer_name="Karin Berg", customer_email=customer)
    return dataclasses.make_dataclass("Case", ["admin", "org_id", "channel_id", "id", "customer"])(
        admin.actor, admin.actor.org_id, channel_id, conversation_id, customer)


async def test_a_reply_goes_out_once_with_threading_headers_and_the_case_number(db, sink, smtp_port, mailbox):
    karin = unique_email("karin")  # her own address: other tests' replies may pass through this relay too
    first = mail(mailbox.ingress, "Sv: Var är mitt paket?", sender=f"Karin Berg <{karin}>")
    again = mail(mailbox.ingress, "Sv: Var är mitt paket?", body="Hallå?", In_Reply_To=first["Message-ID"],
                 sender=f"Karin Berg <{karin}>")
    await send(smtp_port, first, [mailbox.ingress])
    await send(smtp_port, again, [mailbox.ingress])
    await work_off(db)
    row, _ = await conversation_of(db, mailbox.org_id, "Sv: Var är mitt paket?")
    message_id = await queue_reply(db, mailbox.admin.actor, row["id"], "Hej Karin!\nDet kommer i morgon. Åsa")
    queued = await outgoing.delivery(db, mailbox.org_id, message_id)
    assert queued["state"] == "queued" and queued["mail_message_id"].endswith("@" + mailbox.address.split("@")[1])
    await work_off(db)
    await work_off(db)  # nothing left to do: still one mail
    [sent] = sink.to(karin)
    assert (sent.mail_from, sent.rcpt_tos) == (mailbox.address, [karin])
    out = headers(sent)
    assert out["From"] == f'"info@" <{mailbox.address}>'
    assert out["To"] == f"Karin Berg <{karin}>"
    assert out["Message-ID"] == f"<{queued['mail_message_id']}>"
    assert out["In-Reply-To"] == again["Message-ID"]
    assert out["References"].split() == [first["Message-ID"], again["Message-ID"]]
    read = parse.parse(sent.content)
    assert read.subject == f"Re: Var är mitt paket? [#{row['case_number']}]"
    assert read.text.strip() == "Hej Karin!\nDet kommer i morgon. Åsa"
    done = await outgoing.delivery(db, mailbox.org_id, message_id)
    assert (done["state"], done["error"], done["job_state"]) == ("sent", None, "done") and done["sent_at"]


async def test_the_customers_answer_threads_back_into_the_case_by_in_reply_to(db, sink, smtp_port, mailbox):
    karin = unique_email("karin")
    await send(smtp_port, mail(mailbox.ingress, "Trasig kaffebryggare", sender=f"Karin Berg <{karin}>"),
               [mailbox.ingress])
    await work_off(db)
    row, _ = await conversation_of(db, mailbox.org_id, "Trasig kaffebryggare")
    await queue_reply(db, mailbox.admin.actor, row["id"], "Skicka gärna en bild.")
    await work_off(db)
    [ours] = sink.to(karin)
    # her client keeps our Message-ID in In-Reply-To; the subject she chose has no case number
    answer = mail(mailbox.ingress, "Bild", body="Här är den.", In_Reply_To=headers(ours)["Message-ID"])
    await send(smtp_port, answer, [mailbox.ingress])
    await work_off(db)
    _, messages = await conversations.get(db, mailbox.org_id, row["id"])
    assert [(m["kind"], m["joined_by"]) for m in messages] == [("customer", "new"), ("editor", None),
                                                               ("customer", "header")]


async def test_relay_down_retries_with_back_off_and_sends_once_with_the_same_message_id(db, settings, case):
    message_id = await queue_reply(db, case.admin, case.id)
    with relay_at(settings, free_port()):  # nothing listens there
        await work_off(db)
    waiting = await outgoing.delivery(db, case.org_id, message_id)
    assert waiting["state"] == "retrying" and "SMTPConnectError" in waiting["error"]
    assert (waiting["job_state"], waiting["attempts"]) == ("queued", 1) and waiting["next_attempt_at"]
    job = await send_job_of(db, case.org_id, message_id)
    assert job["run_at"] > job["created_at"], "backs off before the next attempt"
    async with smtp_sink() as sink:
        with relay_at(settings, sink.port):
            await work_off(db)
            assert sink.to(case.customer) == [], "not before its back-off is over"
            await make_due_now(db, case.org_id, job["id"])
            await work_off(db)
            await make_due_now(db, case.org_id, job["id"])
            await work_off(db)
    [sent] = sink.to(case.customer)
    assert headers(sent)["Message-ID"] == f"<{waiting['mail_message_id']}>"
    done = await outgoing.delivery(db, case.org_id, message_id)
    assert (done["state"], done["error"], done["attempts"], done["job_state"]) == ("sent", None, 2, "done")


async def test_a_5xx_from_the_relay_fails_the_reply_without_retrying(db, sink, case):
    sink.answer = "554 5.7.1 Message refused"
    message_id = await queue_reply(db, case.admin, case.id)
    await work_off(db)
    failed = await outgoing.delivery(db, case.org_id, message_id)
    assert (failed["state"], failed["error"]) == ("failed", "the relay answered 554 5.7.1 Message refused")
    assert (failed["job_state"], failed["attempts"]) == ("done", 1), "not retried"
    sink.answer = "250 OK"
    await make_due_now(db, case.org_id, (await send_job_of(db, case.org_id, message_id))["id"])
    await work_off(db)
    assert sink.to(case.customer) == []


async def test_the_last_attempt_failing_leaves_the_reply_failed(db, settings, case):
    message_id = await queue_reply(db, case.admin, case.id)
    job = await send_job_of(db, case.org_id, message_id)
    await make_due_now(db, case.org_id, job["id"], attempts=job["max_attempts"] - 1)
    with relay_at(settings, free_port()):
        await work_off(db)
    failed = await outgoing.delivery(db, case.org_id, message_id)
    assert failed["state"] == "failed" and "SMTPConnectError" in failed["error"]
    assert failed["job_state"] == "failed"


async def test_a_reply_whose_worker_died_on_its_last_attempt_shows_failed(db, case):
    message_id = await queue_reply(db, case.admin, case.id)
    job = await send_job_of(db, case.org_id, message_id)
    await make_due_now(db, case.org_id, job["id"], attempts=job["max_attempts"] - 1)
    [claimed] = [j for j in await jobs.claim(db, [outgoing.SEND], "worker-killed", lease_seconds=1, limit=100)
                 if j.id == job["id"]]  # e.g. the machine went down mid-send
    await asyncio.sleep(1.5)
    await work_off(db)
    failed = await outgoing.delivery(db, case.org_id, message_id)
    assert failed["state"] == "failed" and "lease expired" in failed["error"], "not 'retrying' forever"


async def test_header_injection_in_name_and_subject_gives_exactly_the_intended_headers(db, sink):
    """RELIABILITY M6 and CVE-2024-6923: CRLF and encoded line breaks never become headers."""
    admin = await make_org(db)
    channel_id = await make_channel(db, admin)
    eve = unique_email("eve")
    conversation_id = await make_conversation(
        db, admin.actor.org_id, channel_id, customer_email=eve,
        customer_name="Eve\r\nBcc: x@evil.example =?UTF-8?Q?=0A?=Cc: w@evil.example",
        subject="Faktura\r\nBcc: y@evil.example =?UTF-8?Q?=0A?=Bcc: z@evil.example")
    await queue_reply(db, admin.actor, conversation_id)
    await work_off(db)
    [sent] = sink.to(eve)
    assert sent.rcpt_tos == [eve]
    out = headers(sent)
    assert [k.lower() for k in out.keys()] == ["from", "to", "subject", "date", "message-id", "content-type",
                                               "content-transfer-encoding", "mime-version"]
    assert [" ".join(v.split()) for v in out.get_all("To")] == [f'"Eve Bcc: x@evil.example Cc: w@evil.example" <{eve}>']
    read = parse.parse(sent.content)
    assert [a.address for a in read.to] == [eve] and read.cc == ()
    assert "\n" not in read.subject and "\r" not in read.subject and read.subject.startswith("Re: Faktura Bcc:")


async def test_a_send_job_run_twice_mails_the_customer_once(db, sink, case):
    message_id = await queue_reply(db, case.admin, case.id)
    state = await send_job_of(db, case.org_id, message_id)
    # the same claim run again, as after a lease expired: the second run finds it sent
    job = Job(state["id"], case.org_id, "mail.send", {"message_id": message_id}, 1, state["max_attempts"], "w")
    await outgoing.send_job(db, job)
    await outgoing.send_job(db, job)
    assert len(sink.to(case.customer)) == 1
    assert (await outgoing.delivery(db, case.org_id, message_id))["state"] == "sent"


async def test_a_mailbox_with_its_own_relay_sends_through_it(db, settings, case):
    async with smtp_sink() as own:
        async with db.transaction(case.org_id) as tx:
            await tx.execute("UPDATE channels SET relay_host = '127.0.0.1', relay_port = $3 "
                             "WHERE org_id = $1 AND id = $2", case.org_id, case.channel_id, own.port)
            await tx.emit("channel.updated", channel_id=case.channel_id, actor_id=case.admin.user_id)
        message_id = await queue_reply(db, case.admin, case.id)
        with relay_at(settings, free_port()):  # the default relay is down; the mailbox's is not
            await work_off(db)
    assert len(own.to(case.customer)) == 1
    assert (await outgoing.delivery(db, case.org_id, message_id))["state"] == "sent"


async def test_only_an_editors_reply_in_a_mail_case_is_queued(db, case):
    forum = await make_conversation(db, case.org_id, await make_channel(db, case.admin, kind="forum"))
    async with db.transaction(case.org_id) as tx:
        note = await conversations.add_in(tx, case.admin, case.id, kind="note", body="Internt")
        answer = await conversations.add_in(tx, case.admin, forum, kind="editor", body="Svar i forumet")
        for message_id in (note, answer):
            with pytest.raises(ValueError):
                await outgoing.queue_send(tx, message_id)


def test_the_subject_keeps_one_case_number_and_no_stacked_prefixes():
    assert outgoing.reply_subject("SV: Re: Fwd: VB: Paket [#12]", 12) == "Re: Paket [#12]"
    assert outgoing.reply_subject("[#12] Sv: Paket", 12) == "Re: Paket [#12]"
    assert outgoing.reply_subject("Re: Paket [#9]", 12) == "Re: Paket [#12]"
    assert outgoing.reply_subject("", 12) == "Re: [#12]"


def test_compose_refuses_what_is_not_one_plain_address():
    for bad in ("karin@kund.example, eve@evil.example", "Eve <eve@evil.example>", "karin@kund.example\r\nBcc: x@y",
                "=?UTF-8?Q?=0A?=@evil.example", "", None):
        with pytest.raises(outgoing.Unsendable):
            outgoing.compose(mailbox_name="info@", mailbox_address="info@samsyn.example", customer_name="Karin",
                             customer_address=bad, subject="Hej", case_number=1, message_id="a@samsyn.example",
                             body="Hej")
