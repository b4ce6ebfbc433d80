"""IMAP polling against a real Dovecot: mail fetched, stored, and only then marked seen; settings kept secret."""
from __future__ import annotations

import asyncio
import uuid
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import aioimaplib
import asyncpg
import pytest

from app import conversations
from app.errors import Invalid
from app.mail import imap
from tests.factories import csrf_from, login, make_channel, make_org, unique_email
from workers.worker import HANDLERS, run_once

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "mail"


def a_mail(subject: str, body: str = "Hej! Var är min beställning?") -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Karin Berg <karin@kund.example>", "info@example.se", subject
    message["Message-ID"] = make_msgid(domain="kund.example")
    message.set_content(body)
    return message.as_bytes()


class Account:
    """A mail account on the test Dovecot, reached as a mail client would."""

    def __init__(self, dovecot, password: str = "hemligt-lösen"):
        self.dovecot, self.user, self.password = dovecot, f"box-{uuid.uuid4().hex[:10]}", password
        dovecot.add_user(self.user, password)

    async def _client(self) -> aioimaplib.IMAP4:
        client = aioimaplib.IMAP4("127.0.0.1", self.dovecot.port, timeout=10)
        await client.wait_hello_from_server()
        assert (await client.login(self.user, self.password)).result == "OK"
        return client

    async def append(self, raw: bytes, folder: str = "INBOX") -> None:
        client = await self._client()
        try:
            if folder != "INBOX":
                await client.create(imap.mailbox_name(folder))
            assert (await client.append(raw, mailbox=imap.mailbox_name(folder))).result == "OK"
        finally:
            await client.logout()

    async def seen(self, folder: str = "INBOX") -> list[bool]:
        """For each mail in the folder, in order, whether it is marked seen."""
        client = await self._client()
        try:
            await client.select(imap.mailbox_name(folder))  # FETCH FLAGS changes no flag
            response = await client.fetch("1:*", "(FLAGS)")
            return [b"\\Seen" in line for line in response.lines if b"FETCH" in line]
        finally:
            await client.logout()

    async def unsee(self) -> None:
        await self._flag("-FLAGS")

    async def read(self) -> None:
        """Open every mail, as someone in another mail program would (they are no longer unseen)."""
        await self._flag("+FLAGS")

    async def _flag(self, change: str) -> None:
        client = await self._client()
        try:
            await client.select("INBOX")
            await client.store("1:*", change, r"(\Seen)")
        finally:
            await client.logout()

    async def uid_validity(self, folder: str) -> int:
        client = await self._client()
        try:
            return imap._selected(await client.select(imap.mailbox_name(folder)), b"UIDVALIDITY")
        finally:
            await client.logout()

    async def recreate(self, folder: str) -> None:
        """Delete the folder and make it again: a new UIDVALIDITY, its mails to come numbered anew."""
        client = await self._client()
        try:
            assert (await client.delete(imap.mailbox_name(folder))).result == "OK"
            assert (await client.create(imap.mailbox_name(folder))).result == "OK"
        finally:
            await client.logout()


async def connect(db, mailbox, account: Account, **changes) -> None:
    """Point the mailbox at the account on the test Dovecot (loopback, so unencrypted is allowed)."""
    values = {"host": "127.0.0.1", "port": str(account.dovecot.port), "security": "none",
              "username": account.user, "password": account.password, "folder": "INBOX", "enabled": True, **changes}
    await imap.save_settings(db, mailbox.admin.actor, mailbox.id, key=imap._key, **values)


async def work_off(db) -> None:
    """What the worker processes do: queue the due polls, run every job (polls, then parses) until none is due."""
    await imap.schedule(db)
    while await run_once(db, HANDLERS, "test-worker"):
        pass


async def cases(db, org_id: int) -> list[str]:
    return sorted(r["subject"] for r in await conversations.queue(db, org_id))


async def raw_count(db, org_id: int) -> int:
    async with db.transaction(org_id, readonly=True) as tx:
        return await tx.fetchval("SELECT count(*) FROM raw_mails WHERE org_id = $1", org_id)


async def test_new_mail_on_the_imap_server_becomes_a_case_and_is_then_marked_seen(db, dovecot, mailbox):
    account = Account(dovecot)
    await account.append(a_mail("Paketet har inte kommit"))
    await connect(db, mailbox, account)
    assert await account.seen() == [False]
    await work_off(db)
    assert await cases(db, mailbox.org_id) == ["Paketet har inte kommit"]
    assert await account.seen() == [True]
    state = await imap.settings_of(db, mailbox.org_id, mailbox.id)
    assert state["last_polled_at"] is not None and state["fetched"] == 1 and state["last_error_kind"] is None


