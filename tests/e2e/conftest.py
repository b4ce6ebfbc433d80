"""A real headless Chromium (Debian's package) driven by Playwright, against the test server."""
from __future__ import annotations

import pytest
from playwright.async_api import async_playwright

from devtools.test_tools import chromium

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
async def browser():
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium(), args=ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser, server):
    context = await browser.new_context(base_url=server, locale="sv-SE")
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 404 else None)
    page.problems = problems
    yield page
    await context.close()
