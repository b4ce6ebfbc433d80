"""The search page: GET /search?q=… over the organisation's conversations."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import search as search_domain
from app.web.base import actor_of, login_required, page

MAX_QUERY = 500


@login_required
async def results(request: Request) -> Response:
    text = request.query_params.get("q", "").strip()[:MAX_QUERY]
    rows = await search_domain.search(request.app.state.db, actor_of(request), text) if text else []
    return page(request, "pages/search.html", q=text, rows=rows)


routes = [
    Route("/search", results),
]