async def test_a_mail_that_could_not_be_stored_stays_unseen_and_comes_in_at_the_next_poll(db, dovecot, mailbox,
                                                                                           settings):
    account = Account(dovecot)
    await account.append(a_mail("Fakturan stämmer inte"))
    await connect(db, mailbox, account)
    # PostgreSQL refuses the store, as a full disk or a lost connection would (a real error, from the server)
    owner = await asyncpg.connect(settings.database_owner_url)
    await owner.execute(f"""
        CREATE FUNCTION refuse_imap_test() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'disk full (test)'; END $$;
        CREATE TRIGGER refuse_imap_test BEFORE INSERT ON raw_mails FOR EACH ROW
        WHEN (NEW.channel_id = {int(mailbox.id)}) EXECUTE FUNCTION refuse_imap_test();""")
    try:
        await work_off(db)
    finally:
        await owner.execute("DROP TRIGGER refuse_imap_test ON raw_mails; DROP FUNCTION refuse_imap_test()")
        await owner.close()
    assert await account.seen() == [False], "not stored, so not marked seen"
    assert await raw_count(db, mailbox.org_id) == 0
    state = await imap.settings_of(db, mailbox.org_id, mailbox.id)
    assert state["last_error_kind"] == "store" and "disk full (test)" in state["last_error"]

    await imap.poll(db, mailbox.org_id, mailbox.id)  # the next poll (the back-off's wait skipped)
    await work_off(db)
    assert await cases(db, mailbox.org_id) == ["Fakturan stämmer inte"]
    assert await account.seen() == [True]
    assert (await imap.settings_of(db, mailbox.org_id, mailbox.id))["last_error_kind"] is None


async def test_a_mail_fetched_again_is_stored_once(db, dovecot, mailbox):
    account = Account(dovecot)
    await connect(db, mailbox, account)
    await work_off(db)  # an empty folder: counted from here
    await account.append(a_mail("Dubbel leverans"))
    await imap.poll(db, mailbox.org_id, mailbox.id)
    # as after a crash between storing and noting the UID: the poll's mark is behind, the server says unseen
    async with db.transaction(mailbox.org_id) as tx:
        await tx.execute("UPDATE imap_polls SET last_uid = 0 WHERE org_id = $1", mailbox.org_id)
    await account.unsee()
    assert await imap.poll(db, mailbox.org_id, mailbox.id) == 0
    await work_off(db)
    assert await raw_count(db, mailbox.org_id) == 1
    assert await cases(db, mailbox.org_id) == ["Dubbel leverans"]
    assert await account.seen() == [True], "the copy already stored is marked seen too"


async def test_a_mail_someone_opened_in_another_mail_program_first_still_comes_in(db, dovecot, mailbox):
    account = Account(dovecot)
    await account.append(a_mail("Redan läst i Outlook"))
    await account.read()  # read before Samsyn was connected: not taken
    await account.append(a_mail("Oläst vid start"))
    await connect(db, mailbox, account)
    await work_off(db)
    assert await cases(db, mailbox.org_id) == ["Oläst vid start"]

    await account.append(a_mail("Öppnad av en kollega"))
    await account.read()  # opened in another program before the next poll
    await imap.poll(db, mailbox.org_id, mailbox.id)
    await work_off(db)
    assert await cases(db, mailbox.org_id) == ["Oläst vid start", "Öppnad av en kollega"]
    await imap.poll(db, mailbox.org_id, mailbox.id)
    assert await raw_count(db, mailbox.org_id) == 2, "each mail once"


async def test_a_mail_too_big_is_passed_over_once_and_stays_reported(db, dovecot, mailbox, monkeypatch):
    account = Account(dovecot)
    await connect(db, mailbox, account)
    await work_off(db)  # an empty folder: counted from here
    monkeypatch.setattr(imap, "_max_bytes", 2000)
    await account.append(a_mail("Bifogad film", "x" * 5000))
    await account.append(a_mail("Kort fråga"))
    for _ in range(2):  # the second poll neither fetches it again nor forgets to say so
        await imap.poll(db, mailbox.org_id, mailbox.id)
        state = await imap.settings_of(db, mailbox.org_id, mailbox.id)
        assert state["last_error_kind"] == "too_big" and "UID 1:" in state["last_error"]
    await work_off(db)
    assert await cases(db, mailbox.org_id) == ["Kort fråga"]
    assert await account.seen() == [False, True], "the big one stays unread on the server, for a person to see"


