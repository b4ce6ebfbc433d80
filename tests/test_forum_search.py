"""A forum's public search and "similar threads": Swedish and English words in public threads only."""
from __future__ import annotations

import lxml.html
import pytest

from app import case_tools, conversations, forum, forum_search
from tests.factories import make_channel, make_conversation, unique_email
from tests.test_forum import a_forum, a_post, app, case_of, visitor_client  # noqa: F401

SEEN_ALL = 10**12


async def a_thread(db, found, title: str, body: str = "Hej!", **post) -> tuple[int, int]:
    number = await forum.start_thread(db, found, topic="question", title=title, post=a_post(body=body, **post))
    return number, (await case_of(db, found, number))["id"]


async def numbers(db, found, text: str) -> list[int]:
    return [r["case_number"] for r in await forum_search.search(db, found, text)]


async def test_search_finds_swedish_and_english_words_in_headlines_and_public_posts(db):
    admin, found = await a_forum(db)
    chain, conv = await a_thread(db, found, "Kedjan hoppar av", "Det händer i uppförsbackarna.")
    brakes, _ = await a_thread(db, found, "Brakes squeal when wet", "Since the last service.")
    await conversations.reply(db, admin.actor, conv, "Justera växlarnas gränsskruvar.", seen_message_id=SEEN_ALL)
    assert await numbers(db, found, "kedjor") == [chain]  # Swedish stemming and prefixes
    assert await numbers(db, found, "uppförsbacke") == [chain]
    assert await numbers(db, found, "gränsskruv") == [chain]  # an editor's answer is public
    assert await numbers(db, found, "braking") == [brakes]  # English stemming
    assert await numbers(db, found, "servicing") == [brakes]
    assert await numbers(db, found, "sadel") == []
    assert await numbers(db, found, "") == [] and await numbers(db, found, "och") == []  # a stop word only
    results = await forum_search.search(db, found, "kedjan")
    assert "<mark>Kedjan</mark>" in str(results[0]["subject_html"])


async def test_search_never_finds_notes_visitor_details_or_unlisted_threads(db):
    admin, found = await a_forum(db)
    email = unique_email("hemlig")
    listed, conv = await a_thread(db, found, "Ram spricker", "Ramen har en spricka.", email=email)
    await conversations.add_note(db, admin.actor, conv, "Internt: kunden heter Zlatanovic")
    for status in ("archived", "hidden"):
        _, other = await a_thread(db, found, f"Ram spricker {status}", "Ramen har en spricka.")
        await conversations.set_status(db, admin.actor, other, status)
    _, spam = await a_thread(db, found, "Ram spricker billigt", "Ramen har en spricka.")
    await case_tools.mark_spam(db, admin.actor, spam)
    assert await numbers(db, found, "spricka") == [listed]
    assert await numbers(db, found, "Zlatanovic") == []  # a note
    assert await numbers(db, found, email) == [] and await numbers(db, found, "Firefox") == []
    assert await numbers(db, found, "status:hidden spricka") == []  # no editors' filters for visitors
    assert await numbers(db, found, "#" + str(listed)) == []


async def test_search_stays_in_its_forum_and_organisation(db):
    admin, found = await a_forum(db)
    ours, _ = await a_thread(db, found, "Pedalen lossnar")
    other_forum = await forum.find(db, (await db.read_one(
        found.org_id, "SELECT address FROM channels WHERE org_id = $1 AND id = $2", found.org_id,
        await make_channel(db, admin, kind="forum", name="Annat forum")))["address"])
    await a_thread(db, other_forum, "Pedalen lossnar här med")
    await make_conversation(db, found.org_id, await make_channel(db, admin), subject="Pedalen lossnar (mejl)")
    _, foreign = await a_forum(db)
    await a_thread(db, foreign, "Pedalen lossnar hos dem")
    assert await numbers(db, found, "pedalen") == [ours]


