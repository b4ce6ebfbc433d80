"""Tools for working cases: spam, blocked senders, automatic assignment, split and merge, the timeline,
the customer's other cases, folded quotes and the formatted mail."""
from __future__ import annotations

import asyncio
from email.message import EmailMessage
from email.utils import make_msgid

import asyncpg
import pytest

from app import accounts, blocking, case_tools, channels, conversations, history, tags
from app.actors import System
from app.errors import Forbidden, Invalid, NotFound
from app.mail import ingress, raw, receive
from tests.factories import login, make_channel, make_conversation, make_member, make_org, unique_email


async def arrives(db, org_id: int, channel_id: int, *, sender: str = "Karin Berg <karin@kund.example>",
                  subject: str = "Var är mitt paket?", body: str = "Hej! Jag har inte fått min beställning.",
                  html: str | None = None, in_reply_to: str | None = None, message_id: str | None = None):
    """A mail stored by the ingress and placed by the worker; returns (its case or None, its raw mail id)."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "info@test.samsyn.se", subject
    message["Message-ID"] = message_id or make_msgid(domain="kund.example")
    if in_reply_to:
        message["In-Reply-To"] = message["References"] = in_reply_to
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    raw_mail_id = await ingress.store(db, ingress.Mailbox(org_id, channel_id), message.as_bytes())
    return await receive.receive(db, org_id, raw_mail_id), raw_mail_id


async def _mail_ids(db, org_id: int, conversation_id: int) -> list[str]:
    rows = await db.read(org_id, "SELECT mail_message_id FROM messages WHERE org_id = $1 AND conversation_id = $2 "
                                 "ORDER BY id", org_id, conversation_id)
    return [r["mail_message_id"] for r in rows]


@pytest.fixture
async def team(db):
    admin = await make_org(db, "Kundtjänsten AB")
    anna = await make_member(db, admin.actor.org_id, "editor", "Anna Lind")
    channel = await make_channel(db, admin)
    return admin, anna, admin.actor.org_id, channel


# --- spam ---------------------------------------------------------------------------------


async def test_a_case_marked_spam_is_kept_but_leaves_the_queue_and_comes_back_when_unmarked(db, team):
    admin, anna, org_id, channel = team
    conv = await make_conversation(db, org_id, channel, subject="Billiga klockor")
    await case_tools.mark_spam(db, anna.actor, conv)
    assert conv not in [r["id"] for r in await conversations.queue(db, org_id)]
    assert (await channels.get_channel(db, org_id, channel))["open_count"] == 0
    row, messages = await conversations.get(db, org_id, conv)
    assert row["spam"] and row["status"] == "open" and len(messages) == 1, "kept, only flagged"
    await case_tools.mark_spam(db, anna.actor, conv, False)
    assert conv in [r["id"] for r in await conversations.queue(db, org_id)]


async def test_viewers_cannot_mark_spam_and_other_organisations_cannot_find_the_case(db, team):
    admin, anna, org_id, channel = team
    conv = await make_conversation(db, org_id, channel)
    viewer = await make_member(db, org_id, "viewer", "Viktor Sand")
    with pytest.raises(Forbidden):
        await case_tools.mark_spam(db, viewer.actor, conv)
    other = await make_org(db, "Andra AB")
    with pytest.raises(NotFound):
        await case_tools.mark_spam(db, other.actor, conv)


# --- blocked senders ----------------------------------------------------------------------


async def test_mail_from_a_blocked_address_is_kept_raw_set_aside_and_makes_no_case(db, client, team):
    admin, anna, org_id, channel = team
    conv, _ = await arrives(db, org_id, channel, sender="Spammare <spam@reklam.example>", subject="Erbjudande")
    token = await login(client, anna.email)
    r = await client.post(f"/conversations/{conv}/block", data={"scope": "address"}, headers={"x-csrf-token": token})
    assert r.status_code == 200 and "spam@reklam.example läggs hädanefter undan" in r.text
    again, raw_mail_id = await arrives(db, org_id, channel, sender="spam@reklam.example", subject="Erbjudande igen")
    assert again is None
    stored = await raw.original(db, org_id, raw_mail_id)
    assert stored["state"] == "blocked" and b"Erbjudande igen" in stored["raw"], "stored raw, never dropped"
    assert "Erbjudande igen" not in [r["subject"] for r in await conversations.queue(db, org_id)]
    unplaced = (await client.get("/mail/unplaced")).text
    assert f'id="raw-mail-{raw_mail_id}"' in unplaced and "Blockerad avsändare" in unplaced
    # someone else at the same domain is not blocked by an address block
    assert (await arrives(db, org_id, channel, sender="info@reklam.example"))[0] is not None


async def test_a_blocked_domain_sets_aside_everyone_there_until_an_admin_lifts_it(db, client, team):
    admin, anna, org_id, channel = team
    conv, _ = await arrives(db, org_id, channel, sender="a@reklam.example")
    editor_token = await login(client, anna.email)
    await client.post(f"/conversations/{conv}/block", data={"scope": "domain"}, headers={"x-csrf-token": editor_token})
    assert (await arrives(db, org_id, channel, sender="b@REKLAM.example", subject="Från B"))[0] is None
    [block] = await blocking.blocked_list(db, org_id)
    assert block["pattern"] == "reklam.example" and block["blocked_by_name"] == "Anna Lind"
    assert (await client.post(f"/admin/blocked/{block['id']}/delete", headers={"x-csrf-token": editor_token})
            ).status_code == 403, "editors block, admins lift"
    client.cookies.clear()
    token = await login(client, admin.email)
    assert "reklam.example" in (await client.get("/admin/blocked")).text
    r = await client.post(f"/admin/blocked/{block['id']}/delete", headers={"x-csrf-token": token})
    assert r.status_code == 303 and await blocking.blocked_list(db, org_id) == []
    assert (await arrives(db, org_id, channel, sender="c@reklam.example", subject="Från C"))[0] is not None


async def test_an_admin_blocks_an_address_typed_on_the_admin_page_and_nonsense_is_a_clear_error(db, client, team):
    admin, anna, org_id, channel = team
    token = await login(client, admin.email)
    bad = await client.post("/admin/blocked", data={"pattern": "inte-en-adress"}, headers={"x-csrf-token": token})
    assert bad.status_code == 400 and "Ange en e-postadress eller en domän" in bad.text
    assert 'value="inte-en-adress"' in bad.text, "what was typed stays"
    assert (await client.post("/admin/blocked", data={"pattern": "@Reklam.Example"},
                              headers={"x-csrf-token": token})).status_code == 303
    assert (await client.post("/admin/blocked", data={"pattern": "reklam.example"},
                              headers={"x-csrf-token": token})).status_code == 303, "twice is once"
    assert [b["pattern"] for b in await blocking.blocked_list(db, org_id)] == ["reklam.example"]


# --- automatic assignment -----------------------------------------------------------------


async def _auto(db, admin, channel: int, rule: str) -> None:
    found = await channels.get_channel(db, admin.actor.org_id, channel)
    await channels.update_channel(db, admin.actor, channel, name=found["name"], colour=found["colour"],
                                  address=found["address"], response_target_minutes=found["response_target_minutes"],
                                  auto_assign=rule)


async def _assignee(db, org_id: int, conversation_id: int) -> int | None:
    return (await conversations.find_row(db, org_id, conversation_id))["assignee_id"]


async def test_round_robin_takes_editors_and_admins_in_turn_skipping_the_away_and_viewers(db, team):
    admin, anna, org_id, channel = team
    bjorn = await make_member(db, org_id, "editor", "Björn Ek")
    away = await make_member(db, org_id, "editor", "Cilla Borta")
    await make_member(db, org_id, "viewer", "Viktor Sand")
    await accounts.set_away(db, away.actor, away.actor.user_id, True)
    await _auto(db, admin, channel, "round_robin")
    got = [await _assignee(db, org_id, (await arrives(db, org_id, channel, sender=unique_email("kund")))[0])
           for _ in range(4)]
    people = sorted([admin.actor.user_id, anna.actor.user_id, bjorn.actor.user_id])
    assert got == [*people, people[0]]
    # by the usual event, from the system
    events = await db.read(org_id, "SELECT payload FROM events WHERE org_id = $1 AND kind = 'conversation.assigned'",
                           org_id)
    assert len(events) == 4 and all(e["payload"]["actor_id"] is None for e in events)


async def test_least_loaded_gives_the_new_case_to_whoever_has_the_fewest_open_cases(db, team):
    admin, anna, org_id, channel = team
    for _ in range(2):  # the admin has two open cases, Anna one
        await conversations.assign(db, admin.actor, await make_conversation(db, org_id, channel), admin.actor.user_id)
    await conversations.assign(db, admin.actor, await make_conversation(db, org_id, channel), anna.actor.user_id)
    closed = await make_conversation(db, org_id, channel)  # closed cases do not count
    await conversations.assign(db, admin.actor, closed, anna.actor.user_id)
    await conversations.set_status(db, anna.actor, closed, "closed")
    await _auto(db, admin, channel, "least_loaded")
    first = (await arrives(db, org_id, channel))[0]
    assert await _assignee(db, org_id, first) == anna.actor.user_id
    second = (await arrives(db, org_id, channel, sender=unique_email("kund")))[0]
    assert await _assignee(db, org_id, second) == min(admin.actor.user_id, anna.actor.user_id), "a tie: stable order"


async def test_with_no_one_available_or_the_rule_off_a_new_case_stays_unassigned(db, team):
    admin, anna, org_id, channel = team
    assert await _assignee(db, org_id, (await arrives(db, org_id, channel))[0]) is None, "off by default"
    await _auto(db, admin, channel, "round_robin")
    for person in (admin, anna):
        await accounts.set_away(db, person.actor, person.actor.user_id, True)
    assert await _assignee(db, org_id, (await arrives(db, org_id, channel, sender=unique_email("k")))[0]) is None


async def test_two_cases_arriving_at_once_under_round_robin_go_to_different_people(db, team):
    admin, anna, org_id, channel = team
    await _auto(db, admin, channel, "round_robin")
    ingresses = [await ingress.store(db, ingress.Mailbox(org_id, channel), (
        f"From: {unique_email('kund')}\nSubject: Samtidigt {i}\nMessage-ID: {make_msgid()}\n\nHej").encode())
        for i in range(2)]
    cases = await asyncio.gather(*(receive.receive(db, org_id, r) for r in ingresses))
    assert {await _assignee(db, org_id, c) for c in cases} == {admin.actor.user_id, anna.actor.user_id}
    # and straight through the assignment itself, two transactions at once: the channel row serialises them
    convs = [await make_conversation(db, org_id, channel) for _ in range(2)]

    async def assign(conversation_id: int) -> int:
        async with db.transaction(org_id) as tx:
            return await case_tools.auto_assign_in(tx, System(org_id), conversation_id, channel)

    assert set(await asyncio.gather(*(assign(c) for c in convs))) == {admin.actor.user_id, anna.actor.user_id}


async def test_the_admin_sets_the_rule_on_the_mailbox_page(db, client, team):
    admin, anna, org_id, channel = team
    token = await login(client, admin.email)
    page = (await client.get(f"/admin/channels/{channel}")).text
    assert "Turvis (round robin)" in page
    found = await channels.get_channel(db, org_id, channel)
    form = {"name": found["name"], "colour": found["colour"], "address": found["address"],
            "response_target_minutes": "60", "auto_assign": "least_loaded"}
    assert (await client.post(f"/admin/channels/{channel}", data=form, headers={"x-csrf-token": token})
            ).status_code == 303
    assert (await channels.get_channel(db, org_id, channel))["auto_assign"] == "least_loaded"
    bad = await client.post(f"/admin/channels/{channel}", data={**form, "auto_assign": "lottery"},
                            headers={"x-csrf-token": token})
    assert bad.status_code == 400 and "Välj hur ny e-post tilldelas." in bad.text


# --- split ----------------------------------------------------------------------------------


async def test_an_editor_splits_a_mail_out_into_a_new_case_of_the_same_customer(db, client, team):
    admin, anna, org_id, channel = team
    conv, _ = await arrives(db, org_id, channel, subject="Paketet", message_id="<first@kund.example>")
    await arrives(db, org_id, channel, subject="Re: Paketet", body="En sak till: ny adress?",
                  in_reply_to="<first@kund.example>", message_id="<second@kund.example>")
    _, messages = await conversations.get(db, org_id, conv)
    token = await login(client, anna.email)
    r = await client.post(f"/conversations/{conv}/split", data={"message_id": messages[1]["id"], "reason": "Ny fråga"},
                          headers={"x-csrf-token": token})
    assert r.status_code == 303
    new = int(r.headers["location"].rsplit("/", 1)[1])
    old_row, new_row = await conversations.find_row(db, org_id, conv), await conversations.find_row(db, org_id, new)
    assert new_row["customer_email"] == old_row["customer_email"] == "karin@kund.example"
    assert new_row["case_number"] == old_row["case_number"] + 1 and new_row["split_reason"] == "Ny fråga"
    assert await _mail_ids(db, org_id, conv) == ["first@kund.example"]
    assert await _mail_ids(db, org_id, new) == ["second@kund.example"]
    page = (await client.get(f"/conversations/{new}")).text
    assert f'href="/conversations/{conv}">#{old_row["case_number"]}</a>: Ny fråga' in page
    assert "Anna Lind" in (old := (await client.get(f"/conversations/{conv}")).text) and "bröt ut ett mejl till" in old
    # the customer's answer to the split-out mail threads into the new case
    answer, _ = await arrives(db, org_id, channel, subject="Re: Paketet", in_reply_to="<second@kund.example>")
    assert answer == new


async def test_splitting_refuses_the_first_mail_a_note_and_a_missing_reason(db, client, team):
    admin, anna, org_id, channel = team
    conv, _ = await arrives(db, org_id, channel)
    await conversations.add_note(db, anna.actor, conv, "Intern")
    _, messages = await conversations.get(db, org_id, conv)
    first, note = messages[0]["id"], messages[1]["id"]
    with pytest.raises(Invalid, match="started the case"):
        await case_tools.split(db, anna.actor, conv, first, "Varför inte")
    with pytest.raises(Invalid, match="customer's mail"):
        await case_tools.split(db, anna.actor, conv, note, "Varför inte")
    token = await login(client, anna.email)
    r = await client.post(f"/conversations/{conv}/split", data={"message_id": first, "reason": "  "},
                          headers={"x-csrf-token": token})
    assert r.status_code == 400 and "Skriv varför mejlet bryts ut." in r.text
    viewer = await make_member(db, org_id, "viewer", "Viktor Sand")
    with pytest.raises(Forbidden):
        await case_tools.split(db, viewer.actor, conv, first, "x")


# --- merge ----------------------------------------------------------------------------------


async def _two_cases(db, org_id: int, channel: int) -> tuple[int, int, int]:
    """Two cases of one customer, numbered N and N + 1; the first mail's Message-ID is <a1-N@kund.example>."""
    number = (await db.read(org_id, "SELECT last_case_number FROM organizations WHERE id = $1", org_id))[0][0] + 1
    source, _ = await arrives(db, org_id, channel, subject="Första frågan", message_id=f"<a1-{number}@kund.example>")
    target, _ = await arrives(db, org_id, channel, subject="Andra frågan", message_id=f"<b1-{number}@kund.example>")
    return source, target, number


