"""The forum's editor workflow: official and accepted answers, editors' comments, edits with history,
archive / hide / spam, pinned threads in the editors' order, "answered", "no reply needed" on the latest
comment, visitor details for editors only, and the chief editor's weekly review."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import asyncpg
import httpx
import lxml.html
import pytest

from app import case_tools, conversations, forum, forum_editing
from app.actors import Visitor
from app.db import last_seq
from app.errors import Forbidden, Invalid, NotFound
from realtime.fragments import EDITORS, MEMBERS, user
from tests.factories import login, make_member, unique_email
from tests.replay import apply_push, pushed_since
from tests.test_forum import FIREFOX_UBUNTU, a_forum, a_post, app, case_of, visitor_client  # noqa: F401

SEEN_ALL = 10**12


async def a_thread(db, found, title="Kedjan hoppar av", **post) -> tuple[int, int]:
    """A visitor's question: (case number, conversation id)."""
    number = await forum.start_thread(db, found, topic="question", title=title, post=a_post(**post))
    return number, (await case_of(db, found, number))["id"]


async def answered_by_editor(db, found, editor) -> tuple[int, int, int]:
    """A question with an editor's answer: (case number, conversation id, answer id)."""
    number, conv = await a_thread(db, found)
    return number, conv, await conversations.reply(db, editor, conv, "Spänn kedjan ett halvt varv.",
                                                   seen_message_id=SEEN_ALL)


def member_client(app) -> httpx.AsyncClient:  # noqa: F811
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://samsyn.test")


def texts(html: str, xpath: str) -> list[str]:
    return [el.text_content() for el in lxml.html.fromstring(html).xpath(xpath)]


# --- official and accepted answers, editors' comments ----------------------------------------------------


async def test_an_editor_accepts_one_answer_and_can_change_it_and_visitors_see_it(db, app):  # noqa: F811
    admin, found = await a_forum(db)
    number, conv, official = await answered_by_editor(db, found, admin.actor)
    visitors_answer = await forum.add_post(db, found, number, post=a_post("Olle Ek", body="Byt hela kedjan."))

    assert await forum_editing.accept(db, admin.actor, conv, visitors_answer)
    shown = await forum.thread(db, found, number)
    assert [a["accepted"] for a in shown["answers"]] == [False, True]
    assert await forum_editing.accept(db, admin.actor, conv, official)  # changed: one accepted at a time
    assert not await forum_editing.accept(db, admin.actor, conv, official)  # the same again changes nothing
    shown = await forum.thread(db, found, number)
    assert [a["accepted"] for a in shown["answers"]] == [True, False]

    async with visitor_client(app) as client:
        html = (await client.get(f"/forum/{found.slug}/{number}")).text
    accepted = lxml.html.fromstring(html).get_element_by_id(f"message-{official}")
    assert "Godkänt svar" in accepted.text_content() and "Officiellt svar" in accepted.text_content()
    assert await forum_editing.accept(db, admin.actor, conv, None)
    assert not any(a["accepted"] for a in (await forum.thread(db, found, number))["answers"])


async def test_only_an_answer_in_this_thread_can_be_accepted_and_only_by_editors(db):
    admin, found = await a_forum(db)
    number, conv, answer = await answered_by_editor(db, found, admin.actor)
    opening = (await forum.thread(db, found, number))["opening"]["id"]
    note = await conversations.add_note(db, admin.actor, conv, "Intern")
    comment = await forum.add_post(db, found, number, post=a_post(body="Tack!"), parent_id=answer)
    _, other_conv, other_answer = await answered_by_editor(db, found, admin.actor)
    for wrong in (opening, note, comment, other_answer):
        with pytest.raises(NotFound):
            await forum_editing.accept(db, admin.actor, conv, wrong)
    viewer = await make_member(db, found.org_id, "viewer", "Viktor Sand")
    with pytest.raises(Forbidden):
        await forum_editing.accept(db, viewer.actor, conv, answer)
    with pytest.raises(Forbidden):
        await forum_editing.accept(db, Visitor(found.org_id), conv, answer)


