"""The public forum: visitors read and post without login; editors answer officially and keep it tidy."""
from __future__ import annotations

import dataclasses
import uuid

import httpx
import pytest

from app import conversations, forum
from app.actors import System
from app.errors import Invalid, NotFound
from app.main import create_app
from tests.factories import csrf_from, login, make_channel, make_member, make_org, unique_email

FIREFOX_UBUNTU = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.5 Mobile/15E148 Safari/604.1")


@pytest.fixture
def app(settings, db, redis_client):
    """The app in-process with low posting limits, so each client can come from an address of its own."""
    app = create_app(dataclasses.replace(settings, forum_posts_per_client=5, forum_posts_per_email=3))
    app.state.db, app.state.redis = db, redis_client
    return app


def visitor_client(app) -> httpx.AsyncClient:
    address = f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"  # counters of its own
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 1234)),
                             base_url="http://samsyn.test", headers={"user-agent": FIREFOX_UBUNTU})


async def a_forum(db) -> tuple:
    admin = await make_org(db, "Cykelbolaget AB")
    channel = await make_channel(db, admin, kind="forum", name="Cykelforum", colour="green")
    async with db.transaction(admin.actor.org_id, readonly=True) as tx:
        slug = await tx.fetchval("SELECT address FROM channels WHERE org_id = $1 AND id = $2",
                                 admin.actor.org_id, channel)
    return admin, await forum.find(db, slug)


def a_post(name="Karin Berg", email=None, body="Min kedja hoppar av i backarna."):
    return forum.Post(name, email or unique_email("karin"), body)


async def post_thread(client, found, **fields) -> httpx.Response:
    page = await client.get(f"/forum/{found.slug}/new")
    form = {"topic": "question", "title": "Kedjan hoppar av", "body": "Vad gör jag?", "name": "Karin Berg",
            "email": unique_email("karin"), "csrf_token": csrf_from(page.text), **fields}
    return await client.post(f"/forum/{found.slug}/new", data=form)


async def case_of(db, found, number: int):
    async with db.transaction(found.org_id, readonly=True) as tx:
        return await tx.fetchrow("SELECT * FROM conversations WHERE org_id = $1 AND case_number = $2",
                                 found.org_id, number)


# --- domain -------------------------------------------------------------------------------------------


async def test_a_visitors_thread_is_on_the_start_page_and_the_editors_queue_needing_a_reply(db):
    admin, found = await a_forum(db)
    number = await forum.start_thread(db, found, topic="problem", title="Kedjan hoppar av", post=a_post(),
                                      user_agent=FIREFOX_UBUNTU, page="https://cykel.example/kedjor")
    assert [t["case_number"] for t in await forum.threads(db, found)] == [number]
    row = next(r for r in await conversations.queue(db, found.org_id) if r["case_number"] == number)
    assert row["needs_reply"] and row["channel_colour"] == "green" and row["kind"] == "forum"
    case = await case_of(db, found, number)
    assert case["topic"] == "problem"
    assert case["visitor"]["browser"] == "Firefox 133" and case["visitor"]["page"] == "https://cykel.example/kedjor"


async def test_each_message_records_its_own_author_not_the_threads_starter(db):
    admin, found = await a_forum(db)
    number = await forum.start_thread(db, found, topic="question", title="Ram", post=a_post("Karin Berg"))
    await forum.add_post(db, found, number, post=a_post("Olle Ek", body="Samma här!"), user_agent=SAFARI_IPHONE)
    shown = await forum.thread(db, found, number)
    assert shown["opening"]["author_name"] == "Karin Berg"
    assert [a["author_name"] for a in shown["answers"]] == ["Olle Ek"]
    _, messages = await conversations.get(db, found.org_id, (await case_of(db, found, number))["id"])
    assert messages[1]["visitor"]["os"] == "iOS 17" and messages[1]["visitor"]["browser"] == "Safari 17"