async def test_merging_moves_messages_closes_the_other_case_and_its_page_points_to_the_target(db, client, team):
    admin, anna, org_id, channel = team
    source, target, source_number = await _two_cases(db, org_id, channel)
    leverans = await tags.create_tag(db, admin.actor, "Leverans")
    await tags.tag(db, anna.actor, source, leverans)
    target_number = (await conversations.find_row(db, org_id, target))["case_number"]
    token = await login(client, anna.email)
    r = await client.post(f"/conversations/{source}/merge", data={"into": f"#{target_number}"},
                          headers={"x-csrf-token": token})
    assert r.status_code == 303 and r.headers["location"] == f"/conversations/{target}"
    merged, into = await conversations.find_row(db, org_id, source), await conversations.find_row(db, org_id, target)
    assert (merged["status"], merged["merged_into_id"], merged["needs_reply"]) == ("closed", target, False)
    assert await _mail_ids(db, org_id, target) == [f"a1-{source_number}@kund.example",
                                                   f"b1-{source_number}@kund.example"]
    assert into["tags"] == ["Leverans"] and into["needs_reply"]
    page = (await client.get(f"/conversations/{source}")).text
    assert f'Sammanslaget med <a href="/conversations/{target}">#{target_number}</a>' in page
    assert f"slog ihop <a href=\"/conversations/{source}\">#{source_number}</a> med det här ärendet" in (
        await client.get(f"/conversations/{target}")).text
    # mail for the merged case, by its headers or by its case number, threads into the target
    assert (await arrives(db, org_id, channel, subject="Re: Första",
                          in_reply_to=f"<a1-{source_number}@kund.example>"))[0] == target
    by_number, _ = await arrives(db, org_id, channel, subject=f"Sv: Första frågan [#{source_number}]")
    assert by_number == target
    reopened = await conversations.find_row(db, org_id, source)
    assert reopened["status"] == "closed", "the merged case stays closed; the target takes the mail"