async def test_an_editors_comment_on_an_answer_is_public_official_and_answers_the_visitor(db, app):  # noqa: F811
    admin, found = await a_forum(db)
    number, conv = await a_thread(db, found)
    visitors_answer = await forum.add_post(db, found, number, post=a_post("Olle Ek", body="Byt kedja."))
    assert (await case_of(db, found, number))["needs_reply"]
    comment = await forum_editing.comment(db, admin.actor, conv, visitors_answer, "Olle har rätt: byt den.")
    assert not (await case_of(db, found, number))["needs_reply"]
    async with visitor_client(app) as client:
        html = (await client.get(f"/forum/{found.slug}/{number}")).text
    post = lxml.html.fromstring(html).get_element_by_id(f"message-{comment}")
    assert "official" in post.get("class") and "Olle har rätt" in post.text_content()
    with pytest.raises(Invalid):
        await forum_editing.comment(db, admin.actor, conv, visitors_answer, "   ")


async def test_an_editors_answer_is_marked_official_on_the_case_page_too(db, app):  # noqa: F811
    admin, found = await a_forum(db)
    _, conv, answer = await answered_by_editor(db, found, admin.actor)
    async with member_client(app) as client:
        await login(client, admin.email)
        html = (await client.get(f"/conversations/{conv}")).text
    assert "Officiellt svar" in lxml.html.fromstring(html).get_element_by_id(f"message-{answer}").text_content()


# --- editing with history ---------------------------------------------------------------------------------


async def test_editing_keeps_the_earlier_version_for_editors_and_visitors_see_edited(db, app):  # noqa: F811
    admin, found = await a_forum(db)
    number, conv = await a_thread(db, found, body="Min kedja hoppar av. Ring mig på 070-123 45 67.")
    assert await forum_editing.edit(db, admin.actor, conv, "Kedjan hoppar av i backar", "Min kedja hoppar av.")
    assert not await forum_editing.edit(db, admin.actor, conv, "Kedjan hoppar av i backar", "Min kedja hoppar av.")
    shown = await forum.thread(db, found, number)
    assert shown["thread"]["subject"] == "Kedjan hoppar av i backar" and shown["thread"]["edited"]
    assert shown["opening"]["body_text"] == "Min kedja hoppar av."
    tools = await forum_editing.tools(db, found.org_id, conv)
    assert [(r["subject"], r["body_text"], r["editor_name"]) for r in tools["revisions"]] == [
        ("Kedjan hoppar av", "Min kedja hoppar av. Ring mig på 070-123 45 67.", "Lena Admin")]
    async with visitor_client(app) as client:
        html = (await client.get(f"/forum/{found.slug}/{number}")).text
    assert "Redigerad" in html and "070-123" not in html
    async with member_client(app) as client:
        await login(client, admin.email)
        html = (await client.get(f"/conversations/{conv}")).text
    assert "1 tidigare version" in html and "070-123 45 67" in html


async def test_an_empty_headline_is_refused_and_the_form_keeps_what_was_typed(db, app):  # noqa: F811
    admin, found = await a_forum(db)
    number, conv = await a_thread(db, found)
    with pytest.raises(Invalid) as refused:
        await forum_editing.edit(db, admin.actor, conv, "  ", "Ny text")
    assert refused.value.field == "subject"
    async with member_client(app) as client:
        token = await login(client, admin.email)
        response = await client.post(f"/conversations/{conv}/edit", data={"subject": " ", "body": "Ny text här"},
                                     headers={"x-csrf-token": token})
    assert response.status_code == 400 and "Skriv en rubrik." in response.text
    form = lxml.html.fromstring(response.text).get_element_by_id("edit")
    assert form.xpath(".//textarea[@name='body']")[0].text == "Ny text här"
    assert form.xpath(".//input[@name='subject']")[0].get("aria-invalid") == "true"
    assert (await case_of(db, found, number))["subject"] == "Kedjan hoppar av"


