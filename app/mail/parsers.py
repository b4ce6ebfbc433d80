"""Mail parsing in child processes, so that a mail which makes the parser spin can be stopped.

Python cannot stop a thread. A parse that overran its time in one kept running after the job gave up
on it, and a handful of such mails (one sender could send them) took every thread of the executor,
so that every later mail timed out and was set aside too. A child process that overruns is killed
and replaced; one that answers is kept for the next mail. Children are forked from a server that
has the parser imported already, so a new one starts in milliseconds.
"""
from __future__ import annotations

import asyncio
import multiprocessing
from multiprocessing.connection import Connection

from app.mail import parse

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(["app.mail.parse"])
KEPT = 4  # idle children kept between mails: as many as a worker parses at once (WORKER_SLOTS)


class ParseFailed(Exception):
    """The parser raised; the message is its words."""


def _serve(conn: Connection) -> None:
    """A child's life: parse each mail it is sent and send back the result or the parser's words."""
    while True:
        try:
            raw = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            answer = (True, parse.parse(raw))
        except Exception as exc:  # noqa: BLE001 - whatever the parser chokes on is told, as it would be inline
            answer = (False, str(exc) or type(exc).__name__)
        conn.send(answer)


class _Child:
    def __init__(self):
        self.conn, theirs = _context.Pipe()
        self.process = _context.Process(target=_serve, args=(theirs,), daemon=True, name="mail-parser")
        self.process.start()
        theirs.close()

    def ask(self, raw: bytes, timeout: float) -> tuple[bool, object]:
        """In a thread: the child's answer, or TimeoutError once `timeout` seconds have passed without one."""
        self.conn.send_bytes(raw)
        if not self.conn.poll(timeout):
            raise TimeoutError()
        return self.conn.recv()

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()


_idle: list[_Child] = []


async def parse_within(raw: bytes, timeout: float) -> parse.ParsedMail:
    """`parse.parse(raw)` in a child process: TimeoutError past `timeout` seconds (the child is killed),
    ParseFailed when the parser raises."""
    loop = asyncio.get_running_loop()
    child = _idle.pop() if _idle else await loop.run_in_executor(None, _Child)
    try:
        ok, result = await loop.run_in_executor(None, child.ask, raw, timeout)
    except BaseException:
        child.kill()  # overran, died, or its job was cancelled mid-answer: never asked again
        raise
    if len(_idle) < KEPT:
        _idle.append(child)
    else:
        child.kill()
    if not ok:
        raise ParseFailed(result)
    return result