async def test_a_stranger_quoting_a_merged_case_number_gets_a_new_case(db, team):
    admin, anna, org_id, channel = team
    source, target, source_number = await _two_cases(db, org_id, channel)
    await case_tools.merge(db, anna.actor, source, str((await conversations.find_row(db, org_id, target))["case_number"]))
    stranger, _ = await arrives(db, org_id, channel, sender="eve@annan.example", subject=f"Hej [#{source_number}]")
    assert stranger not in (source, target) and stranger is not None


async def test_merging_into_itself_a_missing_number_or_another_organisation_is_refused(db, client, team):
    admin, anna, org_id, channel = team
    source, target, source_number = await _two_cases(db, org_id, channel)
    token = await login(client, anna.email)
    for into, message in ((f"#{source_number}", "Ett ärende kan inte slås ihop med sig självt."),
                          ("#999999", "Det finns inget ärende med nummer #999999."),
                          ("abc", "Ange numret på ärendet")):
        r = await client.post(f"/conversations/{source}/merge", data={"into": into}, headers={"x-csrf-token": token})
        assert r.status_code == 400 and message in r.text, into
        assert f'value="{into}"' in r.text, "what was typed stays"
    other = await make_org(db, "Andra AB")
    theirs = await make_conversation(db, other.actor.org_id, await make_channel(db, other))
    their_number = (await conversations.find_row(db, other.actor.org_id, theirs))["case_number"]
    with pytest.raises(Invalid):  # a number that is not theirs
        await case_tools.merge(db, other.actor, theirs, f"#{their_number + 1000}")
    with pytest.raises(NotFound):
        await case_tools.merge(db, other.actor, source, f"#{their_number}")
    assert (await conversations.find_row(db, org_id, source))["merged_into_id"] is None