async def test_editing_is_for_forum_threads_and_editors_only(db):
    admin, found = await a_forum(db)
    _, conv = await a_thread(db, found)
    viewer = await make_member(db, found.org_id, "viewer", "Viktor Sand")
    with pytest.raises(Forbidden):
        await forum_editing.edit(db, viewer.actor, conv, "Ny", "Ny")
    from tests.factories import make_channel, make_conversation

    mail = await make_conversation(db, found.org_id, await make_channel(db, admin))
    with pytest.raises(NotFound):
        await forum_editing.edit(db, admin.actor, mail, "Ny", "Ny")


# --- archive, hide, spam ------------------------------------------------------------------------------------


async def test_archived_threads_leave_the_start_page_and_search_but_their_link_works(db, app):  # noqa: F811
    admin, found = await a_forum(db)
    number, conv = await a_thread(db, found, title="Punktering på landsväg")
    await conversations.set_status(db, admin.actor, conv, "archived")
    async with visitor_client(app) as client:
        start = (await client.get(f"/forum/{found.slug}")).text
        searched = (await client.get(f"/forum/{found.slug}", params={"q": "punktering"})).text
        page = await client.get(f"/forum/{found.slug}/{number}")
    assert "Punktering" not in start and "Punktering" not in searched
    assert page.status_code == 200 and "Punktering på landsväg" in page.text


@pytest.mark.parametrize("how", ["hidden", "spam"])
async def test_hidden_and_spam_threads_give_visitors_a_clear_not_available_page(db, app, how):  # noqa: F811
    admin, found = await a_forum(db)
    number, conv = await a_thread(db, found, title="Köp billiga klockor")
    if how == "hidden":
        await conversations.set_status(db, admin.actor, conv, "hidden")
    else:
        await case_tools.mark_spam(db, admin.actor, conv)
    async with visitor_client(app) as client:
        page = await client.get(f"/forum/{found.slug}/{number}")
        start = (await client.get(f"/forum/{found.slug}")).text
    assert page.status_code == 404
    assert "Den här tråden är inte tillgänglig" in page.text and "klockor" not in page.text
    assert f'href="/forum/{found.slug}"' in page.text and "klockor" not in start


# --- pinned threads and the start page's order ------------------------------------------------------------


async def test_pinned_threads_come_first_in_the_editors_order(db):
    admin, found = await a_forum(db)
    first, a = await a_thread(db, found, title="Först skriven")
    second, b = await a_thread(db, found, title="Sedan skriven")
    third, c = await a_thread(db, found, title="Sist skriven")

    async def order():
        return [t["case_number"] for t in await forum.threads(db, found)]

    assert await order() == [third, second, first]  # latest activity first
    assert await forum_editing.pin(db, admin.actor, a)
    assert await forum_editing.pin(db, admin.actor, b)
    assert not await forum_editing.pin(db, admin.actor, b)
    assert await order() == [first, second, third]
    assert await forum_editing.move(db, admin.actor, b, up=True)
    assert await order() == [second, first, third]
    assert not await forum_editing.move(db, admin.actor, b, up=True)  # first already
    assert await forum_editing.move(db, admin.actor, b, up=False)
    assert await order() == [first, second, third]
    with pytest.raises(Invalid):
        await forum_editing.move(db, admin.actor, c, up=True)  # not pinned
    assert [t["pinned"] for t in await forum.threads(db, found)] == [True, True, False]
    await forum_editing.pin(db, admin.actor, a, False)
    assert await order() == [second, third, first]
    editor = await make_member(db, found.org_id, "editor", "Anna Lind")
    assert await forum_editing.pin(db, editor.actor, c)  # editors order the start page too
    viewer = await make_member(db, found.org_id, "viewer", "Viktor Sand")
    with pytest.raises(Forbidden):
        await forum_editing.pin(db, viewer.actor, a)


