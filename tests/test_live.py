"""The live layer on /ws against real PostgreSQL, Redis and uvicorn: who receives what, replay, heartbeats.

The app runs here under its own uvicorn with a short heartbeat, so heartbeat behaviour is awaited,
not slept for; every wait is for a frame, with a generous timeout.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
from urllib.parse import urlencode

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from app import channels, conversations
from app.db import Database, events_after, last_seq
from app.main import create_app
from app.serve import uvicorn_config
from app.web.middleware import SESSION_COOKIE
from devtools.services import free_port, start_server
from realtime.fragments import MEMBERS, render_event, user
from realtime.hub import MESSAGE_BURST
from tests.factories import PASSWORD, csrf_from, login, make_channel, make_conversation, make_member, make_org

WAIT = 15  # seconds: generous, never an assertion about speed


async def start_web(settings, **overrides):
    """A web process of our own (the app under uvicorn, as the `server` fixture runs it): (app, stop)."""
    app = create_app(settings)
    return app, await start_server(uvicorn_config(app, settings, log_level="warning", **overrides))


@pytest.fixture(scope="module")
async def live(settings):
    """The app under uvicorn with a heartbeat every 0.3 s; yields (base URL, app)."""
    own = dataclasses.replace(settings, web_port=free_port(), live_heartbeat_seconds=0.3)
    app, stop = await start_web(own)
    yield own.base_url, app
    await stop()


async def session_cookie(base: str, email: str) -> tuple[str, httpx.AsyncClient]:
    client = httpx.AsyncClient(base_url=base, timeout=10)
    await login(client, email)
    return client.cookies[SESSION_COOKIE], client


def ws_url(base: str, since: int | None = None, case: int | str | None = None) -> str:
    query = urlencode({k: v for k, v in (("since", since), ("case", case)) if v is not None})
    return base.replace("http://", "ws://") + "/ws" + (f"?{query}" if query else "")


def open_socket(base: str, cookie: str | None, since: int | None = None, origin: str | None = "same",
                case: int | str | None = None):
    """A socket as a tab opens it: of the page read at `since`, the page of conversation `case` if given."""
    headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"} if cookie else {}
    return connect(ws_url(base, since, case), additional_headers=headers,
                   origin=base if origin == "same" else origin, open_timeout=WAIT, compression=None)


async def next_frame(ws, kinds=("event",), seq: int | None = None) -> dict:
    """The next frame of one of `kinds` (and with `seq`, if given), skipping the rest."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        if frame["type"] in kinds and (seq is None or frame["seq"] == seq):
            return frame


async def events_until(ws, seq: int) -> list[dict]:
    """Every event frame up to and including `seq`."""
    frames = []
    while not frames or frames[-1]["seq"] < seq:
        frames.append(await next_frame(ws))
    return frames


@pytest.fixture
async def org(db, live):
    """An organisation with an admin, an editor and a viewer, each with a logged-in HTTP client."""
    base, _ = live
    admin = await make_org(db)
    people = {"admin": admin, "editor": await make_member(db, admin.actor.org_id, "editor", "Björn Ek"),
              "viewer": await make_member(db, admin.actor.org_id, "viewer", "Viktor Sand")}
    cookies, clients = {}, []
    for who, person in people.items():
        cookies[who], client = await session_cookie(base, person.email)
        clients.append(client)
    yield people, cookies
    for client in clients:
        await client.aclose()


async def test_a_socket_gets_its_organisations_events_and_nothing_of_another(db, live, org):
    base, _ = live
    people, cookies = org
    other = await make_org(db, name="Annat AB")
    other_cookie, other_client = await session_cookie(base, other.email)
    channel = await make_channel(db, people["admin"])
    other_channel = await make_channel(db, other)
    async with open_socket(base, cookies["editor"]) as mine, open_socket(base, other_cookie) as theirs:
        await next_frame(mine, ("hello",))
        await next_frame(theirs, ("hello",))
        await make_conversation(db, people["admin"].actor.org_id, channel, subject="Hemligt ärende hos oss")
        seq = await last_seq(db, people["admin"].actor.org_id)
        assert "Hemligt ärende hos oss" in "".join(f["html"] for f in await events_until(mine, seq))
        # the other organisation's own next event comes, and nothing of ours before it
        await make_conversation(db, other.actor.org_id, other_channel, subject="Deras ärende")
        other_seq = await last_seq(db, other.actor.org_id)
        received = await events_until(theirs, other_seq)
        assert "Deras ärende" in "".join(f["html"] for f in received)
        assert not any("Hemligt" in f["html"] for f in received)
    await other_client.aclose()