async def test_a_mail_arriving_while_its_case_is_merged_lands_in_the_target(db, team):
    admin, anna, org_id, channel = team
    source, target, number = await _two_cases(db, org_id, channel)
    mail = EmailMessage()
    mail["From"], mail["Subject"], mail["In-Reply-To"] = "karin@kund.example", "Re: Första", f"<a1-{number}@kund.example>"
    mail["Message-ID"] = make_msgid()
    mail.set_content("Och en sak till.")
    raw_mail_id = await ingress.store(db, ingress.Mailbox(org_id, channel), mail.as_bytes())
    # The merge holds the source's row when the mail comes to join it: the mail waits, then follows the merge.
    async with db.transaction(org_id) as hold:
        await hold.execute("SELECT 1 FROM conversations WHERE org_id = $1 AND id = $2 FOR UPDATE", org_id, source)
        merging = asyncio.create_task(case_tools.merge(db, anna.actor, source, f"#{number + 1}"))
        await _until_waiting(db, 1)
        placing = asyncio.create_task(receive.receive(db, org_id, raw_mail_id))
        await _until_waiting(db, 2)
    assert await merging == target
    assert await placing == target
    assert await _mail_ids(db, org_id, source) == []
    assert len(await _mail_ids(db, org_id, target)) == 3