async def test_a_visitors_email_is_never_joined_to_the_mail_customer_with_that_address(db):
    admin, found = await a_forum(db)
    mailbox = await make_channel(db, admin)
    email = unique_email("karin")
    mail_case = await conversations.open_conversation(
        db, System(found.org_id), channel_id=mailbox, subject="Faktura", body="Hej", customer_name="Karin Berg", customer_email=email)
    number = await forum.start_thread(db, found, topic="question", title="Ram", post=a_post(email=email))
    assert (await case_of(db, found, number))["customer_id"] != (
        await conversations.find_row(db, found.org_id, mail_case))["customer_id"]


async def test_hidden_threads_are_not_found_and_archived_ones_are_off_the_start_page_but_readable(db):
    admin, found = await a_forum(db)
    hidden = await forum.start_thread(db, found, topic="idea", title="Dold", post=a_post())
    archived = await forum.start_thread(db, found, topic="idea", title="Arkiverad", post=a_post())
    await conversations.set_status(db, admin.actor, (await case_of(db, found, hidden))["id"], "hidden")
    await conversations.set_status(db, admin.actor, (await case_of(db, found, archived))["id"], "archived")
    assert await forum.threads(db, found) == []
    with pytest.raises(NotFound):
        await forum.thread(db, found, hidden)
    assert (await forum.thread(db, found, archived))["thread"]["subject"] == "Arkiverad"
    with pytest.raises(Invalid):
        await forum.add_post(db, found, archived, post=a_post())


async def test_new_comment_after_no_reply_needed_returns_thread_to_unanswered(db):
    admin, found = await a_forum(db)
    editor = (await make_member(db, found.org_id, "editor", "Anna Lind")).actor
    number = await forum.start_thread(db, found, topic="question", title="Däck", post=a_post())
    case = await case_of(db, found, number)
    answer = await conversations.reply(db, editor, case["id"], "Pumpa till 4 bar.", seen_message_id=10**12)
    assert not (await case_of(db, found, number))["needs_reply"]
    first_comment = await forum.add_post(db, found, number, post=a_post(body="Tack!"), parent_id=answer)
    assert (await case_of(db, found, number))["needs_reply"]
    await conversations.mark_no_reply_needed(db, editor, case["id"])
    assert not (await case_of(db, found, number))["needs_reply"]
    await forum.add_post(db, found, number, post=a_post("Olle Ek", body="Funkar ej för mig"), parent_id=answer)
    assert (await case_of(db, found, number))["needs_reply"]
    shown = await forum.thread(db, found, number)
    assert shown["answers"][0]["official"] and [c["id"] for c in shown["comments"][answer]][0] == first_comment


async def test_comments_go_only_on_this_threads_posts(db):
    admin, found = await a_forum(db)
    one = await forum.start_thread(db, found, topic="question", title="Ett", post=a_post())
    two = await forum.start_thread(db, found, topic="question", title="Två", post=a_post())
    opening_of_one = (await forum.thread(db, found, one))["opening"]["id"]
    with pytest.raises(NotFound):
        await forum.add_post(db, found, two, post=a_post(), parent_id=opening_of_one)


@pytest.mark.parametrize("user_agent, expected", [
    (FIREFOX_UBUNTU, ("Firefox 133", "Linux")),
    (SAFARI_IPHONE, ("Safari 17", "iOS 17")),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
     "Safari/537.36 Edg/131.0.0.0", ("Edge 131", "Windows 10/11")),
    ("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 "
     "Chrome/122.0.0.0 Mobile Safari/537.36", ("Samsung Internet 26", "Android 14")),
    ("curl/8.5.0", ("", "")),
])
def test_browser_and_system_from_the_user_agent(user_agent, expected):
    assert forum.client_of(user_agent) == expected


# --- HTTP ---------------------------------------------------------------------------------------------