async def test_another_organisations_case_page_gets_nothing_of_it_over_the_socket(db, live, org):
    """`case=` and `page` name a page, never a right: another organisation's case id brings none of its pieces."""
    base, _ = live
    people, cookies = org
    other = await make_org(db, name="Tredje AB")
    theirs = await make_conversation(db, other.actor.org_id, await make_channel(db, other), subject="Deras hemlighet")
    ours = await make_conversation(db, people["admin"].actor.org_id, await make_channel(db, people["admin"]))
    async with open_socket(base, cookies["editor"], case=theirs) as ws:
        await next_frame(ws, ("hello",))
        await ws.send(json.dumps({"type": "page", "since": 0, "conversation_id": theirs}))
        await next_frame(ws, ("page",))
        await conversations.assign(db, other.actor, theirs, other.actor.user_id)  # their change
        await conversations.assign(db, people["admin"].actor, ours, people["admin"].actor.user_id)  # then ours
        seq = await last_seq(db, people["admin"].actor.org_id)
        html = "".join(f["html"] for f in await events_until(ws, seq))
        assert f"conversation-{theirs}" not in html and "Deras hemlighet" not in html


async def test_a_viewer_never_gets_admin_pieces_and_same_audience_gets_same_bytes(db, live, org):
    base, _ = live
    people, cookies = org
    org_id = people["admin"].actor.org_id
    async with open_socket(base, cookies["admin"]) as admin, open_socket(base, cookies["viewer"]) as viewer:
        await next_frame(admin, ("hello",))
        await next_frame(viewer, ("hello",))
        await channels.create_channel(db, people["admin"].actor, kind="forum", name="Kundservice SV",
                                      colour="teal", address="forum-live-test")
        seq = await last_seq(db, org_id)
        (event,) = await events_after(db, org_id, seq - 1)
        pieces = await render_event(db, event, "sv", "Europe/Stockholm")
        assert {p.audience for p in pieces} == {MEMBERS, "admins"}
        to_admin, to_viewer = await next_frame(admin, seq=seq), await next_frame(viewer, seq=seq)
        assert to_admin["html"] == "".join(p.html for p in pieces)
        assert to_viewer["html"] == "".join(p.html for p in pieces if p.audience == MEMBERS)
        assert 'id="channel-rows"' in to_admin["html"] and 'id="channel-rows"' not in to_viewer["html"]



async def test_each_locale_gets_its_own_render_made_from_one_read(db, live, org):
    """An event's Swedish and English renders share their reads: each equals a render of its own."""
    from app import accounts

    base, _ = live
    people, cookies = org
    editor = people["editor"].actor
    email = f"english-{editor.org_id}@test.samsyn.se"
    await accounts.add_member(db, editor.org_id, await accounts.create_user(db, email, "Emma Reed", PASSWORD,
                                                                           locale="en"), "editor")
    english, client = await session_cookie(base, email)
    case = await make_conversation(db, editor.org_id, await make_channel(db, people["admin"]))
    async with open_socket(base, cookies["editor"]) as sv, open_socket(base, english) as en:
        await next_frame(sv, ("hello",))
        await next_frame(en, ("hello",))
        await conversations.assign(db, editor, case, editor.user_id)
        seq = await last_seq(db, editor.org_id)
        (event,) = await events_after(db, editor.org_id, seq - 1)
        for ws, locale in ((sv, "sv"), (en, "en")):  # the Swedish editor also gets their own "mine" count
            alone = await render_event(db, event, locale, "Europe/Stockholm", cases=set())
            theirs = {MEMBERS, *((user(editor.user_id),) if locale == "sv" else ())}
            assert (await next_frame(ws, seq=seq))["html"] == "".join(p.html for p in alone if p.audience in theirs)
    await client.aclose()


