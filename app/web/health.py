"""/healthz: is PostgreSQL reachable, is Redis reachable."""
from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse


async def _check(coro) -> str:
    try:
        await asyncio.wait_for(coro, timeout=2)
        return "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return f"unreachable: {type(exc).__name__}"


async def healthz(request: Request) -> JSONResponse:
    state = request.app.state

    async def ping_postgres():
        async with state.db.transaction(None, readonly=True) as tx:
            await tx.fetchval("SELECT 1")

    report = {"postgres": await _check(ping_postgres()), "redis": await _check(state.redis.ping())}
    healthy = all(v == "ok" for v in report.values())
    return JSONResponse({"status": "ok" if healthy else "degraded", **report}, status_code=200 if healthy else 503)
