"""The web process, `python -m app.serve`: uvicorn with the options the tests and benchmarks use too."""
from __future__ import annotations

import gc
import sys

import uvicorn

from app import logs
from app.config import Settings
from app.main import create_app
from app.web.middleware import proxy_networks
from realtime.wire import LiveProtocol


def uvicorn_config(app, settings: Settings, **overrides) -> uvicorn.Config:
    """uvicorn's options for the web process; ValueError names a malformed TRUSTED_PROXIES."""
    try:
        proxy_networks(settings.trusted_proxies)
    except ValueError as exc:
        raise ValueError(f"TRUSTED_PROXIES: {exc}") from exc
    options = {
        "host": settings.web_host,
        "port": settings.web_port,
        # uvicorn would believe X-Forwarded-For from 127.0.0.1; the app reads it from TRUSTED_PROXIES only
        "proxy_headers": False,
        "access_log": False,  # RequestContext writes one line per request, with the request id
        "log_config": None,  # logs.configure() owns logging
        "lifespan": "on",
        # Browsers offer permessage-deflate; accepting it doubles CPU and adds ~200 KB per socket for
        # pieces of a few KB (../shared/peer-bench/README.md), so /ws sends them uncompressed.
        "ws_per_message_deflate": False,
        # uvicorn's websockets-sansio protocol, plus frames built once and written straight to each socket
        "ws": LiveProtocol,
    }
    return uvicorn.Config(app, **{**options, **overrides})


def run(config: uvicorn.Config) -> None:
    """Serve until stopped."""
    # What start-up made (modules, templates' code, locale data) lives as long as the process: out of every
    # full collection, which took ~100 ms over it here, a pause every open socket would wait through.
    gc.freeze()
    uvicorn.Server(config).run()


def main() -> int:
    settings = Settings.from_env()
    logs.configure()
    try:
        config = uvicorn_config(create_app(settings), settings)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    run(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