WAITING = "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"


async def _until_waiting(db, n: int) -> None:
    """Until n sessions wait for a lock: the tasks got as far as the held row (a state polled, not a time waited)."""
    while (await db.read(None, WAITING))[0]["n"] < n:
        await asyncio.sleep(0.01)


async def test_merge_and_a_new_mail_at_once_never_leave_a_message_in_the_merged_case(db, team):
    admin, anna, org_id, channel = team
    for _ in range(5):
        source, target, number = await _two_cases(db, org_id, channel)
        await asyncio.gather(case_tools.merge(db, anna.actor, source, f"#{number + 1}"),
                             arrives(db, org_id, channel, subject="Re: Första", in_reply_to=f"<a1-{number}@kund.example>"))
        assert await _mail_ids(db, org_id, source) == []
        assert len(await _mail_ids(db, org_id, target)) == 3


# --- the case page: timeline, the customer's cases, folded quotes, the formatted mail ------


async def test_the_case_page_shows_what_was_done_by_whom_between_the_messages(db, client, team):
    admin, anna, org_id, channel = team
    conv, _ = await arrives(db, org_id, channel)
    await conversations.assign(db, admin.actor, conv, anna.actor.user_id)
    await tags.tag(db, anna.actor, conv, await tags.create_tag(db, admin.actor, "Faktura"))
    await case_tools.mark_spam(db, anna.actor, conv)
    await case_tools.mark_spam(db, anna.actor, conv, False)
    await conversations.set_status(db, anna.actor, conv, "waiting")
    await conversations.reply(db, anna.actor, conv, "Vi kollar.", seen_message_id=0, send_anyway=True)
    await login(client, anna.email)
    page = (await client.get(f"/conversations/{conv}")).text
    order = ["Hej! Jag har inte fått min beställning.", "tilldelade ärendet till Anna Lind", "lade till taggen Faktura",
             "markerade ärendet som skräppost", "markerade att ärendet inte är skräppost", "ändrade status till Väntar",
             "Vi kollar."]
    positions = [page.find(text) for text in order]
    assert -1 not in positions and positions == sorted(positions), positions
    assert '<span class="actor">Lena Admin</span>' in page and '<span class="actor">Anna Lind</span>' in page


