"""The reply composer over real HTTP and SMTP: Cc and Bcc, files, signatures, drafts, new mails, sending again."""
from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit

from app import channels, conversations, drafts
from app.mail import outgoing, parse
from tests.factories import csrf_from, login, make_channel, make_conversation, make_member, make_org, unique_email
from tests.replay import assert_replay_equals_fresh
from tests.test_mail_in import mail, send
from tests.test_mail_out import headers, sink, work_off  # noqa: F401 - sink is a fixture
from tests.test_replay import team  # noqa: F401 - a fixture

PDF = b"%PDF-1.4 kvitto \x00\xff" * 50


async def _case(db, client, signature: str = ""):
    """A mail case from a customer of their own, a logged-in editor, and the page's CSRF token and draft key."""
    admin = await make_org(db)
    channel = await make_channel(db, admin, name="Kundtjänst")
    if signature:
        found = await channels.get_channel(db, admin.actor.org_id, channel)
        await channels.update_channel(db, admin.actor, channel, name=found["name"], colour=found["colour"],
                                      address=found["address"], response_target_minutes=60, signature=signature)
    customer = unique_email("karin")
    conv = await make_conversation(db, admin.actor.org_id, channel, subject="Kvittot", customer_email=customer)
    editor = await make_member(db, admin.actor.org_id, "editor", "Anna Lind")
    await login(client, editor.email)
    return admin, editor, channel, conv, customer


async def _form(client, path: str) -> dict:
    """The composer's hidden fields on a page: CSRF token, newest message seen, this page's draft key."""
    html = (await client.get(path)).text
    seen = re.search(r'name="seen" value="(\d+)"', html)
    return {"csrf_token": csrf_from(html), "draft_generation": re.search(r'name="draft_generation" value="(\d+)"', html).group(1),
            **({"seen": seen.group(1)} if seen else {})}


async def _upload(client, path: str, form: dict, files: list[tuple[str, bytes, str]], **fields):
    return await client.post(f"{path}/uploads", params={"csrf_token": form["csrf_token"]},
                             data={"draft_generation": form["draft_generation"], **fields},
                             files=[("files", f) for f in files])


async def test_a_reply_goes_out_with_cc_files_and_signature_and_bcc_only_in_the_envelope(db, client, sink):  # noqa: F811
    admin, editor, _, conv, customer = await _case(db, client, signature="Anna Lind\nKundtjänst, Postverket")
    path = f"/conversations/{conv}"
    form = await _form(client, path)
    uploaded = await _upload(client, path, form, [("Kvitto åäö.pdf", PDF, "application/pdf"),
                                                  ("../../etc/passwd", b"root:x", "text/plain; charset=utf-8")],
                             body="Hej Karin!")
    assert uploaded.status_code == 303 and urlsplit(uploaded.headers["location"]).path == path
    page = (await client.get(path)).text
    assert "Kvitto åäö.pdf" in page and "Hej Karin!" in page, "the upload kept the text typed beside it"
    cc, bcc = unique_email("chef"), unique_email("arkiv")
    sent = await client.post(f"{path}/reply", data={**form, "body": "Hej Karin!\nHär är kvittot.",
                                                     "cc": f"{cc.upper()}; {cc}", "bcc": bcc})
    assert sent.status_code == 303
    await work_off(db)
    [envelope] = sink.to(customer)
    assert envelope.rcpt_tos == [customer, cc, bcc]
    out = headers(envelope)
    assert out["Cc"] == cc and out["Bcc"] is None and bcc.encode() not in envelope.content
    read = parse.parse(envelope.content)
    assert read.text.strip() == "Hej Karin!\nHär är kvittot.\n\n-- \nAnna Lind\nKundtjänst, Postverket"
    assert [(a.filename, a.data) for a in read.attachments] == [("Kvitto åäö.pdf", PDF), ("passwd", b"root:x")]
    assert [a.content_type for a in read.attachments] == ["application/pdf", "text/plain"]
    page = (await client.get(path)).text
    assert f"{cc}" in page and f"{bcc}" in page, "Cc and Bcc show on the case"
    link = re.search(r'href="(/attachments/\d+)" download>Kvitto åäö.pdf<', page).group(1)
    download = await client.get(link)
    assert download.content == PDF and download.headers["content-disposition"].startswith("attachment;")
    assert 'name="cc" type="text" inputmode="email" autocomplete="off" maxlength="10000" value=""' in page, \
        "the draft was emptied when it was sent"