async def test_a_forum_visitors_details_reach_editors_sockets_and_never_a_viewers(db, live, org):
    from app import forum, forum_editing

    base, _ = live
    people, cookies = org
    admin = people["admin"].actor
    await channels.create_channel(db, admin, kind="forum", name="Forum", colour="teal", address="forum-live-editors")
    found = await forum.find(db, "forum-live-editors")
    number = await forum.start_thread(db, found, topic="question", title="Kedjan", user_agent="Firefox/133.0",
                                      post=forum.Post("Karin", "karin-live@test.samsyn.se", "Vad gör jag?"))
    thread = (await forum.thread(db, found, number))["thread"]["id"]
    async with open_socket(base, cookies["editor"], case=thread) as editor, \
            open_socket(base, cookies["viewer"], case=thread) as viewer:  # both on the thread's page
        await next_frame(editor, ("hello",))
        await next_frame(viewer, ("hello",))
        await forum_editing.edit(db, admin, thread, "Kedjan hoppar", "Vad gör jag?")  # the case page is pushed
        seq = await last_seq(db, admin.org_id)
        to_editor, to_viewer = await next_frame(editor, seq=seq), await next_frame(viewer, seq=seq)
        assert "karin-live@test.samsyn.se" in to_editor["html"]
        assert "karin-live@test.samsyn.se" not in to_viewer["html"] and "Firefox" not in to_viewer["html"]


async def test_a_case_pages_pieces_go_only_to_sockets_showing_that_page(db, live, org):
    base, _ = live
    people, cookies = org
    editor = people["editor"].actor
    channel = await make_channel(db, people["admin"])
    case, other = [await make_conversation(db, editor.org_id, channel) for _ in range(2)]
    async with open_socket(base, cookies["editor"]) as dashboard, \
            open_socket(base, cookies["editor"], case=case) as on_case, \
            open_socket(base, cookies["editor"], case=other) as on_other:
        for ws in (dashboard, on_case, on_other):
            await next_frame(ws, ("hello",))
        await conversations.assign(db, editor, case, editor.user_id)
        seq = await last_seq(db, editor.org_id)
        frames = [await next_frame(ws, seq=seq) for ws in (dashboard, on_case, on_other)]
        assert f'id="conversation-{case}-head"' in frames[1]["html"]
        # the dashboard and the other case's page get the queue row, the same bytes, and nothing of the case page
        assert frames[0] == frames[2] and f'id="conversation-{case}"' in frames[0]["html"]
        assert f"conversation-{case}-head" not in frames[0]["html"]


async def test_a_tab_turning_to_a_case_page_gets_what_that_page_lacks_with_its_pieces(db, live, org):
    """htmx's boosted navigation keeps the socket: the `page` message says what the tab shows now."""
    base, _ = live
    people, cookies = org
    editor = people["editor"].actor
    case = await make_conversation(db, editor.org_id, await make_channel(db, people["admin"]))
    async with open_socket(base, cookies["editor"]) as ws:
        await next_frame(ws, ("hello",))
        page_seq = await last_seq(db, editor.org_id)  # the case page is read here ...
        await conversations.assign(db, editor, case, editor.user_id)  # ... and this lands before the tab says so
        seq = await last_seq(db, editor.org_id)
        assert "-head" not in (await next_frame(ws, seq=seq))["html"]  # built for the dashboard it showed
        await ws.send(json.dumps({"type": "page", "since": page_seq, "conversation_id": case}))
        assert (await next_frame(ws, ("page",)))["seq"] == page_seq
        replayed = await next_frame(ws)
        assert replayed["seq"] == seq and f'id="conversation-{case}-head"' in replayed["html"]
        await ws.send(json.dumps({"type": "page", "since": seq, "conversation_id": None}))  # back to the dashboard
        await next_frame(ws, ("page",))
        await conversations.assign(db, editor, case, None)
        assert "-head" not in (await next_frame(ws, seq=seq + 1))["html"]


async def test_the_handshake_is_refused_without_a_session_or_from_another_site(live, org):
    base, cookies = live[0], org[1]
    for cookie, origin in ((None, "same"), (cookies["editor"], "https://evil.example"), (cookies["editor"], None)):
        with pytest.raises(InvalidStatus) as refused:
            async with open_socket(base, cookie, origin=origin):
                pass
        assert refused.value.response.status_code == 403
    for since, case in (("abc", None), (None, "12x"), (None, "-1")):  # not a seq, not a conversation id
        with pytest.raises(InvalidStatus) as refused:
            async with open_socket(base, cookies["editor"], since=since, case=case):
                pass
        assert refused.value.response.status_code == 403