async def test_a_folder_renumbered_starts_again_from_its_unseen_mail_without_duplicates(db, dovecot, mailbox):
    account = Account(dovecot)
    first = a_mail("Före omnumreringen")
    await account.append(first, folder="Support")
    await connect(db, mailbox, account, folder="Support")
    await work_off(db)
    before = await account.uid_validity("Support")
    await account.recreate("Support")
    if await account.uid_validity("Support") == before:  # Dovecot numbers a new folder by the clock's second
        await asyncio.sleep(1.1)
        await account.recreate("Support")
    assert await account.uid_validity("Support") != before
    await account.append(first, folder="Support")  # the same mail, under a new UID, unseen again
    await account.append(a_mail("Efter omnumreringen"), folder="Support")
    await imap.poll(db, mailbox.org_id, mailbox.id)
    await work_off(db)
    assert await cases(db, mailbox.org_id) == ["Efter omnumreringen", "Före omnumreringen"]
    assert await raw_count(db, mailbox.org_id) == 2


async def test_another_folder_or_account_starts_from_its_own_unseen_mail(db, dovecot, mailbox):
    account = Account(dovecot)
    for n in range(3):
        await account.append(a_mail(f"Inkorgen {n}"))
    await connect(db, mailbox, account)
    await work_off(db)  # counted up to UID 3 of the inbox

    async def counted() -> int | None:
        async with db.transaction(mailbox.org_id, readonly=True) as tx:
            return await tx.fetchval("SELECT last_uid FROM imap_polls WHERE org_id = $1", mailbox.org_id)

    assert await counted() == 3
    await connect(db, mailbox, account, enabled=True)  # the same mailbox saved again: the count stays
    assert await counted() == 3
    await account.append(a_mail("I den andra mappen"), folder="Annat")  # UID 1 there
    await connect(db, mailbox, account, folder="Annat")  # another folder: its UIDs count anew
    assert await counted() is None
    await work_off(db)
    assert "I den andra mappen" in await cases(db, mailbox.org_id)


async def test_two_workers_sweeping_at_once_queue_one_poll_per_mailbox(db, dovecot, mailbox):
    account = Account(dovecot)
    await connect(db, mailbox, account)
    await asyncio.gather(*(imap.schedule(db) for _ in range(4)))
    await imap.schedule(db)  # and again while that poll is still queued
    async with db.transaction(mailbox.org_id, readonly=True) as tx:
        queued = await tx.fetchval("SELECT count(*) FROM jobs WHERE org_id = $1 AND kind = $2", mailbox.org_id,
                                   imap.POLL)
    assert queued == 1
    await work_off(db)


async def test_a_wrong_password_shows_on_the_channel_page_and_other_mailboxes_still_poll(db, dovecot, mailbox,
                                                                                         client):
    broken, working = Account(dovecot), Account(dovecot)
    await connect(db, mailbox, broken, password="fel-lösenord")
    other = await make_channel(db, mailbox.admin, "mailbox", name="Faktura")
    await imap.save_settings(db, mailbox.admin.actor, other, key=imap._key, host="127.0.0.1",
                             port=str(dovecot.port), security="none", username=working.user,
                             password=working.password, folder="INBOX", enabled=True)
    await working.append(a_mail("Kreditfaktura"))
    await work_off(db)
    assert await cases(db, mailbox.org_id) == ["Kreditfaktura"]
    state = await imap.settings_of(db, mailbox.org_id, mailbox.id)
    assert state["last_error_kind"] == "login" and state["failing_since"] is not None
    assert state["next_poll_at"] > state["failing_since"], "polled again later, not at once"
    await login(client, mailbox.admin.email)
    page = (await client.get(f"/admin/channels/{mailbox.id}")).text
    assert "IMAP-servern godtog inte användarnamnet eller lösenordet." in page
    assert "AUTHENTICATIONFAILED" in page, "the server's own words too"


