"""A local stand-in for the outgoing relay, for `make run`: every mail sent to it is saved, not delivered.

    python -m devtools.mailcatcher --port 2526 --dir var/outbox

Replies that editors send in the demo land here as .eml files (one line per mail is printed),
so trying the product never mails a real customer.
"""
from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from aiosmtpd.smtp import SMTP


class Catcher:
    def __init__(self, folder: Path):
        self.folder, self.count = folder, 0

    async def handle_DATA(self, server, session, envelope) -> str:
        self.count += 1
        path = self.folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{self.count:04d}.eml"
        path.write_bytes(envelope.original_content or b"")
        print(f"mail to {', '.join(envelope.rcpt_tos)} saved in {path}", flush=True)
        return "250 2.0.0 OK: caught"


async def serve(host: str, port: int, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    handler = Catcher(folder)
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(handler, hostname="mailcatcher"), host, port)
    print(f"outgoing mail is caught on {host}:{port} and saved in {folder}/", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.mailcatcher")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2526)
    parser.add_argument("--dir", type=Path, default=Path("var/outbox"))
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.host, args.port, args.dir))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