async def test_an_ended_session_is_refused_and_its_open_socket_closed(db, live, org):
    base = live[0]
    people, _ = org
    cookie, client = await session_cookie(base, people["editor"].email)
    async with open_socket(base, cookie) as ws:
        await next_frame(ws, ("hello",))
        csrf = csrf_from((await client.get("/")).text)
        assert (await client.post("/logout", data={"csrf_token": csrf})).status_code == 303
        with pytest.raises(ConnectionClosed) as closed:
            await next_frame(ws, ("never",))  # the next heartbeat finds the session gone
        assert closed.value.rcvd.code == 4001
    with pytest.raises(InvalidStatus):
        async with open_socket(base, cookie):
            pass
    await client.aclose()


async def test_a_logout_or_password_reset_closes_the_sessions_sockets_at_once(db, settings, org):
    """Not at the next heartbeat: the web processes are told when sessions end."""
    from app import accounts

    quiet = dataclasses.replace(settings, web_port=free_port(), live_heartbeat_seconds=600)  # no heartbeat comes
    _, stop = await start_web(quiet)
    people, _ = org
    base = quiet.base_url
    try:
        kept, kept_client = await session_cookie(base, people["admin"].email)
        ended, client = await session_cookie(base, people["editor"].email)
        async with open_socket(base, ended) as ws, open_socket(base, kept) as other:
            await next_frame(ws, ("hello",))
            await next_frame(other, ("hello",))
            csrf = csrf_from((await client.get("/")).text)
            assert (await client.post("/logout", data={"csrf_token": csrf})).status_code == 303
            with pytest.raises(ConnectionClosed) as closed:
                await next_frame(ws, ("never",))
            assert closed.value.rcvd.code == 4001
            assert other.state.name == "OPEN"  # another person's session is untouched

        first, second = [(await session_cookie(base, people["editor"].email)) for _ in range(2)]
        async with open_socket(base, first[0]) as one, open_socket(base, second[0]) as two:
            await next_frame(one, ("hello",))
            await next_frame(two, ("hello",))
            admin = people["admin"].actor
            token = await accounts.reset_link_token(db, admin, settings.secret_key, people["editor"].actor.user_id)
            await accounts.reset_password(db, settings.secret_key, token, "ett nytt lösenord 4711")
            for ws in (one, two):  # every session of the person who got a new password
                with pytest.raises(ConnectionClosed) as closed:
                    await next_frame(ws, ("never",))
                assert closed.value.rcvd.code == 4001
        for c in (kept_client, client, first[1], second[1]):
            await c.aclose()

        # a person in two organisations switches: the socket of the one they left closes
        elsewhere = await make_org(db, name="Andra AB")
        await accounts.add_member(db, elsewhere.actor.org_id, people["viewer"].actor.user_id, "viewer")
        cookie, client = await session_cookie(base, people["viewer"].email)
        async with open_socket(base, cookie) as ws:
            await next_frame(ws, ("hello",))
            csrf = csrf_from((await client.get("/")).text)
            assert (await client.post("/organization", data={"csrf_token": csrf,
                                                             "org_id": elsewhere.actor.org_id})).status_code == 303
            with pytest.raises(ConnectionClosed) as closed:
                await next_frame(ws, ("never",))
            assert closed.value.rcvd.code == 4001
        await client.aclose()
    finally:
        await stop()


async def test_a_socket_replays_what_happened_after_its_pages_seq(db, live, org):
    base = live[0]
    people, cookies = org
    org_id = people["admin"].actor.org_id
    channel = await make_channel(db, people["admin"])
    page_seq = await last_seq(db, org_id)
    for n in range(3):
        await make_conversation(db, org_id, channel, subject=f"Missat ärende {n}")
    latest = await last_seq(db, org_id)
    async with open_socket(base, cookies["editor"], since=page_seq) as ws:
        frames = [json.loads(await asyncio.wait_for(ws.recv(), WAIT)) for _ in range(latest - page_seq + 1)]
    assert [f["seq"] for f in frames[:-1]] == list(range(page_seq + 1, latest + 1))
    assert frames[-1] == {"type": "hello", "seq": latest, "heartbeat": 0.3}
    assert all(f"Missat ärende {n}" in "".join(f["html"] for f in frames[:-1]) for n in range(3))