async def test_an_unreachable_server_shows_on_the_channel_page(db, dovecot, mailbox):
    from devtools.services import free_port

    await connect(db, mailbox, Account(dovecot), port=str(free_port()))
    await work_off(db)
    state = await imap.settings_of(db, mailbox.org_id, mailbox.id)
    assert state["last_error_kind"] == "connect" and state["last_polled_at"] is None


async def test_the_password_is_encrypted_at_rest_and_never_shown_again(db, dovecot, mailbox, client, settings):
    account = Account(dovecot, password=f"topphemligt-{uuid.uuid4().hex}")
    await login(client, mailbox.admin.email)
    page = await client.get(f"/admin/channels/{mailbox.id}")
    form = {"imap_host": "127.0.0.1", "imap_port": str(dovecot.port), "imap_security": "none",
            "imap_username": account.user, "imap_password": account.password, "imap_folder": "INBOX",
            "imap_enabled": "1", "csrf_token": csrf_from(page.text)}
    assert (await client.post(f"/admin/channels/{mailbox.id}/imap", data=form)).status_code == 303
    owner = await asyncpg.connect(settings.database_owner_url)
    try:
        rows = await owner.fetch("SELECT t::text AS row, password_encrypted FROM channel_imap t WHERE channel_id = $1",
                                 mailbox.id)
    finally:
        await owner.close()
    assert len(rows) == 1
    assert account.password not in rows[0]["row"]
    assert account.password.encode() not in bytes(rows[0]["password_encrypted"])
    page = (await client.get(f"/admin/channels/{mailbox.id}")).text
    assert account.password not in page and account.user in page
    assert "Ett lösenord är sparat." in page

    # saved again without a password: the saved one is kept, and still works
    form.update(imap_password="", imap_folder="INBOX", csrf_token=csrf_from(page))
    assert (await client.post(f"/admin/channels/{mailbox.id}/imap", data=form)).status_code == 303
    await account.append(a_mail("Lösenordet finns kvar"))
    await work_off(db)
    assert await cases(db, mailbox.org_id) == ["Lösenordet finns kvar"]


async def test_a_lost_key_shows_on_the_channel_page_and_a_new_password_mends_it(db, dovecot, mailbox, settings):
    account = Account(dovecot)
    other_key = "b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktISE="
    await connect(db, mailbox, account)
    await imap.save_settings(db, mailbox.admin.actor, mailbox.id, key=other_key, host="127.0.0.1",
                             port=str(dovecot.port), security="none", username=account.user,
                             password=account.password, folder="INBOX", enabled=True)
    await imap.poll(db, mailbox.org_id, mailbox.id)
    assert (await imap.settings_of(db, mailbox.org_id, mailbox.id))["last_error_kind"] == "key"
    await connect(db, mailbox, account)  # the admin enters the password again
    await imap.poll(db, mailbox.org_id, mailbox.id)
    assert (await imap.settings_of(db, mailbox.org_id, mailbox.id))["last_error_kind"] is None


async def test_unencrypted_imap_is_refused_to_any_host_but_this_machine(db, mailbox):
    for host in ("imap.example.se", "10.0.0.5"):
        with pytest.raises(Invalid) as refused:
            await imap.save_settings(db, mailbox.admin.actor, mailbox.id, key=imap._key, host=host, port="",
                                     security="none", username="info", password="x", folder="INBOX", enabled=True)
        assert refused.value.field == "imap_security"
    for host in ("localhost", "127.0.0.1", "::1"):
        assert imap.is_loopback(host)


async def test_a_disabled_mailbox_is_not_polled(db, dovecot, mailbox):
    account = Account(dovecot)
    await account.append(a_mail("Ska vänta"))
    await connect(db, mailbox, account, enabled=False)
    await work_off(db)
    assert await account.seen() == [False] and await raw_count(db, mailbox.org_id) == 0


async def test_a_folder_with_a_swedish_name_is_polled(db, dovecot, mailbox):
    account = Account(dovecot)
    await account.append(a_mail("Från undermappen"), folder="Kundtjänst")
    await connect(db, mailbox, account, folder="Kundtjänst")
    await work_off(db)
    assert await cases(db, mailbox.org_id) == ["Från undermappen"]
    assert await account.seen("Kundtjänst") == [True]