async def test_visitor_posts_without_login_and_the_email_is_never_in_public_html(db, app):
    admin, found = await a_forum(db)
    email = unique_email("hemlig")
    async with visitor_client(app) as client:
        start = await client.get(f"/forum/{found.slug}")
        assert start.status_code == 200 and "Cykelbolaget AB" in start.text and "ch-green" in start.text
        posted = await post_thread(client, found, email=email, title="<script>alert(1)</script>",
                                   ref="https://cykel.example/sida")
        assert posted.status_code == 303
        thread_url = posted.headers["location"]
        page = await client.get(thread_url)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert" not in page.text
        answered = await client.post(thread_url, data={"body": "Jag har samma problem", "name": "Olle Ek",
                                                       "email": unique_email("olle"),
                                                       "csrf_token": csrf_from(page.text)})
        assert answered.status_code == 303
        for url in (f"/forum/{found.slug}", thread_url):
            html = (await client.get(url)).text
            assert email not in html and "olle-" not in html and "cykel.example/sida" not in html
    number = int(thread_url.rsplit("/", 1)[1])
    assert (await case_of(db, found, number))["visitor"]["page"] == "https://cykel.example/sida"


async def test_an_editors_answer_shows_as_official_on_the_public_page(db, app):
    admin, found = await a_forum(db)
    number = await forum.start_thread(db, found, topic="question", title="Däck", post=a_post())
    await conversations.reply(db, admin.actor, (await case_of(db, found, number))["id"], "Pumpa till 4 bar.",
                              seen_message_id=10**12)
    async with visitor_client(app) as client:
        html = (await client.get(f"/forum/{found.slug}/{number}")).text
    assert "Pumpa till 4 bar." in html and 'class="forum-post answer official"' in html
    assert "Lena Admin" in html


async def test_hidden_is_404_and_archived_is_reachable_but_not_listed(db, app):
    admin, found = await a_forum(db)
    hidden = await forum.start_thread(db, found, topic="idea", title="Dold tråd", post=a_post())
    archived = await forum.start_thread(db, found, topic="idea", title="Gammal tråd", post=a_post())
    await conversations.set_status(db, admin.actor, (await case_of(db, found, hidden))["id"], "hidden")
    await conversations.set_status(db, admin.actor, (await case_of(db, found, archived))["id"], "archived")
    async with visitor_client(app) as client:
        start = (await client.get(f"/forum/{found.slug}")).text
        assert "Dold tråd" not in start and "Gammal tråd" not in start
        assert (await client.get(f"/forum/{found.slug}/{hidden}")).status_code == 404
        page = await client.get(f"/forum/{found.slug}/{archived}")
        assert page.status_code == 200 and "Gammal tråd" in page.text and 'name="body"' not in page.text
        assert (await client.get("/forum/finns-inte")).status_code == 404


async def test_an_error_re_renders_the_form_with_what_was_typed(db, app):
    admin, found = await a_forum(db)
    async with visitor_client(app) as client:
        response = await post_thread(client, found, email="inte-en-adress", body="Min långa text")
    assert response.status_code == 400
    assert "Min långa text" in response.text and 'value="inte-en-adress"' in response.text
    assert 'value="Kedjan hoppar av"' in response.text
    assert await forum.threads(db, found) == []


async def test_the_honeypot_refuses_and_stores_nothing(db, app):
    admin, found = await a_forum(db)
    async with visitor_client(app) as client:
        response = await post_thread(client, found, website="https://spam.example")
    assert response.status_code == 400 and await forum.threads(db, found) == []


async def test_posting_without_the_csrf_token_is_refused(db, app):
    admin, found = await a_forum(db)
    async with visitor_client(app) as client:
        await client.get(f"/forum/{found.slug}/new")
        response = await client.post(f"/forum/{found.slug}/new", data={
            "topic": "idea", "title": "X", "body": "Y", "name": "Z", "email": unique_email()})
    assert response.status_code == 403 and await forum.threads(db, found) == []