async def test_asking_again_fills_a_gap(db, live, org):
    base = live[0]
    people, cookies = org
    org_id = people["admin"].actor.org_id
    channel = await make_channel(db, people["admin"])
    async with open_socket(base, cookies["editor"]) as ws:
        start = (await next_frame(ws, ("hello",)))["seq"]
        await make_conversation(db, org_id, channel, subject="Första")
        await make_conversation(db, org_id, channel, subject="Andra")
        latest = await last_seq(db, org_id)
        await events_until(ws, latest)
        await ws.send(json.dumps({"type": "replay", "since": start}))  # as if those frames were lost
        again = await events_until(ws, latest)
    assert [f["seq"] for f in again] == list(range(start + 1, latest + 1))


async def test_too_far_behind_is_told_to_reload(db, live, org):
    base, app = live
    people, cookies = org
    org_id = people["admin"].actor.org_id
    channel = await make_channel(db, people["admin"])
    page_seq = await last_seq(db, org_id)
    for n in range(3):
        await make_conversation(db, org_id, channel, subject=f"Ärende {n}")
    app.state.hub.replay_window = 2
    try:
        async with open_socket(base, cookies["editor"], since=page_seq) as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
    finally:
        app.state.hub.replay_window = 500
    assert first == {"type": "reload", "seq": await last_seq(db, org_id)}


async def test_the_heartbeat_carries_the_seq_and_brings_an_event_whose_publish_was_lost(db, live, org):
    base = live[0]
    people, cookies = org
    org_id = people["admin"].actor.org_id
    channel = await make_channel(db, people["admin"])
    without_redis = Database(db.pool, None)  # commits, but never rings the doorbell
    async with open_socket(base, cookies["editor"]) as ws:
        await next_frame(ws, ("hello",))
        await make_conversation(without_redis, org_id, channel, subject="Tyst ärende")
        latest = await last_seq(db, org_id)
        assert "Tyst ärende" in "".join(f["html"] for f in await events_until(ws, latest))
        assert (await next_frame(ws, ("heartbeat",)))["seq"] == latest


async def test_a_doorbell_after_a_lost_one_brings_the_lost_event_too_without_a_heartbeat(db, settings, org):
    """The doorbell carries each event; one that rings past a gap has the hub read what it lacks at once."""
    quiet = dataclasses.replace(settings, web_port=free_port(), live_heartbeat_seconds=600)  # no heartbeat comes
    _, stop = await start_web(quiet)
    people, cookies = org
    org_id = people["admin"].actor.org_id
    channel = await make_channel(db, people["admin"])
    try:
        async with open_socket(quiet.base_url, cookies["editor"]) as ws:
            start = (await next_frame(ws, ("hello",)))["seq"]
            await make_conversation(Database(db.pool, None), org_id, channel, subject="Tyst ärende")  # never rung
            await make_conversation(db, org_id, channel, subject="Hörbart ärende")
            latest = await last_seq(db, org_id)
            frames = await events_until(ws, latest)
            assert [f["seq"] for f in frames] == list(range(start + 1, latest + 1))
            html = "".join(f["html"] for f in frames)
            assert html.index("Tyst ärende") < html.index("Hörbart ärende")
    finally:
        await stop()


async def test_a_slow_consumer_is_closed_while_others_keep_receiving(db, live, org):
    base, app = live
    people, cookies = org
    org_id = people["admin"].actor.org_id
    channel = await make_channel(db, people["admin"])
    hub = app.state.hub
    hub.buffer_bytes = 64 * 1024  # beyond what the kernel holds; the healthy client reads in bursts
    try:
        # a client that completes the handshake and then never reads, with a tiny receive window
        host, port = base.removeprefix("http://").split(":")
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        slow.connect((host, int(port)))
        slow.sendall((f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                      f"Origin: {base}\r\nCookie: {SESSION_COOKIE}={cookies['viewer']}\r\n\r\n").encode())
        async with open_socket(base, cookies["editor"]) as healthy:
            await next_frame(healthy, ("hello",))

            def slow_is_held() -> bool:
                room = hub.rooms.get(org_id)
                return room is not None and any(c.actor.role == "viewer" for c in room.clients)

            while not slow_is_held():
                await asyncio.sleep(0.02)
            made = 0
            while slow_is_held():
                assert made < 2000, "the slow socket was never dropped"
                await make_conversation(db, org_id, channel, subject=f"Ärende {made} " + "lång text " * 50)
                made += 1
            latest = await last_seq(db, org_id)
            received = await events_until(healthy, latest)
            assert len({f["seq"] for f in received}) == len(received) and received[-1]["seq"] == latest
    finally:
        hub.buffer_bytes = 2 * 1024 * 1024
        slow.close()