# --- answered, and "no reply needed" on the latest comment ------------------------------------------------


async def test_answered_means_an_official_or_accepted_answer_and_nothing_needing_a_reply(db, app):  # noqa: F811
    admin, found = await a_forum(db)
    number, conv = await a_thread(db, found)

    async def answered() -> bool:
        return next(t for t in await forum.threads(db, found) if t["case_number"] == number)["answered"]

    visitors_answer = await forum.add_post(db, found, number, post=a_post("Olle Ek", body="Byt kedja."))
    await conversations.mark_no_reply_needed(db, admin.actor, conv)
    assert not await answered()  # a visitor's answer, not accepted
    await forum_editing.accept(db, admin.actor, conv, visitors_answer)
    assert await answered()
    await forum.add_post(db, found, number, post=a_post(body="Funkar inte!"), parent_id=visitors_answer)
    assert not await answered()  # a new comment needs a reply again
    await conversations.reply(db, admin.actor, conv, "Då byter vi den.", seen_message_id=SEEN_ALL)
    assert await answered()
    async with visitor_client(app) as client:
        start = (await client.get(f"/forum/{found.slug}")).text
    assert texts(start, "//span[contains(@class, 'answered')]") == ["Besvarad"]


async def test_no_reply_needed_is_set_on_the_latest_comment_and_visitors_never_see_it(db, app):  # noqa: F811
    admin, found = await a_forum(db)
    number, conv, answer = await answered_by_editor(db, found, admin.actor)
    comment = await forum.add_post(db, found, number, post=a_post(body="Tack!"), parent_id=answer)
    await conversations.mark_no_reply_needed(db, admin.actor, conv)
    _, messages = await conversations.get(db, found.org_id, conv)
    assert [m["id"] for m in messages if m["no_reply_needed"]] == [comment]
    assert not (await conversations.find_row(db, found.org_id, conv))["needs_reply"]
    async with visitor_client(app) as client:
        html = (await client.get(f"/forum/{found.slug}/{number}")).text
    assert "Kräver ej svar" not in html and "no-reply" not in html
    await forum.add_post(db, found, number, post=a_post(body="Nej vänta, den hoppar igen."), parent_id=answer)
    assert (await conversations.find_row(db, found.org_id, conv))["needs_reply"]


# --- visitor details: editors only ---------------------------------------------------------------------------


async def test_visitor_details_show_to_editors_and_never_to_viewers_on_the_page_or_live(db, app):  # noqa: F811
    admin, found = await a_forum(db)
    viewer = await make_member(db, found.org_id, "viewer", "Viktor Sand")
    editor = await make_member(db, found.org_id, "editor", "Anna Lind")
    email = unique_email("karin")
    number, conv = await a_thread(db, found, email=email)
    async with member_client(app) as as_viewer, member_client(app) as as_editor:
        await login(as_viewer, viewer.email)
        await login(as_editor, editor.email)
        before = {who: (await c.get(f"/conversations/{conv}")).text
                  for who, c in (("viewer", as_viewer), ("editor", as_editor))}
        seq = await last_seq(db, found.org_id)
        second = unique_email("olle")
        comment = await forum.add_post(db, found, number, post=a_post("Olle Ek", email=second, body="Samma här"),
                                       user_agent=FIREFOX_UBUNTU, page="https://cykel.example/kedjor")
        after = {who: (await c.get(f"/conversations/{conv}")).text
                 for who, c in (("viewer", as_viewer), ("editor", as_editor))}
    assert email in before["editor"] and second in after["editor"] and "Firefox 133" in after["editor"]
    for html in (before["viewer"], after["viewer"]):
        assert email not in html and second not in html and "Firefox" not in html and "cykel.example" not in html
    pushed_to_viewer, _ = await pushed_since(db, found.org_id, seq, audience={MEMBERS, user(viewer.actor.user_id)})
    assert second not in pushed_to_viewer and "Firefox" not in pushed_to_viewer
    # the editor's open page takes the new comment's details live, as a fresh page shows them
    pushed_to_editor, _ = await pushed_since(db, found.org_id, seq, audience={MEMBERS, EDITORS, user(editor.actor.user_id)})
    replayed = lxml.html.fromstring(apply_push(before["editor"], pushed_to_editor))
    fresh = lxml.html.fromstring(after["editor"])
    for message_id in ((await forum.thread(db, found, number))["opening"]["id"], comment):
        element = f"message-{message_id}-visitor"
        assert replayed.get_element_by_id(element).text_content() == fresh.get_element_by_id(element).text_content()
    assert "https://cykel.example/kedjor" in replayed.get_element_by_id(f"message-{comment}-visitor").text_content()