async def test_posting_is_limited_per_email_and_per_client_address(db, app):
    admin, found = await a_forum(db)
    email = unique_email("flitig")
    async with visitor_client(app) as first, visitor_client(app) as second:
        statuses = [(await post_thread(first, found, email=email)).status_code for _ in range(4)]
        assert statuses == [303, 303, 303, 429]
        # the same address from another client is refused too: the limit follows the e-mail
        refused = await post_thread(second, found, email=email)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        assert "Vad gör jag?" in refused.text  # what was typed stays
        # and one client with new addresses each time stops at its own limit (5 per client in this app)
        statuses = [(await post_thread(second, found)).status_code for _ in range(6)]
        assert statuses == [303] * 5 + [429]
    assert len(await forum.threads(db, found)) == 8


async def test_editors_see_the_visitors_email_browser_and_page_on_the_case(db, app, server):
    admin, found = await a_forum(db)
    email = unique_email("karin")
    number = await forum.start_thread(db, found, topic="question", title="Däck", post=a_post(email=email),
                                      user_agent=FIREFOX_UBUNTU, page="https://cykel.example/dack")
    async with httpx.AsyncClient(base_url=server) as client:
        await login(client, admin.email)
        html = (await client.get(f"/conversations/{(await case_of(db, found, number))['id']}")).text
    assert email in html and "Firefox 133" in html and "https://cykel.example/dack" in html


async def test_the_demo_forums_are_public_with_their_threads(db, app, demo_org):
    async with visitor_client(app) as client:
        for slug, name in (("kundservice-sv", "Kundservice SV"), ("kundservice-no", "Kundservice NO")):
            start = await client.get(f"/forum/{slug}")
            assert start.status_code == 200 and name in start.text
            thread_links = [part.split('"', 1)[0] for part in start.text.split(f'href="/forum/{slug}/')[1:]]
            numbers = [link for link in thread_links if link.isdigit()]
            assert numbers, "the demo forum lists threads"
            assert (await client.get(f"/forum/{slug}/{numbers[0]}")).status_code == 200


# --- "me too" votes: one per e-mail address, on open ideas and problems ------------------------------


async def test_me_too_counts_once_per_email_address_on_ideas_and_problems_only(db):
    admin, found = await a_forum(db)
    idea = await forum.start_thread(db, found, topic="idea", title="Mörkt läge", post=a_post())
    question = await forum.start_thread(db, found, topic="question", title="Hur?", post=a_post())
    email = unique_email("olle")
    assert await forum.vote(db, found, idea, email)
    assert not await forum.vote(db, found, idea, email.upper())  # the same address, however it is typed
    assert await forum.vote(db, found, idea, unique_email("stina"))
    assert (await forum.thread(db, found, idea))["thread"]["votes"] == 2
    with pytest.raises(Invalid):
        await forum.vote(db, found, question, email)
    async with db.transaction(found.org_id, readonly=True) as tx:  # the votes hold no addresses
        assert not await tx.fetchval("SELECT count(*) FROM forum_votes WHERE position($1::bytea IN voter) > 0",
                                     email.encode())


async def test_a_visitor_votes_me_too_and_sees_the_count(db, app):
    admin, found = await a_forum(db)
    idea = await forum.start_thread(db, found, topic="idea", title="Mörkt läge", post=a_post())
    email = unique_email("olle")
    async with visitor_client(app) as client:
        url = f"/forum/{found.slug}/{idea}"
        for expected in ("Tack! Din röst är räknad.", "Du har redan röstat på det här."):
            token = csrf_from((await client.get(url)).text)
            voted = await client.post(f"{url}/vote", data={"email": email, "csrf_token": token})
            assert voted.status_code == 303
            page = (await client.get(voted.headers["location"])).text
            assert expected in page and "1 håller med" in page and email not in page
        bad = await client.post(f"{url}/vote", data={"email": "inte-en-adress", "csrf_token": token})
        assert bad.status_code == 400 and 'value="inte-en-adress"' in bad.text
        assert "1 håller med" in (await client.get(f"/forum/{found.slug}")).text
