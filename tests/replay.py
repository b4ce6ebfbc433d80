"""Replay == fresh: a page rendered before some events, plus the fragments pushed for them,
must equal the page rendered after them. Reused by every issue that adds an event kind.

`apply_push` does what htmx does with out-of-band elements (hx-swap-oob), on an lxml tree, and
what static/live.js does with a pushed dashboard row (keep, place or drop it by the list's filter).
"""
from __future__ import annotations

import copy
import difflib
import re

import httpx
import lxml.html
from lxml.html import HtmlElement

from app.db import events_after, last_seq
from realtime.fragments import ADMINS, EDITORS, MEMBERS, render_event, user

OOB = "hx-swap-oob"


def _by_id(root: HtmlElement, element_id: str) -> HtmlElement | None:
    found = root.xpath("//*[@id=$id]", id=element_id)
    return found[0] if found else None


def _replace(target: HtmlElement, new: HtmlElement) -> None:
    new.tail = target.tail
    target.getparent().replace(target, new)


def _matches(row: HtmlElement, spec: str) -> bool:
    for term in spec.split():
        name, negated, value = re.match(r"^([\w-]+)(!?)=(.*)$", term).groups()
        if (row.get(f"data-{name}") == value) == bool(negated):
            return False
    return True


def _place_row(root: HtmlElement, row: HtmlElement) -> None:
    """What static/live.js does with a pushed dashboard row: replace, place by the list's order, or drop."""
    old, rows = _by_id(root, row.get("id")), _by_id(root, "queue-rows")
    if old is not None:
        old.drop_tree()
    if rows is None or not _matches(row, rows.get("data-match")):
        return

    def key(li: HtmlElement) -> tuple[int, int]:
        return int(li.get(f"data-{rows.get('data-sort')}") or 0), int(li.get("id").split("-")[1])

    newest = rows.get("data-order") == "newest"
    loaded = [li for li in rows if "queue-row" in li.get("class", "").split()]
    later = [li for li in loaded if (key(row) > key(li) if newest else key(row) < key(li))]
    if later:
        later[0].addprevious(row)
    elif _by_id(root, "queue-more") is None:
        rows.append(row)


def apply_push(page_html: str, push_html: str) -> str:
    root = lxml.html.document_fromstring(page_html)
    for element in lxml.html.fragments_fromstring(f"<div>{push_html}</div>")[0]:
        swap = element.attrib.pop(OOB, None)
        if swap is None:
            raise AssertionError(f"pushed element without {OOB}: {lxml.html.tostring(element)[:200]!r}")
        if "queue-row" in element.get("class", "").split():
            _place_row(root, element)
            continue
        strategy, _, selector = swap.partition(":")
        assert not selector or selector.startswith("#"), f"only #id targets are used, got {selector!r}"
        target = _by_id(root, selector[1:] if selector else element.get("id"))
        if target is None:
            continue  # htmx ignores an out-of-band swap whose target is not on this page
        if strategy in ("true", "outerHTML"):
            _replace(target, element)
        elif strategy == "delete":
            target.drop_tree()
        elif strategy == "afterbegin":
            for i, child in enumerate(list(element)):
                target.insert(i, child)
        elif strategy == "beforeend":
            for child in list(element):
                target.append(child)
        elif strategy == "innerHTML":
            target[:] = list(element)
        else:
            raise AssertionError(f"unsupported swap strategy {strategy!r}")
    return lxml.html.tostring(root, encoding="unicode")


def normalised(html: str, region: str = "main") -> str:
    """The region's markup with insignificant whitespace removed, for comparing two renders."""
    root = lxml.html.document_fromstring(html)
    node = copy.deepcopy(root.xpath(f"//{region}")[0])
    for el in node.iter():
        if el.text is not None and not el.text.strip():
            el.text = None
        if el.tail is not None and not el.tail.strip():
            el.tail = None
        for name in sorted(el.attrib):
            value = el.attrib.pop(name)
            el.attrib[name] = " ".join(value.split())
    return lxml.html.tostring(node, encoding="unicode")


# What each kind of viewer's socket receives: every member (here a viewer) the members' pieces, admins all.
AUDIENCES = {"member": {MEMBERS}, "admin": {MEMBERS, EDITORS, ADMINS}}
# Compared: the whole body, so the header's per-person parts (the notification count) are proven too.
REGION = "body"


def own_audience(page_html: str) -> set[str]:
    """The person's own audience (their notification count and list), from the page they were shown."""
    user_id = lxml.html.document_fromstring(page_html).body.get("data-user-id")
    return {user(int(user_id))} if user_id else set()


async def pushed_since(db, org_id: int, seq: int, locale: str = "sv", time_zone: str = "Europe/Stockholm",
                       audience: set[str] | None = None) -> tuple[str, list[str]]:
    """Every fragment pushed to `audience` for the events after `seq`, in order, and the kinds seen."""
    html, kinds = [], []
    for event in await events_after(db, org_id, seq):
        kinds.append(event["kind"])
        for piece in await render_event(db, event, locale, time_zone):
            if audience is None or piece.audience in audience:
                html.append(piece.html)
    return "".join(html), kinds


def _diff(fresh: str, replayed: str) -> str:
    return "\n".join(difflib.unified_diff(fresh.replace(">", ">\n").splitlines(),
                                          replayed.replace(">", ">\n").splitlines(), "fresh", "replayed", lineterm=""))


async def assert_replay_equals_fresh(db, clients: dict[str, httpx.AsyncClient], org_id: int, path: str, change, *,
                                     expect_kinds: set[str]) -> None:
    """Render `path` for each audience, run `change()`, and for each: old page + its pushes == fresh page.

    `clients` maps "member" and "admin" to logged-in clients of the organisation. A page a member
    cannot open must not be touched by what members are sent (no admin-only content goes to all).
    """
    seq = await last_seq(db, org_id)
    before = {who: await c.get(path) for who, c in clients.items()}
    await change()
    after = {who: await c.get(path) for who, c in clients.items()}
    seen = [who for who in clients if before[who].status_code == 200]
    assert seen, f"no one could open {path}"
    for who in clients:
        # a client's socket also gets its own person's pieces, on its own pages
        own = own_audience(before[who].text) if who in seen else set()
        pushed, kinds = await pushed_since(db, org_id, seq, audience=AUDIENCES[who] | own)
        assert expect_kinds <= set(kinds), f"expected events {expect_kinds}, saw {kinds}"
        if who in seen:
            replayed = normalised(apply_push(before[who].text, pushed), REGION)
            fresh = normalised(after[who].text, REGION)
            assert replayed == fresh, f"{who}: replay differs from a fresh render:\n" + _diff(fresh, replayed)
        else:
            page = normalised(before[seen[-1]].text, REGION)
            touched = normalised(apply_push(before[seen[-1]].text, pushed), REGION)
            assert touched == page, (
                f"pieces sent to every {who} change {path}, which a {who} cannot open:\n" + _diff(page, touched))
    assert any(normalised(before[w].text, REGION) != normalised(after[w].text, REGION) for w in seen), \
        "the change should be visible on this page"
