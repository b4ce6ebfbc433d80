"""Commit to the queue row changing in Chromium: the live layer as a person sees it.

    .venv/bin/python -m bench.fanout --scenarios browser [--browser-changes 300]

An organisation of its own with one editor and 20 open cases; the editor logs in through the login
form in Debian's Chromium (Playwright, launched as tests/e2e/conftest.py launches it) and keeps the
dashboard open. Then, one change at a time, this process assigns a case to the editor or takes it
back through the domain (`conversations.assign`), notes the commit time, and waits until the row's
`data-assignee` shows it; a MutationObserver in the page notes when each row last changed
(`performance.timeOrigin + performance.now()`, the same wall clock). Latency: commit to that mutation
(htmx's swap; the paint follows within a frame).
"""
from __future__ import annotations

import time

from playwright.async_api import async_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

WATCH = """() => {
  window.__seen = {}; window.__marks = {};
  new MutationObserver(() => {
    const t = performance.timeOrigin + performance.now();
    document.querySelectorAll('.queue-row').forEach(r => {
      const state = r.dataset.assignee + '|' + r.textContent;
      if (window.__seen[r.id] !== state) { window.__seen[r.id] = state; window.__marks[r.id] = t; }
    });
  }).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
}"""


async def measure(url: str, _email: str, password: str, bench, changes: int) -> dict:
    """`changes` assignments, one after another; p50/p95/max from commit to the row changing on screen."""
    from app import accounts, channels, conversations
    from app.actors import System
    from devtools.test_tools import chromium

    db = bench.db
    org_id = await accounts.create_organization(db, "Webbläsaren AB")
    email = "editor@browser.bench"
    user_id = await accounts.create_user(db, email, "Anna Lind", password)
    await accounts.add_member(db, org_id, user_id, "editor")
    actor = (await accounts.load_session(db, await accounts.start_session(db, user_id))).actor
    admin_id = await accounts.create_user(db, "admin@browser.bench", "Lena Holm", password)
    await accounts.add_member(db, org_id, admin_id, "admin")
    admin = (await accounts.load_session(db, await accounts.start_session(db, admin_id))).actor
    channel = await channels.create_channel(db, admin, kind="mailbox", name="Kundtjänst", colour="green",
                                            address="kundtjanst@browser.bench")
    cases = [await conversations.open_conversation(
        db, System(org_id), channel_id=channel, subject=f"Fel storlek på tröjan, order {i}",
        body="Hej! Tröjan var för liten.", customer_name="Karin Berg", customer_email=f"karin{i}@kund.example")
        for i in range(20)]

    latencies: list[float] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium(), args=ARGS)
        try:
            page = await (await browser.new_context(base_url=url, locale="sv-SE")).new_page()
            await page.goto("/login")
            await page.fill("input[name=email]", email)
            await page.fill("input[name=password]", password)
            await page.click("form button[type=submit]")
            await page.wait_for_selector("#live-state[data-state=live]", timeout=30_000)
            await page.evaluate(WATCH)
            for i in range(changes):
                case = cases[i % len(cases)]
                assignee = user_id if (i // len(cases)) % 2 == 0 else None
                bench.commits.clear()
                await conversations.assign(db, actor, case, assignee)
                committed_ms = max(bench.commits.values()) / 1e6
                await page.wait_for_function(
                    "([id, want]) => { const r = document.getElementById(id); return r && r.dataset.assignee === want }",
                    arg=[f"conversation-{case}", str(assignee or "")], timeout=30_000)
                changed_ms = await page.evaluate("id => window.__marks[id]", f"conversation-{case}")
                latencies.append(changed_ms - committed_ms)
        finally:
            await browser.close()
    latencies.sort()

    def at(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q / 100 * len(latencies)))], 1)

    return {"changes": len(latencies), "p50_ms": at(50), "p95_ms": at(95), "max_ms": round(latencies[-1], 1),
            "measured_at": time.strftime("%Y-%m-%d %H:%M")}