async def test_the_timeline_reads_one_case_through_its_index(db, settings):
    admin = await make_org(db, "Många händelser AB")
    org_id = admin.actor.org_id
    conn = await asyncpg.connect(settings.database_owner_url)
    try:  # an organisation with 20,000 events over 2,000 cases, as the planner sees it after ANALYZE
        await conn.execute(
            """INSERT INTO events (org_id, seq, kind, payload)
               SELECT $1, 1000 + g, 'conversation.assigned',
                      jsonb_build_object('conversation_id', g % 2000, 'assignee_id', null, 'actor_id', null)
               FROM generate_series(1, 20000) g""", org_id)
        await conn.execute("ANALYZE events")
    finally:
        await conn.close()
    async with db.transaction(org_id, readonly=True) as tx:
        plan = "\n".join(r[0] for r in await tx.fetch(
            "EXPLAIN " + history.EVENTS, org_id, 17, list(history.TIMELINE_KINDS), history.FOLLOW_UP_PREFIX))
    assert "events_conversation_idx" in plan, plan


async def test_the_case_page_lists_the_customers_other_cases(db, client, team):
    admin, anna, org_id, channel = team
    earlier, _ = await arrives(db, org_id, channel, subject="Förra månadens faktura")
    await conversations.set_status(db, anna.actor, earlier, "closed")
    now, _ = await arrives(db, org_id, channel, subject="Ny fråga")
    await arrives(db, org_id, channel, sender="annan@kund.example", subject="Någon annans ärende")
    await login(client, anna.email)
    page = (await client.get(f"/conversations/{now}")).text
    number = (await conversations.find_row(db, org_id, earlier))["case_number"]
    assert f'<a href="/conversations/{earlier}">#{number} Förra månadens faktura</a>' in page
    assert "Stängd" in page.split("<h2>Kundens andra ärenden</h2>")[1] and "Någon annans ärende" not in page


async def test_quoted_history_is_folded_away_but_kept_and_the_formatted_mail_blocks_remote_images(db, client, team):
    admin, anna, org_id, channel = team
    body = "Tack, nu fungerar det!\n\nDen 3 mars 2026 skrev Support <info@test.samsyn.se>:\n> Prova att starta om.\n"
    html = '<p>Tack, nu fungerar det!</p><img src="https://tracker.example/pixel.gif"><script>alert(1)</script>'
    conv, _ = await arrives(db, org_id, channel, body=body, html=html)
    await login(client, anna.email)
    page = (await client.get(f"/conversations/{conv}")).text
    new_part, folded = page.split('<details class="quoted">')
    assert "Tack, nu fungerar det!" in new_part and "Prova att starta om." not in new_part
    assert "Prova att starta om." in folded.split("</details>")[0], "folded, not deleted"
    message_id = (await conversations.get(db, org_id, conv))[1][0]["id"]
    assert f'<iframe src="/messages/{message_id}/html" sandbox' in page
    formatted = await client.get(f"/messages/{message_id}/html")
    csp = formatted.headers["content-security-policy"]
    assert "img-src data: cid:" in csp and "sandbox" in csp and "script-src" not in csp and "default-src 'none'" in csp
    assert "Tack, nu fungerar det!" in formatted.text and "<script" not in formatted.text
    other = await make_org(db, "Andra AB")
    client.cookies.clear()
    await login(client, other.email)
    assert (await client.get(f"/messages/{message_id}/html")).status_code == 404