async def test_a_bad_cc_is_refused_and_what_was_typed_is_kept_as_the_draft(db, client):
    admin, _, _, conv, _ = await _case(db, client)
    path = f"/conversations/{conv}"
    form = await _form(client, path)
    refused = await client.post(f"{path}/reply", data={**form, "body": "Hej!", "cc": "chef@firma.se, inte en adress"})
    assert refused.status_code == 400 and "inte är ingen e-postadress som vi kan skicka till." in refused.text
    again = (await client.get(path)).text
    assert 'value="chef@firma.se, inte en adress"' in again and ">Hej!</textarea>" in again, "survives a reload"
    _, messages = await conversations.get(db, admin.actor.org_id, conv)
    assert [m["kind"] for m in messages] == ["customer"], "nothing was sent"


async def test_drafts_survive_a_reload_belong_to_their_writer_and_end_when_sent(db, client, server):
    import httpx

    admin, anna, _, conv, _ = await _case(db, client)
    path = f"/conversations/{conv}"
    form = await _form(client, path)
    saved = await client.post(f"{path}/draft", data={**form, "body": "Hej Karin, vi", "cc": "chef@firma.se"},
                              headers={"hx-request": "true"})
    assert saved.status_code == 200 and saved.text.strip() == "Utkastet är sparat"
    page = (await client.get(path)).text
    assert ">Hej Karin, vi</textarea>" in page and 'value="chef@firma.se"' in page
    bjorn = await make_member(db, admin.actor.org_id, "editor", "Björn Ek")
    async with httpx.AsyncClient(base_url=server) as other:
        await login(other, bjorn.email)
        assert "Hej Karin, vi" not in (await other.get(path)).text, "a draft is its writer's alone"
    assert (await client.post(f"{path}/reply", data={**form, "body": "Hej Karin, vi skickar i dag."})).status_code == 303
    # an autosave still on its way from the page that sent it does not bring the text back
    late = await client.post(f"{path}/draft", data={**form, "body": "Hej Karin, vi skickar i dag."},
                             headers={"hx-request": "true"})
    assert late.status_code == 200 and late.text.strip() == ""
    assert (await drafts.get(db, anna.actor, conv)).body == ""
    fresh = await _form(client, path)  # a new page writes a new draft
    await client.post(f"{path}/draft", data={**fresh, "body": "Ett till"}, headers={"hx-request": "true"})
    assert (await drafts.get(db, anna.actor, conv)).body == "Ett till"


async def test_a_file_can_be_taken_off_the_draft_and_its_content_goes_when_nothing_holds_it(db, client):
    admin, anna, _, conv, _ = await _case(db, client)
    path = f"/conversations/{conv}"
    form = await _form(client, path)
    await _upload(client, path, form, [("bild.png", b"\x89PNG bild", "image/png")])
    [file] = (await drafts.get(db, anna.actor, conv)).files
    removed = await client.post(f"{path}/draft", data={**form, "body": "Utan bild", "remove_file": str(file["id"])})
    assert removed.status_code == 303
    draft = await drafts.get(db, anna.actor, conv)
    assert (draft.files, draft.body) == ([], "Utan bild")
    assert await db.read(admin.actor.org_id, "SELECT 1 FROM blobs WHERE org_id = $1", admin.actor.org_id) == []


async def test_a_chosen_file_that_was_not_attached_is_not_silently_dropped(db, client):
    _, _, _, conv, _ = await _case(db, client)
    path = f"/conversations/{conv}"
    form = await _form(client, path)  # without JavaScript a file input sends only its name to /reply
    refused = await client.post(f"{path}/reply", data={**form, "body": "Se bilagan.", "files": "kvitto.pdf"})
    assert refused.status_code == 400 and "Tryck på Bifoga" in refused.text


