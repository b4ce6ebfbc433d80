from collections import Counter
from datetime import datetime, timedelta, timezone

from app.demo_content import DEMO_TAG_GROUPS, EDITORS, demo_conversations

NOW = datetime(2025, 11, 24, 10, 30, tzinfo=timezone.utc)  # a Monday morning
# A few other moments (weekday, weekend, night, summer time) for the invariants.
OTHER_NOWS = (
    datetime(2025, 6, 14, 21, 5, 33, tzinfo=timezone.utc),
    datetime(2025, 3, 30, 0, 45, tzinfo=timezone.utc),
    datetime(2026, 1, 2, 6, 0, tzinfo=timezone.utc),
)
STATUSES = {"info": {"open", "waiting", "closed"},
            "sv_forum": {"open", "archived"},
            "no_forum": {"open", "archived"}}
ALL_TAGS = {tag for tags in DEMO_TAG_GROUPS.values() for tag in tags}


def _all_runs():
    yield NOW, demo_conversations(NOW)
    for seed, now in enumerate(OTHER_NOWS, start=1):
        yield now, demo_conversations(now, count=300, seed=seed)


def test_deterministic_for_equal_inputs_and_different_for_other_seed():
    assert demo_conversations(NOW, 120, 3) == demo_conversations(NOW, 120, 3)
    assert demo_conversations(NOW, 120, 3) != demo_conversations(NOW, 120, 4)


def test_count_is_honoured_and_sorted():
    assert demo_conversations(NOW, count=0) == []
    assert len(demo_conversations(NOW, count=5)) == 5
    convs = demo_conversations(NOW)
    assert len(convs) == 300
    assert [c.started_at for c in convs] == sorted(c.started_at for c in convs)


def test_times_within_last_90_days_and_never_after_now():
    for now, convs in _all_runs():
        for c in convs:
            assert c.started_at.utcoffset() == timedelta(0)
            assert now - timedelta(days=90) < c.started_at <= now
            for m in c.messages:
                assert c.started_at + timedelta(minutes=m.minutes_after_start) <= now


def test_message_offsets_start_at_zero_and_strictly_increase():
    for _, convs in _all_runs():
        for c in convs:
            offsets = [m.minutes_after_start for m in c.messages]
            assert offsets and offsets[0] == 0
            assert all(a < b for a, b in zip(offsets, offsets[1:], strict=False)), offsets


def test_fields_are_valid_per_channel():
    for _, convs in _all_runs():
        for c in convs:
            assert c.status in STATUSES[c.channel]
            assert c.assignee in (None, *EDITORS)
            assert len(c.tags) <= 2 and set(c.tags) <= ALL_TAGS
            assert len(set(c.tags)) == len(c.tags)
            assert c.subject and c.customer_name and "@" in c.customer_email
            if c.channel == "info":
                assert c.visitor is None
            else:
                assert set(c.visitor) == {"browser", "os", "page"}
                assert c.visitor["page"].startswith("https://demo.samsyn.se/")
            first = c.messages[0]
            assert (first.author, first.kind) == ("customer", "customer")
            for m in c.messages:
                assert m.kind in {"customer", "editor", "note", "comment"}
                assert m.text.strip() and "{" not in m.text and "}" not in m.text
                if m.kind in ("editor", "note"):
                    assert m.author in EDITORS
                elif m.kind == "customer":
                    assert m.author == "customer"
                else:
                    assert c.channel != "info" and m.author in ("customer", *EDITORS)


def test_no_reply_needed_only_after_customer_message():
    flagged = 0
    for _, convs in _all_runs():
        for c in convs:
            if c.no_reply_needed:
                flagged += 1
                assert c.messages[-1].author == "customer"
    assert flagged > 0


def test_waiting_means_editor_spoke_last():
    for _, convs in _all_runs():
        for c in convs:
            public = [m for m in c.messages if m.kind != "note"]
            if c.status == "waiting":
                assert public[-1].author in EDITORS
            if c.status == "open" and c.channel == "info":
                assert public[-1].author == "customer"


def test_channel_and_language_mix():
    convs = demo_conversations(NOW)
    channels = Counter(c.channel for c in convs)
    assert 110 <= channels["info"] <= 190
    assert 70 <= channels["sv_forum"] <= 140
    assert 20 <= channels["no_forum"] <= 75
    langs = {ch: Counter(c.language for c in convs if c.channel == ch) for ch in channels}
    assert set(langs["info"]) == {"sv", "en"}
    assert 0.65 <= langs["info"]["sv"] / channels["info"] <= 0.92
    assert set(langs["sv_forum"]) <= {"sv", "en"}
    assert langs["sv_forum"]["sv"] / channels["sv_forum"] >= 0.8
    assert set(langs["no_forum"]) <= {"no", "en"}
    assert langs["no_forum"]["no"] / channels["no_forum"] >= 0.75


def test_a_realistic_queue_is_open():
    for _, convs in _all_runs():
        statuses = Counter(c.status for c in convs)
        assert 40 <= statuses["open"] <= 120, statuses
        assert statuses["closed"] > statuses["open"]
        assert statuses["archived"] > 0
    convs = demo_conversations(NOW)
    unanswered = [c for c in convs if c.status == "open" and len(c.messages) == 1]
    assert len(unanswered) >= 15
    assert any(c.status == "waiting" for c in convs)
    assert any(m.kind == "note" for c in convs for m in c.messages)
    assert any(len(c.messages) >= 5 for c in convs)


def test_texts_use_the_right_alphabet():
    convs = demo_conversations(NOW)
    sv = " ".join(m.text for c in convs if c.language == "sv" for m in c.messages)
    no = " ".join(m.text for c in convs if c.language == "no" for m in c.messages)
    assert all(ch in sv for ch in "åäö")
    assert any(ch in no for ch in "æø")
    # Every Swedish conversation of some length should look Swedish, not ASCII-only.
    for c in convs:
        if c.language == "sv" and sum(len(m.text) for m in c.messages) > 200:
            assert any(ch in m.text for m in c.messages for ch in "åäöÅÄÖ"), c.subject


def test_customers_are_sometimes_reused():
    convs = demo_conversations(NOW)
    per_email = Counter(c.customer_email for c in convs)
    assert len(per_email) > 200
    assert any(n > 1 for n in per_email.values())