# --- the chief editor's weekly review ----------------------------------------------------------------------


async def _backdate(settings, conversation_id: int, days: int) -> None:
    """Make a thread look untouched for `days` days (as the owner: no domain function moves time back)."""
    conn = await asyncpg.connect(settings.database_owner_url)
    try:
        at = datetime.now(timezone.utc) - timedelta(days=days)
        await conn.execute("UPDATE conversations SET last_message_at = $2, updated_at = $2, created_at = $2 "
                           "WHERE id = $1", conversation_id, at)
        await conn.execute("UPDATE messages SET created_at = $2 WHERE conversation_id = $1", conversation_id, at)
    finally:
        await conn.close()


async def test_the_weekly_review_puts_unclear_and_long_unanswered_threads_first_and_lists_stale_ones(db, settings):
    admin, found = await a_forum(db)
    _, answered_conv, _ = await answered_by_editor(db, found, admin.actor)  # answered, none accepted
    accepted_number, accepted_conv, accepted = await answered_by_editor(db, found, admin.actor)
    await forum_editing.accept(db, admin.actor, accepted_conv, accepted)
    _, unanswered = await a_thread(db, found, title="Ingen har svarat")
    _, waiting = await a_thread(db, found, title="Väntar sedan i förrgår")
    await _backdate(settings, waiting, 2)
    _, stale = await a_thread(db, found, title="Gammal fråga")
    await _backdate(settings, stale, 200)
    _, archived = await a_thread(db, found, title="Arkiverad")
    await conversations.set_status(db, admin.actor, archived, "archived")

    shown = await forum_editing.review(db, admin.actor)
    assert shown["forum"]["id"] == found.channel_id
    assert [t["id"] for t in shown["week"]] == [waiting, unanswered, answered_conv, accepted_conv]
    assert shown["week"][0]["waiting_long"] and not shown["week"][1]["waiting_long"]
    assert [t["id"] for t in shown["stale"]] == [stale]
    assert {t["id"] for t in shown["start"]} == {answered_conv, accepted_conv, unanswered, waiting, stale}
    editor = await make_member(db, found.org_id, "editor", "Anna Lind")
    with pytest.raises(Forbidden):
        await forum_editing.review(db, editor.actor)


async def test_the_review_archives_with_one_click_and_links_to_editing(db, app):  # noqa: F811
    admin, found = await a_forum(db)
    _, conv = await a_thread(db, found, title="Gammal fråga")
    async with member_client(app) as client:
        token = await login(client, admin.email)
        page = (await client.get("/forum-review")).text
        assert f'href="/conversations/{conv}?edit=1#edit"' in page
        response = await client.post(f"/forum-review/{conv}/archive", data={"review": str(found.channel_id)},
                                     headers={"x-csrf-token": token})
        assert response.status_code == 303 and response.headers["location"] == f"/forum-review?forum={found.channel_id}"
    assert (await conversations.find_row(db, found.org_id, conv))["status"] == "archived"
    assert await forum.threads(db, found) == []