async def _raw_upload(port: int, path: str, cookie: str, token: str, *, length: int | None, total: int) -> tuple[str, int]:
    """POST `total` bytes of a file to `path` over a raw socket, chunked unless `length` is declared;
    returns the status line and how many body bytes had been written when the answer came."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    boundary = "grans"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"stor.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    framing = (f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    writer.write((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
                  f"X-CSRF-Token: {token}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
                  f"{framing}\r\n\r\n").encode())
    written = 0

    async def write_body():
        nonlocal written
        chunk = b"\0" * (1024 * 1024)
        pieces = [head, *[chunk] * (total // len(chunk))]
        try:
            for piece in pieces:
                writer.write(piece if length is not None else b"%x\r\n%s\r\n" % (len(piece), piece))
                await writer.drain()
                written += len(piece)
        except (ConnectionError, OSError):
            pass  # the server stopped reading and closed: what we wanted

    sending = asyncio.create_task(write_body())
    status = (await reader.readline()).decode().strip()
    sending.cancel()
    writer.close()
    return status, written


async def test_an_upload_past_the_mail_limit_is_refused_without_reading_it_all(db, client, settings):
    _, anna, _, conv, _ = await _case(db, client)
    path = f"/conversations/{conv}/uploads"
    port, cookie = urlsplit(str(client.base_url)).port, f"samsyn_session={client.cookies['samsyn_session']}"
    token = (await _form(client, f"/conversations/{conv}"))["csrf_token"]
    huge = 4 * settings.mail_max_bytes
    status, written = await _raw_upload(port, path, cookie, token, length=huge, total=huge)
    assert status == "HTTP/1.1 413 Request Entity Too Large"
    assert written < huge // 2, "refused by its declared length, before the body"
    status, written = await _raw_upload(port, path, cookie, token, length=None, total=huge)
    assert status == "HTTP/1.1 413 Request Entity Too Large"
    assert written < drafts.files_budget(settings.mail_max_bytes) + 16 * 1024 * 1024, \
        "refused once past the limit, not after reading it all (the rest is socket buffers)"
    assert (await drafts.get(db, anna.actor, conv)).files == []


async def test_the_upload_route_takes_big_files_while_ordinary_forms_keep_their_1_mb_limit(db, client):
    _, anna, _, conv, _ = await _case(db, client)
    path = f"/conversations/{conv}"
    form = await _form(client, path)
    big = b"x" * 1_500_000
    refused = await client.post(f"{path}/reply", data={**form, "body": "Hej"}, files=[("files", ("a.bin", big))])
    assert refused.status_code == 413
    assert (await _upload(client, path, form, [("a.bin", big, "application/octet-stream")])).status_code == 303
    assert [f["size"] for f in (await drafts.get(db, anna.actor, conv)).files] == [len(big)]


async def test_files_past_what_one_mail_can_carry_are_refused_with_a_clear_message(db, client, settings):
    _, anna, _, conv, _ = await _case(db, client)
    path = f"/conversations/{conv}"
    form = await _form(client, path)
    budget = drafts.files_budget(settings.mail_max_bytes)
    assert (await _upload(client, path, form, [("a.bin", b"a" * (budget - 10), "application/octet-stream")]
                          )).status_code == 303
    refused = await _upload(client, path, form, [("b.bin", b"b" * 100, "application/octet-stream")], body="Hej")
    assert refused.status_code == 413
    assert f"filerna i ett mejl får vara högst {budget // 1024 // 1024} MB tillsammans" in refused.text
    script = await client.post(f"{path}/uploads", params={"csrf_token": form["csrf_token"]},
                               files=[("files", ("b.bin", b"b" * 100))], headers={"hx-request": "true"})
    assert script.status_code == 413 and 'id="draft-files"' in script.text and "får vara högst" in script.text
    assert [f["filename"] for f in (await drafts.get(db, anna.actor, conv)).files] == ["a.bin"]


async def test_a_new_mail_opens_a_case_and_the_customers_answer_threads_back(db, client, sink, smtp_port,  # noqa: F811
                                                                           mailbox):
    anna = await make_member(db, mailbox.org_id, "editor", "Anna Lind")
    await login(client, anna.email)
    form = await _form(client, "/compose")
    await _upload(client, "/compose", form, [("offert.pdf", PDF, "application/pdf")], to="x")
    customer, cc = unique_email("karin"), unique_email("chef")
    sent = await client.post("/compose", data={**form, "channel_id": str(mailbox.id), "to": customer, "cc": cc,
                                               "subject": "Er offert", "body": "Hej! Här kommer offerten."})
    assert sent.status_code == 303
    conv = int(sent.headers["location"].rsplit("/", 1)[1])
    row, messages = await conversations.get(db, mailbox.org_id, conv)
    assert (row["kind"], row["customer_email"], row["subject"], row["needs_reply"]) == ("mail", customer, "Er offert",
                                                                                       False)
    assert [(m["kind"], m["author_id"], list(m["cc"])) for m in messages] == [("editor", anna.actor.user_id, [cc])]
    await work_off(db)
    [ours] = sink.to(customer)
    out = headers(ours)
    assert out["Subject"] == f"Er offert [#{row['case_number']}]" and out["In-Reply-To"] is None
    assert [a.filename for a in parse.parse(ours.content).attachments] == ["offert.pdf"]
    assert (await drafts.get(db, anna.actor, None)).files == [], "the files went with the mail"
    answer = mail(mailbox.ingress, f"Sv: Er offert [#{row['case_number']}]", body="Tack, vi tar den.",
                  sender=customer, In_Reply_To=out["Message-ID"])
    await send(smtp_port, answer, [mailbox.ingress])
    await work_off(db)
    row, messages = await conversations.get(db, mailbox.org_id, conv)
    assert [(m["kind"], m["joined_by"]) for m in messages] == [("editor", None), ("customer", "header")]
    assert row["needs_reply"]


async def test_a_new_mail_says_what_is_wrong_and_keeps_what_was_typed(db, client, mailbox):
    anna = await make_member(db, mailbox.org_id, "editor", "Anna Lind")
    await login(client, anna.email)
    form = await _form(client, "/compose")
    refused = await client.post("/compose", data={**form, "channel_id": str(mailbox.id), "to": "karin(at)kund.se",
                                                  "subject": "Offert", "body": "Hej!"})
    assert refused.status_code == 400 and "karin(at)kund.se är ingen e-postadress" in refused.text
    page = (await client.get("/compose")).text
    assert 'value="karin(at)kund.se"' in page and 'value="Offert"' in page and ">Hej!</textarea>" in page


async def test_a_failed_reply_can_be_sent_again_but_a_sent_one_cannot(db, client, sink):  # noqa: F811
    admin, _, _, conv, customer = await _case(db, client)
    path = f"/conversations/{conv}"
    form = await _form(client, path)
    sink.answer = "554 5.7.1 Refused for now"
    await client.post(f"{path}/reply", data={**form, "body": "Hej Karin!", "cc": unique_email("chef")})
    await work_off(db)
    [reply] = [m for m in (await conversations.get(db, admin.actor.org_id, conv))[1] if m["kind"] == "editor"]
    failed = await outgoing.delivery(db, admin.actor.org_id, reply["id"])
    assert failed["state"] == "failed"
    assert "Skicka igen" in (await client.get(path)).text
    sink.answer = "250 OK"
    token = {"csrf_token": form["csrf_token"]}
    assert (await client.post(f"{path}/resend", data={**token, "message_id": str(reply["id"])})).status_code == 303
    assert (await outgoing.delivery(db, admin.actor.org_id, reply["id"]))["state"] == "queued"
    await work_off(db)
    [envelope] = sink.to(customer)
    assert headers(envelope)["Message-ID"] == f"<{failed['mail_message_id']}>" and len(envelope.rcpt_tos) == 2
    assert (await outgoing.delivery(db, admin.actor.org_id, reply["id"]))["state"] == "sent"
    again = await client.post(f"{path}/resend", data={**token, "message_id": str(reply["id"])})
    assert again.status_code == 400 and "Det svaret är redan skickat." in again.text
    await work_off(db)
    assert len(sink.to(customer)) == 1
    customer_message = (await conversations.get(db, admin.actor.org_id, conv))[1][0]["id"]
    assert (await client.post(f"{path}/resend", data={**token, "message_id": str(customer_message)})
            ).status_code == 404, "only our mails are sent"


async def test_admins_set_a_mailboxs_signature_and_the_composer_shows_it(db, client):
    admin = await make_org(db)
    channel = await make_channel(db, admin)
    forum = await make_channel(db, admin, kind="forum")
    conv = await make_conversation(db, admin.actor.org_id, channel)
    await login(client, admin.email)
    edit = await client.get(f"/admin/channels/{channel}")
    found = await channels.get_channel(db, admin.actor.org_id, channel)
    saved = await client.post(f"/admin/channels/{channel}", data={
        "csrf_token": csrf_from(edit.text), "name": found["name"], "colour": found["colour"],
        "address": found["address"], "response_target_minutes": "60", "signature": "Lena Holm\r\nPostverket  \r\n"})
    assert saved.status_code == 303
    assert (await channels.get_channel(db, admin.actor.org_id, channel))["signature"] == "Lena Holm\nPostverket"
    assert "-- \nLena Holm\nPostverket</pre>" in (await client.get(f"/conversations/{conv}")).text
    assert 'name="signature"' not in (await client.get(f"/admin/channels/{forum}")).text, "forums sign nothing"


async def test_a_new_mail_appears_in_every_members_queue_as_it_is_sent(team):  # noqa: F811
    channel = await make_channel(team.db, team.admin)
    await make_conversation(team.db, team.org_id, channel, subject="Äldre ärende")
    await assert_replay_equals_fresh(
        team.db, team.clients, team.org_id, "/",
        lambda: conversations.start_mail(team.db, team.admin, channel_id=channel, to=unique_email("kund"),
                                         subject="Er offert", body="Hej!"),
        expect_kinds={"conversation.created", "message.added", "message.delivery_changed"})


async def test_files_and_copies_go_with_mail_only(db, client):
    admin = await make_org(db)
    thread = await make_conversation(db, admin.actor.org_id, await make_channel(db, admin, kind="forum"))
    await login(client, admin.email)
    path = f"/conversations/{thread}"
    page = (await client.get(path)).text
    assert 'name="files"' not in page and 'name="cc"' not in page
    form = await _form(client, path)
    refused = await _upload(client, path, form, [("a.txt", b"hej", "text/plain")])
    assert refused.status_code == 400 and "Filer går bara att bifoga i e-post." in refused.text
    refused = await client.post(f"{path}/reply", data={**form, "body": "Svar", "cc": "chef@firma.example"})
    assert refused.status_code == 400 and "går bara att använda i e-post" in refused.text