async def test_presence_is_shared_in_the_organisation_and_cleared_on_leaving(db, live, org):
    base = live[0]
    people, cookies = org
    org_id = people["admin"].actor.org_id
    conv = await make_conversation(db, org_id, await make_channel(db, people["admin"]))
    editor_id = people["editor"].actor.user_id
    async with open_socket(base, cookies["admin"]) as watcher:
        await next_frame(watcher, ("hello",))
        async with open_socket(base, cookies["editor"]) as editor:
            await next_frame(editor, ("hello",))
            await editor.send(json.dumps({"type": "viewing", "conversation_id": conv}))
            seen = await next_frame(watcher, ("presence",))
            assert seen == {"type": "presence", "conversation_id": conv,
                            "people": [{"user_id": editor_id, "name": "Björn Ek", "state": "viewing"}]}
            await editor.send(json.dumps({"type": "replying", "conversation_id": conv}))
            assert (await next_frame(watcher, ("presence",)))["people"][0]["state"] == "replying"
            # a socket that opens now gets the snapshot right after hello
            async with open_socket(base, cookies["viewer"]) as late:
                await next_frame(late, ("hello",))
                assert (await next_frame(late, ("presence",)))["people"][0]["user_id"] == editor_id
        # the editor's socket closed: gone
        assert (await next_frame(watcher, ("presence",)))["people"] == []


async def test_presence_is_refused_for_another_organisations_case_and_for_a_viewer_writing(db, live, org):
    base = live[0]
    people, cookies = org
    org_id = people["admin"].actor.org_id
    conv = await make_conversation(db, org_id, await make_channel(db, people["admin"]))
    other = await make_org(db, name="Annat AB")
    other_cookie, other_client = await session_cookie(base, other.email)
    async with open_socket(base, cookies["admin"]) as watcher, open_socket(base, other_cookie) as intruder, \
            open_socket(base, cookies["viewer"]) as viewer:
        for ws in (watcher, intruder, viewer):
            await next_frame(ws, ("hello",))
        await intruder.send(json.dumps({"type": "viewing", "conversation_id": conv}))
        assert (await next_frame(intruder, ("error",)))["message"] == "not allowed"
        await viewer.send(json.dumps({"type": "replying", "conversation_id": conv}))
        assert (await next_frame(viewer, ("error",)))["message"] == "not allowed"
        # the watcher's next presence frame is the viewer's allowed viewing, nothing before it
        await viewer.send(json.dumps({"type": "viewing", "conversation_id": conv}))
        frame = await next_frame(watcher, ("presence",))
        assert [p["user_id"] for p in frame["people"]] == [people["viewer"].actor.user_id]
    await other_client.aclose()


