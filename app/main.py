"""create_app(): the route table, middleware and lifespan (database pool, Redis)."""
from __future__ import annotations

import contextlib
import logging

import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from app import logs
from app.config import Settings
from app.db import Database, StartupError
from app.templating import TEMPLATES_DIR
from app.web import (account, admin, auth, barometer, canned, composer, conversation, dashboard, forum, forum_editing,
                     forum_embed, forum_moves, health, live, mail, notifications, search, stats, visitor)
from app.web.base import EXCEPTION_HANDLERS, http_error
from app.web.middleware import RequestContext, SessionAndCsrf
from realtime.hub import Hub

log = logging.getLogger(__name__)
STATIC_DIR = TEMPLATES_DIR.parent / "static"


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        logs.configure()
        if not settings.secret_key:
            raise StartupError("SECRET_KEY is not set; sessions and links are signed with it (make run sets one)")
        # Short timeouts: a stalled Redis must delay liveness, never hang a request.
        redis = aioredis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1)
        db = await Database.connect(settings, redis)
        app.state.db, app.state.redis = db, redis
        app.state.hub = Hub(db, settings.redis_url, heartbeat_seconds=settings.live_heartbeat_seconds)  # live
        await app.state.hub.start()
        log.info("started", extra={"url": settings.base_url})
        try:
            yield
        finally:
            await app.state.hub.stop()
            await db.close()
            await redis.aclose()

    routes = [
        *dashboard.routes,
        *conversation.routes,
        *canned.routes,
        *auth.routes,
        *account.routes,
        *mail.routes,
        *search.routes,
        *notifications.routes,
        *composer.routes,
        *forum_embed.routes,  # before the forum's own: /forum/{slug}/embed (issue 8)
        *forum.routes,  # the public forum (issue 8)
        *forum_moves.routes,  # forum moves (issue 8)
        *visitor.routes,  # visitors' confirmation and unsubscribe links (issue 8)
        *barometer.routes,  # the customer barometer (issue 10)
        *forum_editing.routes,  # the forum's editor workflow (issue 8)
        *stats.routes,  # statistics (issue 10)
        Mount("/admin", routes=admin.routes),
        Route("/healthz", health.healthz),
        WebSocketRoute("/ws", live.endpoint),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(RequestContext), Middleware(SessionAndCsrf)],
        exception_handlers={**EXCEPTION_HANDLERS, HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app
