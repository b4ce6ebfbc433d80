"""Search: Swedish and English words, case numbers, customers, filters, highlighting, tenancy."""
from __future__ import annotations

from app import conversations, search, tags
from app.actors import System
from tests.factories import login, make_channel, make_conversation, make_member, make_org, unique_email


async def _org(db, name="Sökbolaget AB"):
    admin = await make_org(db, name)
    channel = await make_channel(db, admin)
    return admin, channel


async def _case(db, admin, channel, subject, body, *, language="sv", **kw):
    conv = await make_conversation(db, admin.actor.org_id, channel, subject=subject, body="Hej.", **kw)
    await conversations.add_message(db, System(admin.actor.org_id), conv, kind="customer", body=body,
                                    language=language)
    return conv


def ids(rows):
    return [r["id"] for r in rows]


async def test_swedish_words_find_their_other_forms(db):
    admin, channel = await _org(db)
    parcel = await _case(db, admin, channel, "Fråga", "Paketet har inte kommit fram.")
    deliveries = await _case(db, admin, channel, "Fråga", "Era leveranser är alltid sena.")
    await _case(db, admin, channel, "Annat", "Jag vill byta lösenord.")

    assert ids(await search.search(db, admin.actor, "paket")) == [parcel]
    assert ids(await search.search(db, admin.actor, "leverans")) == [deliveries]


async def test_english_words_find_their_other_forms(db):
    admin, channel = await _org(db)
    delivery = await _case(db, admin, channel, "Question", "Where is my delivery?", language="en")
    assert ids(await search.search(db, admin.actor, "deliveries")) == [delivery]


async def test_messages_without_a_language_are_found_in_both(db):
    admin, channel = await _org(db)
    english = await _case(db, admin, channel, "Q", "Two deliveries went missing.", language=None)
    swedish = await _case(db, admin, channel, "F", "Paketen försvann.", language=None)
    assert ids(await search.search(db, admin.actor, "delivery")) == [english]
    assert ids(await search.search(db, admin.actor, "paket")) == [swedish]


async def test_subject_words_are_found_and_highlighted(db):
    admin, channel = await _org(db)
    conv = await make_conversation(db, admin.actor.org_id, channel, subject="Trasig hörlur", body="Hej.")
    [row] = await search.search(db, admin.actor, "hörlurar")
    assert row["id"] == conv
    assert "<mark>hörlur</mark>" in str(row["subject_html"])


async def test_case_number_finds_the_case(db):
    admin, channel = await _org(db)
    await _case(db, admin, channel, "Första", "Ett")
    second = await _case(db, admin, channel, "Andra", "Två")
    number = (await conversations.find_row(db, admin.actor.org_id, second))["case_number"]
    assert ids(await search.search(db, admin.actor, f"#{number}")) == [second]


async def test_customer_address_finds_all_their_cases_newest_first(db):
    admin, channel = await _org(db)
    karin = unique_email("karin")
    first = await _case(db, admin, channel, "Ett", "Första frågan", customer_email=karin)
    await _case(db, admin, channel, "Två", "Någon annan")
    second = await _case(db, admin, channel, "Tre", "Andra frågan", customer_email=karin)
    assert ids(await search.search(db, admin.actor, karin.upper())) == [second, first]


async def test_status_filter_and_closed_cases_are_found(db):
    admin, channel = await _org(db)
    closed = await _case(db, admin, channel, "Faktura", "Fakturan är fel.")
    still_open = await _case(db, admin, channel, "Faktura", "Fakturan kom inte.")
    await conversations.set_status(db, admin.actor, closed, "closed")

    assert set(ids(await search.search(db, admin.actor, "faktura"))) == {closed, still_open}
    assert ids(await search.search(db, admin.actor, "faktura status:closed")) == [closed]
    assert ids(await search.search(db, admin.actor, "status:open")) == [still_open]


async def test_assignee_filter(db):
    admin, channel = await _org(db)
    anna = await make_member(db, admin.actor.org_id, "editor", "Anna Lind")
    hers = await _case(db, admin, channel, "Retur", "Jag vill returnera.")
    mine = await _case(db, admin, channel, "Retur", "Jag vill också returnera.")
    await conversations.assign(db, admin.actor, hers, anna.actor.user_id)
    await conversations.assign(db, admin.actor, mine, admin.actor.user_id)

    assert ids(await search.search(db, admin.actor, "assignee:anna")) == [hers]
    assert ids(await search.search(db, admin.actor, "retur assignee:me")) == [mine]
    assert ids(await search.search(db, anna.actor, "assignee:me")) == [hers]