async def test_garbage_closes_only_that_socket(live, org):
    base, cookies = live[0], org[1]
    async with open_socket(base, cookies["admin"]) as good, open_socket(base, cookies["editor"]) as bad:
        await next_frame(good, ("hello",))
        await next_frame(bad, ("hello",))
        await bad.send("this is not json")
        with pytest.raises(ConnectionClosed) as closed:
            await next_frame(bad, ("never",))
        assert closed.value.rcvd.code == 1003
        async with open_socket(base, cookies["viewer"]) as binary:
            await next_frame(binary, ("hello",))
            await binary.send(b"\x00\x01")
            with pytest.raises(ConnectionClosed) as closed:
                await next_frame(binary, ("never",))
            assert closed.value.rcvd.code == 1003
        async with open_socket(base, cookies["viewer"]) as flood:
            await next_frame(flood, ("hello",))
            for _ in range(MESSAGE_BURST + 1):  # more at once than any tab sends
                await flood.send(json.dumps({"type": "ping"}))
            with pytest.raises(ConnectionClosed) as closed:
                await next_frame(flood, ("never",))
            assert closed.value.rcvd.code == 1008
        for _ in range(MESSAGE_BURST // 2):  # a busy but honest tab stays
            await good.send(json.dumps({"type": "ping"}))
        assert (await next_frame(good, ("heartbeat",)))["type"] == "heartbeat"


async def test_two_web_processes_share_events_and_presence(db, live, server, org):
    """The test `server` and this module's `live` app are two web processes, each with its own hub and bus."""
    base, other_process = live[0], server
    people, cookies = org
    org_id = people["admin"].actor.org_id
    conv = await make_conversation(db, org_id, await make_channel(db, people["admin"]))
    async with open_socket(base, cookies["admin"]) as here, open_socket(other_process, cookies["editor"]) as there:
        await next_frame(here, ("hello",))
        await next_frame(there, ("hello",))
        await there.send(json.dumps({"type": "viewing", "conversation_id": conv}))
        frame = await next_frame(here, ("presence",))
        assert [p["user_id"] for p in frame["people"]] == [people["editor"].actor.user_id]
        await make_conversation(db, org_id, await make_channel(db, people["admin"], name="Andra"), subject="Båda ser")
        latest = await last_seq(db, org_id)
        for ws in (here, there):
            assert "Båda ser" in "".join(f["html"] for f in await events_until(ws, latest))


async def test_a_reconnect_storm_renders_each_event_once(db, live, org):
    """Sockets replaying the same range at once (as after a restart) share one render per event and locale."""
    base, app = live
    people, cookies = org
    org_id = people["admin"].actor.org_id
    channel = await make_channel(db, people["admin"])
    page_seq = await last_seq(db, org_id)
    for n in range(3):
        await make_conversation(db, org_id, channel, subject=f"Under omstarten {n}")
    latest = await last_seq(db, org_id)
    hub, rendered = app.state.hub, []
    render = hub._render

    def counted(event, renders):  # the real render, noted
        rendered.extend((seq, locale) for _, seq, locale, _, _ in renders)
        return render(event, renders)

    hub._render = counted
    try:
        sockets = [open_socket(base, cookies[who], since=page_seq) for who in ("admin", "editor", "viewer") * 3]
        opened = await asyncio.gather(*(s.__aenter__() for s in sockets))
        for ws in opened:
            frames = await events_until(ws, latest)
            assert [f["seq"] for f in frames] == list(range(page_seq + 1, latest + 1))
        for s in sockets:
            await s.__aexit__(None, None, None)
    finally:
        hub._render = render
    assert sorted(rendered) == [(seq, "sv") for seq in range(page_seq + 1, latest + 1)]


async def test_under_a_plain_asgi_server_the_hub_sends_through_asgi(db, settings, org):
    """Without realtime/wire.py's protocol (uvicorn's own), frames go through ASGI's send: the same frames."""
    plain = dataclasses.replace(settings, web_port=free_port(), live_heartbeat_seconds=0.3)
    _, stop = await start_web(plain, ws="websockets-sansio")
    people, cookies = org
    org_id = people["admin"].actor.org_id
    try:
        async with open_socket(plain.base_url, cookies["editor"]) as ws:
            await next_frame(ws, ("hello",))
            await make_conversation(db, org_id, await make_channel(db, people["admin"]), subject="Via ASGI")
            latest = await last_seq(db, org_id)
            assert "Via ASGI" in "".join(f["html"] for f in await events_until(ws, latest))
            assert (await next_frame(ws, ("heartbeat",)))["seq"] == latest
    finally:
        await stop()


async def test_with_permessage_deflate_on_frames_are_compressed_per_socket_and_arrive(db, settings, org):
    """Off in app/serve.py (docs/realtime.md); turned on, a socket that negotiated it still gets every frame."""
    own = dataclasses.replace(settings, web_port=free_port(), live_heartbeat_seconds=0.3)
    _, stop = await start_web(own, ws_per_message_deflate=True)
    people, cookies = org
    org_id = people["admin"].actor.org_id
    try:
        async with connect(ws_url(own.base_url), origin=own.base_url, open_timeout=WAIT, compression="deflate",
                           additional_headers={"Cookie": f"{SESSION_COOKIE}={cookies['editor']}"}) as ws:
            assert ws.protocol.extensions, "permessage-deflate was negotiated"
            await next_frame(ws, ("hello",))
            await make_conversation(db, org_id, await make_channel(db, people["admin"]), subject="Komprimerat")
            latest = await last_seq(db, org_id)
            assert "Komprimerat" in "".join(f["html"] for f in await events_until(ws, latest))
    finally:
        await stop()