async def test_another_organisation_can_neither_see_nor_change_the_settings(db, dovecot, mailbox, client):
    account = Account(dovecot)
    await connect(db, mailbox, account)
    stranger = await make_org(db, "Deras AB")
    await login(client, stranger.email)
    token = csrf_from((await client.get("/admin/channels")).text)
    page = await client.get(f"/admin/channels/{mailbox.id}")
    assert page.status_code == 404 and account.user not in page.text
    changed = await client.post(f"/admin/channels/{mailbox.id}/imap", headers={"x-csrf-token": token},
                                data={"imap_host": "evil.example", "imap_security": "tls", "imap_username": "x",
                                      "imap_password": "x", "imap_enabled": "1"})
    assert changed.status_code == 404
    async with db.transaction(stranger.actor.org_id, readonly=True) as tx:
        assert await tx.fetchval("SELECT count(*) FROM channel_imap") == 0, "row-level security hides it"
    assert (await imap.settings_of(db, mailbox.org_id, mailbox.id))["host"] == "127.0.0.1"


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no mail corpus at {CORPUS}")
async def test_corpus_mails_come_in_over_imap_byte_for_byte(db, dovecot, mailbox):
    account = Account(dovecot)
    files = [CORPUS / "zbateson-mail-mime-parser" / name for name in ("m0002.txt", "m1005.txt")]
    for path in files:
        await account.append(path.read_bytes())
    await connect(db, mailbox, account)
    await work_off(db)
    assert await cases(db, mailbox.org_id) == ["Die Hasen und die Frösche (Microsoft Outlook 00)",
                                               "Die Hasen und die Frösche (Netscape Messenger 4.7)"]
    async with db.transaction(mailbox.org_id, readonly=True) as tx:
        stored = {bytes(r["raw"]) for r in await tx.fetch("SELECT raw FROM raw_mails WHERE org_id = $1",
                                                           mailbox.org_id)}
    # Dovecot hands back what was appended (line ends as CRLF, as IMAP sends them)
    assert stored == {p.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") for p in files}
    assert await account.seen() == [True, True]


async def test_a_forum_cannot_fetch_mail(db, mailbox):
    forum = await make_channel(db, mailbox.admin, "forum")
    with pytest.raises(Invalid):
        await imap.save_settings(db, mailbox.admin.actor, forum, key=imap._key, host="imap.example.se", port="",
                                 security="tls", username=unique_email(), password="x", folder="INBOX", enabled=True)


# --- TLS and STARTTLS, against a Dovecot with a certificate of its own ----------------------------

def _self_signed(directory: Path) -> tuple[Path, Path]:
    import ipaddress
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "imap-cert.pem", directory / "imap-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture(scope="module")
def dovecot_tls(dovecot):
    import shutil
    import tempfile

    from devtools.services import DovecotServer, free_port

    root = Path(tempfile.mkdtemp(prefix="samsyn-dovecot-tls-"))
    root.chmod(0o755)  # Dovecot's auth process must reach the server's users below it
    server = DovecotServer(root / "server", free_port(), free_port(), _self_signed(root))
    server.start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


async def test_a_server_whose_certificate_is_not_trusted_is_refused_before_the_password_is_sent(db, dovecot_tls,
                                                                                                 mailbox):
    account = Account(dovecot_tls)
    await account.append(a_mail("Över TLS"))
    for security, port in (("tls", dovecot_tls.tls_port), ("starttls", dovecot_tls.port)):
        await connect(db, mailbox, account, security=security, port=str(port))
        await imap.poll(db, mailbox.org_id, mailbox.id)
        state = await imap.settings_of(db, mailbox.org_id, mailbox.id)
        assert state["last_error_kind"] == "tls" and "certificate" in state["last_error"].lower(), security
    assert await account.seen() == [False]


@pytest.mark.parametrize("security", ["tls", "starttls"])
async def test_mail_comes_in_over_tls_and_starttls_from_a_trusted_server(db, dovecot_tls, mailbox, monkeypatch,
                                                                         security):
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot_tls.certificate[0]))  # as a private CA in the system's store
    account = Account(dovecot_tls)
    await account.append(a_mail(f"Över {security}"))
    port = dovecot_tls.tls_port if security == "tls" else dovecot_tls.port
    await connect(db, mailbox, account, security=security, port=str(port))
    await imap.poll(db, mailbox.org_id, mailbox.id)
    assert (await imap.settings_of(db, mailbox.org_id, mailbox.id))["last_error_kind"] is None
    await work_off(db)
    assert await cases(db, mailbox.org_id) == [f"Över {security}"]
    assert await account.seen() == [True]