async def test_tag_filter_matches_the_name_in_any_case(db):
    admin, channel = await _org(db)
    tagged = await _case(db, admin, channel, "Retur", "Jag vill returnera.")
    await _case(db, admin, channel, "Retur", "Jag vill också returnera.")
    await tags.tag(db, admin.actor, tagged, await tags.create_tag(db, admin.actor, "Returärende"))

    assert ids(await search.search(db, admin.actor, "tag:returärende")) == [tagged]
    assert ids(await search.search(db, admin.actor, "returnera tag:RETURÄRENDE")) == [tagged]
    assert await search.search(db, admin.actor, "tag:okänd") == []


async def test_another_organisations_conversations_never_appear(db):
    admin, channel = await _org(db, "Vi AB")
    other, other_channel = await _org(db, "Dom AB")
    ours = await _case(db, admin, channel, "Paket", "Var är paketet?")
    theirs = await _case(db, other, other_channel, "Paket", "Var är paketet?")
    await _case(db, other, other_channel, "Annat", "Hej")  # their #2: a number we do not have

    assert ids(await search.search(db, admin.actor, "paket")) == [ours]
    assert ids(await search.search(db, other.actor, "paket")) == [theirs]
    assert await search.search(db, admin.actor, "#2") == []
    assert len(await search.search(db, other.actor, "#2")) == 1


async def test_row_level_security_hides_other_organisations_even_without_the_org_filter(db):
    admin, channel = await _org(db, "Vi AB")
    other, other_channel = await _org(db, "Dom AB")
    await _case(db, other, other_channel, "Paket", "Var är paketet?")
    rows = await db.read(admin.actor.org_id,
                         "SELECT conversation_id FROM messages WHERE search_vector @@ to_tsquery('swedish', 'paket')")
    assert rows == []


async def test_the_index_function_finds_only_the_sessions_own_organisation(db):
    # search_matches() runs as the tables' owner (past row-level security), scoped by app.org_id alone
    admin, channel = await _org(db, "Vi AB")
    other, other_channel = await _org(db, "Dom AB")
    theirs = await _case(db, other, other_channel, "Paket", "Var är paketet?")
    query = "SELECT conversation_id FROM search_matches(to_tsquery('swedish', 'paket'))"
    assert await db.read(admin.actor.org_id, query) == []
    assert {r["conversation_id"] for r in await db.read(other.actor.org_id, query)} == {theirs}
    assert await db.read(None, query) == [], "no organisation in scope: nothing"


async def test_snippet_highlights_matches_and_escapes_the_body(db):
    admin, channel = await _org(db)
    await _case(db, admin, channel, "Fråga",
                "<script>alert(1)</script> Mitt paket & min <b>faktura</b>, 1 < 2 och \x02x\x03 paketen")
    [row] = await search.search(db, admin.actor, "paket")
    snippet = str(row["snippet"])
    assert "<mark>paket</mark>" in snippet and "<mark>paketen</mark>" in snippet
    assert "<script" not in snippet and "<b>" not in snippet  # ts_headline drops tags; nothing else may pass
    assert "&amp;" in snippet and "1 &lt; 2" in snippet
    assert snippet.count("<mark>") == snippet.count("</mark>") == 2  # the body's own markers are dropped
    assert snippet.count("<mark>") == snippet.count("</mark>")


async def test_nothing_to_search_for_finds_nothing(db):
    admin, channel = await _org(db)
    await _case(db, admin, channel, "Paket", "Paket")
    assert await search.search(db, admin.actor, "   ") == []
    assert await search.search(db, admin.actor, "och") == []  # a stop word only


async def test_search_page_shows_highlighted_results_to_a_viewer(db, client):
    admin, channel = await _org(db)
    viewer = await make_member(db, admin.actor.org_id, "viewer", "Viktor Sand")
    conv = await _case(db, admin, channel, "Borttappat", "Paketet med 3 < 4 delar har försvunnit.")
    await login(client, viewer.email)

    response = await client.get("/search", params={"q": "paket"})
    assert response.status_code == 200
    assert f'href="/conversations/{conv}"' in response.text
    assert "<mark>Paketet</mark> med 3 &lt; 4 delar" in response.text
    assert 'action="/search"' in (await client.get("/")).text


async def test_a_common_word_ranks_its_newest_matches_and_a_rare_old_one_is_still_found(db, monkeypatch):
    # At volume the newest WINDOW messages answer a common word; here the window is 5 messages.
    monkeypatch.setattr(search, "WINDOW", 5)
    admin, channel = await _org(db)
    rare = await _case(db, admin, channel, "Gammalt", "Min termos läcker.")
    common = [await _case(db, admin, channel, f"Fråga {n}", "Var är paketet?") for n in range(6)]
    newest_first = list(reversed(common))
    assert ids(await search.search(db, admin.actor, "paket", limit=2)) == newest_first[:2], "from the window"
    assert ids(await search.search(db, admin.actor, "termos", limit=2)) == [rare], "past the window: the index"
    assert ids(await search.search(db, admin.actor, "paket", limit=10)) == newest_first, "under a page: all of them"