async def test_past_the_window_a_word_rare_in_the_organisation_is_found_anywhere_in_the_forum(db, monkeypatch):
    admin, found = await a_forum(db)
    in_headline, _ = await a_thread(db, found, "Nav knarrar")
    in_post, _ = await a_thread(db, found, "Ljud från hjulet", "Navet knarrar i kurvor.")
    _, hidden = await a_thread(db, found, "Nav knarrar också")
    await conversations.set_status(db, admin.actor, hidden, "hidden")
    for i in range(3):
        await a_thread(db, found, f"Annat ämne {i}")
    monkeypatch.setattr(forum_search, "WINDOW", 2)  # the two are past the newest two
    assert sorted(await numbers(db, found, "knarrar")) == [in_headline, in_post]


async def test_past_the_window_a_word_common_in_the_organisation_is_found_in_headlines(db, monkeypatch):
    admin, found = await a_forum(db)
    in_headline, _ = await a_thread(db, found, "Nav knarrar")
    await a_thread(db, found, "Ljud från hjulet", "Navet knarrar i kurvor.")  # a post past the window
    in_window, _ = await a_thread(db, found, "Annat ämne", "Det knarrar i sadeln.")
    await a_thread(db, found, "Tredje ämne")
    monkeypatch.setattr(forum_search, "WINDOW", 2)
    monkeypatch.setattr(forum_search, "RARE", 0)  # any match makes the word common
    assert sorted(await numbers(db, found, "knarrar")) == [in_headline, in_window]


async def test_similar_threads_share_any_word_of_the_title_best_first(db):
    admin, found = await a_forum(db)
    chain, _ = await a_thread(db, found, "Kedjan hoppar av i backar")
    chain_noise, _ = await a_thread(db, found, "Kedjan gnisslar")
    await a_thread(db, found, "Sadeln är för hård")
    similar = [r["case_number"] for r in await forum_search.similar(db, found, "Min kedja hoppar av - or what?")]
    assert similar == [chain, chain_noise]
    assert await forum_search.similar(db, found, "ab") == []


async def test_visitors_search_on_the_start_page_and_see_similar_threads_while_typing(db, app):  # noqa: F811
    admin, found = await a_forum(db)
    chain, _ = await a_thread(db, found, "Kedjan hoppar av <script>alert(1)</script>")
    async with visitor_client(app) as client:
        page = await client.get(f"/forum/{found.slug}", params={"q": "kedjan"})
        assert page.status_code == 200
        links = lxml.html.fromstring(page.text).xpath("//ol[contains(@class, 'forum-results')]//a")
        assert [a.get("href") for a in links] == [f"/forum/{found.slug}/{chain}"]
        assert "<script>alert(1)" not in page.text and "<mark>Kedjan</mark>" in page.text
        none = await client.get(f"/forum/{found.slug}", params={"q": "sadel"})
        assert "Inga trådar matchar" in none.text
        similar = await client.get(f"/forum/{found.slug}/similar", params={"title": "kedja"},
                                   headers={"hx-request": "true"})
        assert similar.status_code == 200 and f'href="/forum/{found.slug}/{chain}"' in similar.text
        assert "<html" not in similar.text
        new = (await client.get(f"/forum/{found.slug}/new")).text
    title = lxml.html.fromstring(new).xpath("//input[@name='title']")[0]
    assert title.get("hx-get") == f"/forum/{found.slug}/similar" and "delay:" in title.get("hx-trigger")
    assert 'id="similar-threads"' in new


@pytest.mark.parametrize("title", ["", "   ", "x" * 300])
async def test_similar_answers_quietly_for_short_or_odd_titles(db, app, title):  # noqa: F811
    admin, found = await a_forum(db)
    async with visitor_client(app) as client:
        response = await client.get(f"/forum/{found.slug}/similar", params={"title": title})
    assert response.status_code == 200 and "<li>" not in response.text
