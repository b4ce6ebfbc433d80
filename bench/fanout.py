"""Fan-out: N logged-in dashboard sockets of one organisation, events through the real write path, and the
peers of ../shared/peer-bench at the same socket count and rate in the same run.

    .venv/bin/python -m bench.fanout                       # everything, full size (under 5 minutes)
    .venv/bin/python -m bench.fanout --quick               # every scenario small (about 3 minutes)
    .venv/bin/python -m bench.fanout --scenarios one --sockets 300 --duration 5 --peers naive_starlette

Starts its own PostgreSQL and Redis (as the tests do), one organisation with 20 members (one admin, four
of them reading in English), each logged in through the real `/login`. Web processes are the product's
(`app.serve`'s uvicorn config, pinned with taskset to core 0); the sockets live in a load-generator
process pinned to core 1, each opened as the dashboard opens it (`GET /` for the page's seq, then
`/ws?since=<seq>` with the session cookie and Origin, docs/realtime.md). This process injects events
through the domain (`conversations.assign`: a queue row and the views' counts, ~1.4 KB a frame to a dashboard;
the case page's own pieces go only to sockets showing that case, and none here does) and notes each event's commit time (the transaction helper's after-commit publish). Latency is from
commit to the frame's arrival at each socket; loss and duplicates are counted per socket against the
seqs injected.

Scenarios (`--scenarios`, comma-separated):
  one    --sockets (1,000) x --rate (50/s) on one web process; the peers at the same count, rate and size
  two    --sockets2 (3,000) x --rate2 (10/s) over two web processes (both on core 0); the peers likewise
  idle   memory per idle socket, permessage-deflate off and on (clients offer it, as browsers do)
  storm  a restart: the web process stops, --storm-events events commit, it starts again and
         --storm-sockets sockets reconnect at once with the seq they had, with the render cache and without
  browser  commit to the queue row changing in Chromium (bench/browser_latency.py), p95

Figures are contended when others share the machine: compare Samsyn with the peers of the same run.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import importlib.util
import json
import os
import re
import resource
import signal
import subprocess
import sys
import time
from array import array
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PEER_BENCH = ROOT.parent / "shared" / "peer-bench"
PASSWORD = "samsyn-bench-password"
MEMBERS = 20
ENGLISH_EVERY = 5  # one member in five reads in English: two renders per event
SEQ = re.compile(r'name="samsyn-seq" content="(\d+)"')
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def pct(values, p: float):
    if not values:
        return None
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def raise_fd_limit(n: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n)), hard))


# --- the load generator: its own process, pinned to its own core ----------------------------------------

EVENT = b'{"type":"event","seq":'
HELLO = b'{"type":"hello"'


class Socket(asyncio.Protocol):
    """A minimal RFC 6455 client on asyncio.Protocol (after peer-bench's loadgen): records (seq, arrival)."""

    def __init__(self, path: str, host: str, cookie: str, origin: str, deflate: bool):
        self.buf, self.upgraded, self.closed = bytearray(), False, False
        self.hello = asyncio.get_running_loop().create_future()
        self.seqs, self.times = array("q"), array("q")
        self.events_before_hello = 0
        extension = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if deflate else ""
        self.request = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
                        f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\nCookie: samsyn_session={cookie}\r\n"
                        f"{extension}\r\n").encode()

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc):
        self.closed = True
        if not self.hello.done():
            self.hello.set_exception(ConnectionError(f"closed before hello: {exc!r}"))

    def send(self, opcode: int, payload: bytes) -> None:  # client frames are masked; ours are < 126 bytes
        mask = os.urandom(4)
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask
                             + bytes(b ^ mask[i & 3] for i, b in enumerate(payload)))

    def data_received(self, data: bytes) -> None:
        now = time.time_ns()
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.hello.set_exception(ConnectionError(bytes(buf[:60]).decode(errors="replace")))
                self.transport.close()
                return
            del buf[:end + 4]
            self.upgraded = True
        pos, n = 0, len(buf)
        while n - pos >= 2:
            b0, ln, hdr = buf[pos], buf[pos + 1] & 0x7F, 2
            if ln == 126:
                if n - pos < 4:
                    break
                ln, hdr = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
            elif ln == 127:
                if n - pos < 10:
                    break
                ln, hdr = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
            if n - pos < hdr + ln:
                break
            start, pos = pos + hdr, pos + hdr + ln
            op = b0 & 0x0F
            if op == 0x9:
                self.send(0xA, bytes(buf[start:pos]))
            elif op == 0x8:
                self.transport.close()
                break
            elif op == 0x1 and not b0 & 0x40:  # an uncompressed text frame
                if buf.startswith(EVENT, start):
                    i = start + len(EVENT)
                    self.seqs.append(int(buf[i:buf.find(b",", i, pos)]))
                    self.times.append(now)
                    if not self.hello.done():
                        self.events_before_hello += 1
                elif buf.startswith(HELLO, start) and not self.hello.done():
                    self.hello.set_result(now)
            elif op == 0x1 and not self.hello.done() and self.upgraded:
                self.hello.set_result(now)  # compressed (deflate runs): the first frame after replay is hello
        del buf[:pos]


class Clients:
    """The sockets of one run; commands come as JSON lines on stdin, answers go to stdout."""

    def __init__(self, a):
        self.a, self.sockets = a, []
        self.sessions = json.loads(Path(a.sessions).read_text())  # [[cookie, since], ...]
        self.urls = a.urls.split(",")

    async def connect(self, since: int | None = None) -> dict:
        loop, sem, failed, errors = asyncio.get_running_loop(), asyncio.Semaphore(100), 0, []
        started = time.monotonic()

        async def one(i: int):
            nonlocal failed
            url = self.urls[i % len(self.urls)]
            host = url.split("//", 1)[1]
            cookie, page_seq = self.sessions[i % len(self.sessions)]
            path = f"/ws?since={page_seq if since is None else since}"
            async with sem:
                try:
                    _, sock = await loop.create_connection(
                        lambda: Socket(path, host, cookie, url, self.a.deflate), *host.split(":"))
                    self.sockets.append(sock)
                    await asyncio.wait_for(asyncio.shield(sock.hello), 120)
                except Exception as exc:  # noqa: BLE001 - counted and reported, never fatal
                    failed += 1
                    errors.append(repr(exc)[:200])

        await asyncio.gather(*(one(i) for i in range(self.a.sockets)))
        hello_times = sorted(s.hello.result() for s in self.sockets
                             if s.hello.done() and not s.hello.cancelled() and not s.hello.exception())
        return {"connected": len(hello_times), "failed": failed, "errors": errors[:3],
                "connect_s": round(time.monotonic() - started, 2), "last_hello_ns": hello_times[-1] if hello_times else 0,
                "replayed_frames": sum(s.events_before_hello for s in self.sockets)}

    def report(self, commits: dict[int, int]) -> dict:
        wanted = set(commits)
        lat, lost, dups, closed = array("q"), 0, 0, 0
        for s in self.sockets:
            closed += s.closed
            first: dict[int, int] = {}
            for seq, at in zip(s.seqs, s.times, strict=True):
                if seq in wanted:
                    if seq in first:
                        dups += 1
                    else:
                        first[seq] = at
            lost += len(wanted) - len(first)
            lat.extend(at - commits[seq] for seq, at in first.items())
        lat = sorted(lat)
        ms = lambda v: None if v is None else round(v / 1e6, 2)  # noqa: E731
        return {"delivered": len(lat), "expected": len(wanted) * len(self.sockets), "lost": lost, "dups": dups,
                "closed_early": closed, "p50_ms": ms(pct(lat, 50)), "p95_ms": ms(pct(lat, 95)),
                "p99_ms": ms(pct(lat, 99)), "max_ms": ms(lat[-1] if lat else None)}

    async def serve(self) -> None:
        reader = asyncio.StreamReader()
        await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        out = lambda d: print(json.dumps(d), flush=True)  # noqa: E731
        out(await self.connect())
        cpu0 = time.process_time()
        t0 = time.monotonic()
        while line := await reader.readline():
            cmd = json.loads(line)
            if cmd["cmd"] == "mark":  # the measured window starts
                cpu0, t0 = time.process_time(), time.monotonic()
                for s in self.sockets:
                    del s.seqs[:], s.times[:]
                out({})
            elif cmd["cmd"] == "count":
                out({"received": sum(len(s.seqs) for s in self.sockets)})
            elif cmd["cmd"] == "report":
                cpu = (time.process_time() - cpu0) / (time.monotonic() - t0) * 100
                out({**self.report({int(k): v for k, v in cmd["commits"].items()}), "loadgen_cpu_pct": round(cpu, 1)})
            elif cmd["cmd"] == "drop":  # the server went away; wait until every socket saw it
                for _ in range(300):
                    if all(s.closed for s in self.sockets):
                        break
                    await asyncio.sleep(0.1)
                self.sockets = []
                out({})
            elif cmd["cmd"] == "reconnect":  # all at once, from the seq they had
                result = await self.connect(cmd["since"])
                out({**result, **self.report({int(k): v for k, v in cmd["commits"].items()})})
            elif cmd["cmd"] == "close":
                for s in self.sockets:
                    s.transport.close()
                out({})
                return


def clients_main(a) -> None:
    import uvloop

    raise_fd_limit(a.sockets + 1024)
    uvloop.run(Clients(a).serve())


class ClientsProcess:
    """The load generator as seen from the orchestrator: one JSON line per command."""

    def __init__(self, urls: list[str], sessions: list, sockets: int, work: Path, deflate: bool = False):
        path = work / "sessions.json"
        path.write_text(json.dumps(sessions))
        self.proc = subprocess.Popen(
            ["taskset", "-c", "1", sys.executable, "-m", "bench.fanout", "--clients", "--urls", ",".join(urls),
             "--sessions", str(path), "--sockets", str(sockets), *(["--deflate"] if deflate else [])],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    async def answer(self) -> dict:
        line = await asyncio.to_thread(self.proc.stdout.readline)
        if not line:
            raise RuntimeError("the load generator stopped")
        return json.loads(line)

    async def ask(self, cmd: str, **fields) -> dict:
        self.proc.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
        self.proc.stdin.flush()
        return await self.answer()

    async def close(self) -> None:
        if self.proc.poll() is None:
            await self.ask("close")
            self.proc.wait(30)


# --- web processes ---------------------------------------------------------------------------------------

def web_main(a) -> None:
    """One web process as the Procfile runs it (app.serve's uvicorn config), with the bench's switches."""
    import uvicorn

    from app import logs
    from app.config import Settings
    from app.main import create_app
    from app import serve

    if a.no_render_cache:  # for the comparison in the storm scenario only
        from realtime.hub import Hub
        Hub.__init__.__kwdefaults__["cached_renders"] = 0
    settings = Settings.from_env()
    logs.configure()
    raise_fd_limit(20000)
    config = serve.uvicorn_config(create_app(settings), settings, ws_per_message_deflate=a.deflate, log_level="warning")
    if os.environ.get("FANOUT_PROFILE"):  # a profile of the web process, for looking into it
        import cProfile
        server, profile = uvicorn.Server(config), cProfile.Profile()
        signal.signal(signal.SIGTERM, lambda *_: (profile.dump_stats(os.environ["FANOUT_PROFILE"]), os._exit(0)))
        server.capture_signals = contextlib.nullcontext
        profile.runcall(server.run)
    else:
        serve.run(config)


class Web:
    def __init__(self, env: dict, port: int, cores: str, work: Path, deflate: bool = False, cache: bool = True):
        self.port, self.url, self.rss_max = port, f"http://127.0.0.1:{port}", 0
        self.log = work / f"web-{port}.log"
        self.proc = subprocess.Popen(
            ["taskset", "-c", cores, sys.executable, "-m", "bench.fanout", "--web", *(["--deflate"] if deflate else []),
             *([] if cache else ["--no-render-cache"])],
            cwd=ROOT, env={**env, "WEB_PORT": str(port)}, stdout=self.log.open("ab"), stderr=subprocess.STDOUT)

    async def ready(self) -> None:
        async with httpx.AsyncClient() as http:
            for _ in range(900):  # up to 90 s: a loaded machine starts slowly
                try:
                    if (await http.get(self.url + "/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if self.proc.poll() is not None:
                    break
                await asyncio.sleep(0.1)
        raise RuntimeError(f"web process did not start: {self.log.read_text()[-2000:]}")

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def rss(self) -> int:
        return rss_bytes(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --- the orchestrator ------------------------------------------------------------------------------------

class Bench:
    def __init__(self, a, work: Path):
        self.a, self.work, self.results = a, work, {}
        self.commits: dict[int, int] = {}
        self.next_conversation = 0

    async def setup(self, settings) -> None:
        from app import accounts, channels, conversations
        from app.actors import System
        from app.db import Database

        commits = self.commits

        class Timed(Database):
            async def publish(self, events):  # called right after COMMIT: that is the moment latency counts from
                now = time.time_ns()
                for event in events:
                    commits[event["seq"]] = now
                await super().publish(events)

        import redis.asyncio as aioredis
        self.redis = aioredis.from_url(settings.redis_url)
        base = await Database.connect(settings, self.redis)
        self.db = Timed(base.pool, self.redis)
        self.org_id = await accounts.create_organization(self.db, "Fan-out AB")
        self.people = []
        for i in range(MEMBERS):
            email = f"member{i}@fanout.bench"
            locale = "en" if i % ENGLISH_EVERY == ENGLISH_EVERY - 1 else "sv"
            user_id = await accounts.create_user(self.db, email, f"Medlem {i}", PASSWORD, locale=locale)
            await accounts.add_member(self.db, self.org_id, user_id, "admin" if i == 0 else "editor")
            self.people.append(email)
        admin_session = await accounts.start_session(self.db, await accounts.account_id(self.db, self.people[0]))
        self.actor = (await accounts.load_session(self.db, admin_session)).actor
        self.channel = await channels.create_channel(self.db, self.actor, kind="mailbox", name="Kundtjänst",
                                                     colour="green", address="kundtjanst@fanout.bench")
        self.conversations = []
        for i in range(self.a.conversations):
            self.conversations.append(await conversations.open_conversation(
                self.db, System(self.org_id), channel_id=self.channel, subject=f"Var är mitt paket? Order {10000 + i}",
                body="Hej! Jag har inte fått min jacka än, beställd för två veckor sedan.",
                customer_name="Karin Berg", customer_email=f"kund{i}@kund.example"))
        self.env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
                    "DATABASE_OWNER_URL": settings.database_owner_url, "SECRET_KEY": "bench", "WEB_HOST": "127.0.0.1"}

    async def login_all(self, url: str) -> None:
        """Every member logs in through the real form: the session cookies the sockets carry."""
        self.cookies = []
        for email in self.people:
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                form = await http.get("/login")
                await http.post("/login", data={"email": email, "password": PASSWORD,
                                                "csrf_token": CSRF.search(form.text).group(1)})
                self.cookies.append(http.cookies["samsyn_session"])

    async def dashboards(self, url: str) -> list:
        """Each session opens the dashboard: its seq is where its sockets start (`/ws?since=`)."""
        sessions = []
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            for cookie in self.cookies:
                page = await http.get("/", cookies={"samsyn_session": cookie})
                sessions.append([cookie, int(SEQ.search(page.text).group(1))])
        return sessions

    async def inject(self, rate: float, duration: float) -> dict[int, int]:
        """`rate` assignments a second for `duration` seconds through the domain; {seq: commit ns}."""
        from app import conversations

        self.commits.clear()
        n = int(rate * duration)
        t0 = time.monotonic()
        for i in range(n):
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await conversations.assign(self.db, self.actor, self.take_conversation(), self.actor.user_id)
        return dict(self.commits)

    def take_conversation(self) -> int:
        if self.next_conversation >= len(self.conversations):
            sys.exit("out of unassigned conversations: raise --conversations")
        self.next_conversation += 1
        return self.conversations[self.next_conversation - 1]

    async def frame_bytes(self, seq: int) -> int:
        """The size of an injected event's frame as a Swedish editor's socket on the dashboard gets it."""
        from app.db import events_after
        from realtime.hub import frame
        from realtime.fragments import render_event

        (event,) = await events_after(self.db, self.org_id, seq - 1, limit=1)
        pieces = await render_event(self.db, event, "sv", "Europe/Stockholm", cases=set())
        return len(frame("event", seq=seq, html="".join(p.html for p in pieces)).wire)

    # --- Samsyn's side of a scenario ---

    async def samsyn(self, sockets: int, rate: float, processes: int) -> dict:
        webs = [Web(self.env, free_port(), self.a.web_cores, self.work) for _ in range(processes)]
        try:
            for web in webs:
                await web.ready()
            sessions = await self.dashboards(webs[0].url)
            clients = ClientsProcess([w.url for w in webs], sessions, sockets, self.work)
            try:
                connected = await clients.answer()
                # warm-up, not counted: a long-running process has its templates compiled and its pool filled
                await self.inject(min(rate, 20), 1.0)
                await asyncio.sleep(self.a.settle)
                await clients.ask("mark")
                cpu0, t0 = [w.cpu() for w in webs], time.monotonic()
                sampler = asyncio.create_task(self.sample_rss(webs))
                commits = await self.inject(rate, self.a.duration)
                wall = time.monotonic() - t0
                cpu = [round((w.cpu() - c) / wall * 100, 1) for w, c in zip(webs, cpu0, strict=True)]
                await self.drain(clients, len(commits) * connected["connected"])
                sampler.cancel()
                result = await clients.ask("report", commits=commits)
            finally:
                await clients.close()
            size = await self.frame_bytes(max(commits))
            return {"peer": "samsyn" + (f" ({processes} processes)" if processes > 1 else ""), "sockets": sockets,
                    "connected": connected["connected"], "connect_failed": connected["failed"],
                    "connect_s": connected["connect_s"], "events_per_s": rate, "frame_bytes": size,
                    "published": len(commits), **result, "server_cpu_pct": sum(cpu), "server_cpu_pct_each": cpu,
                    "server_rss_mb_max": round(sum(w.rss_max for w in webs) / 2**20, 1)}
        finally:
            for web in webs:
                web.stop()

    async def drain(self, clients: ClientsProcess, expected: int) -> None:
        """Wait for stragglers until all arrived, or none for 3 s (at most --drain s): what is missing is lost."""
        last, quiet_since, started = -1, time.monotonic(), time.monotonic()
        while time.monotonic() - started < self.a.drain:
            received = (await clients.ask("count"))["received"]
            if received >= expected:
                return
            if received != last:
                last, quiet_since = received, time.monotonic()
            elif time.monotonic() - quiet_since > 3:
                return
            await asyncio.sleep(0.2)

    async def sample_rss(self, webs: list[Web]) -> None:
        while True:
            for w in webs:
                w.rss_max = max(w.rss_max, w.rss())
            await asyncio.sleep(0.5)

    # --- the peers' side: peer-bench's own servers and load generator -----------------------------------

    def peer(self, name: str, sockets: int, rate: float, size: int) -> dict:
        spec = importlib.util.spec_from_file_location("peer_bench_run", PEER_BENCH / "run.py")
        run = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(run)
        cmd, url, proto, pub = run.PEERS[name]
        port = free_port()
        cmd = [str(port) if part == str(run.PORT) else part for part in cmd]
        url = url.replace(f":{run.PORT}/", f":{port}/")
        log = self.work / f"peer-{name}.log"
        server = subprocess.Popen(["taskset", "-c", "0", *cmd], cwd=PEER_BENCH / "peers",
                                  env={**os.environ, "BENCH_REDIS": self.redis_url},
                                  stdout=subprocess.DEVNULL, stderr=log.open("ab"))
        try:
            if not run.wait_port(port):
                return {"peer": name, "sockets": sockets, "error": "server did not start"}
            time.sleep(0.5)
            lg = subprocess.run(
                ["taskset", "-c", "1", sys.executable, str(PEER_BENCH / "loadgen.py"), "--url", url, "--proto", proto,
                 "--pub", pub, "--redis", self.redis_url, "--channel", "bench", "--sockets", str(sockets),
                 "--rate", str(rate), "--duration", str(self.a.duration), "--size", str(size),
                 "--server-pid", str(server.pid), "--prime", run.PRIME.get(name, "0"), "--settle", str(self.a.settle)],
                capture_output=True, text=True, timeout=self.a.duration + 300)
            if lg.returncode != 0 or not lg.stdout.strip():
                return {"peer": name, "sockets": sockets, "error": lg.stderr[-500:]}
            return {"peer": name, "frame_bytes": size, **json.loads(lg.stdout.strip().splitlines()[-1])}
        finally:
            server.terminate()
            server.wait(15)

    async def scenario(self, label: str, sockets: int, rate: float, processes: int) -> None:
        print(f"\n## {label}: {sockets:,} sockets x {rate:g} events/s, {self.a.duration:g} s, "
              f"{processes} web process{'es' if processes > 1 else ''} on core(s) {self.a.web_cores}", flush=True)
        rows = [await self.samsyn(sockets, rate, processes)]
        print_rows(rows[-1:], header=True)
        for name in filter(None, self.a.peers.split(",")):
            rows.append(await asyncio.to_thread(self.peer, name, sockets, rate, rows[0]["frame_bytes"]))
            print_rows(rows[-1:])
        self.results[label] = rows

    # --- idle memory, deflate off and on ---

    async def idle(self) -> None:
        n = self.a.idle_sockets
        print(f"\n## idle: memory per socket, {n:,} idle sockets (RSS after they connect, less before)", flush=True)
        rows = []
        for deflate in (False, True):
            web = Web(self.env, free_port(), self.a.web_cores, self.work, deflate=deflate)
            try:
                await web.ready()
                sessions = await self.dashboards(web.url)
                await asyncio.sleep(1)
                before = web.rss()
                clients = ClientsProcess([web.url], sessions, n, self.work, deflate=deflate)
                try:
                    connected = await clients.answer()
                    await asyncio.sleep(2)
                    after = web.rss()
                finally:
                    await clients.close()
                row = {"deflate": deflate, "sockets": connected["connected"], "rss_before_mb": round(before / 2**20, 1),
                       "rss_after_mb": round(after / 2**20, 1),
                       "kb_per_socket": round((after - before) / max(1, connected["connected"]) / 1024, 1)}
            finally:
                web.stop()
            rows.append(row)
            print(f"permessage-deflate {'on ' if deflate else 'off'}: {row['kb_per_socket']} KB per idle socket "
                  f"({row['sockets']:,} sockets: {row['rss_before_mb']} MB -> {row['rss_after_mb']} MB)", flush=True)
        self.results["idle"] = rows

    # --- a reconnect storm after a restart ---

    async def storm(self) -> None:
        n, events = self.a.storm_sockets, self.a.storm_events
        print(f"\n## storm: the web process restarts while {events} events commit; {n:,} sockets reconnect at once",
              flush=True)
        rows = []
        small = max(1, n // 6)  # without the cache every socket renders every event: a sixth of the sockets
        for sockets, cache in ((n, True), (small, True), (small, False)):
            port = free_port()
            web = Web(self.env, port, self.a.web_cores, self.work)
            await web.ready()
            sessions = await self.dashboards(web.url)
            clients = ClientsProcess([web.url], sessions, sockets, self.work)
            try:
                await clients.answer()
                from app.db import last_seq
                since = await last_seq(self.db, self.org_id)
                web.stop()  # the restart: every socket is dropped ...
                await clients.ask("drop")
                commits = await self.inject(events, 1.0)
                web = Web(self.env, port, self.a.web_cores, self.work, cache=cache)  # ... and it comes back
                await web.ready()
                cpu0, t0 = web.cpu(), time.time_ns()
                result = await clients.ask("reconnect", since=since, commits=commits)
                row = {"render cache": cache, "sockets": sockets, "events": len(commits),
                       "connected": result["connected"], "failed": result["failed"],
                       "all_replayed_s": round((result["last_hello_ns"] - t0) / 1e9, 2),
                       "server_cpu_s": round(web.cpu() - cpu0, 2), "frames_replayed": result["replayed_frames"],
                       "lost": result["lost"], "dups": result["dups"]}
            finally:
                await clients.close()
                web.stop()
            rows.append(row)
            print(json.dumps(row), flush=True)
        self.results["storm"] = rows

    async def browser(self) -> None:
        from bench import browser_latency

        web = Web(self.env, free_port(), self.a.web_cores, self.work)
        try:
            await web.ready()
            row = await browser_latency.measure(web.url, self.people[1], PASSWORD, self, self.a.browser_changes)
        finally:
            web.stop()
        print(f"\n## browser: commit to the queue row changing in Chromium, {row['changes']} changes: "
              f"p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms, max {row['max_ms']} ms", flush=True)
        self.results["browser"] = row


COLUMNS = ("peer", "sockets", "events_per_s", "frame_bytes", "delivered", "expected", "lost", "dups", "p50_ms",
           "p95_ms", "p99_ms", "max_ms", "server_cpu_pct", "server_rss_mb_max", "loadgen_cpu_pct")


def print_rows(rows: list[dict], header: bool = False) -> None:
    if header:
        print("| " + " | ".join(COLUMNS) + " |")
        print("|" + "---|" * len(COLUMNS))
    for r in rows:
        if "error" in r:
            print(f"| {r['peer']} | {r.get('sockets')} | error: {r['error'][-200:]!r} |", flush=True)
            continue
        print("| " + " | ".join("" if r.get(c) is None else f"{r[c]:,}" if isinstance(r[c], int) else str(r[c])
                                for c in COLUMNS) + " |", flush=True)


def free_port() -> int:
    from devtools.services import free_port as port
    return port()


async def run(a) -> None:
    from devtools.services import migrated_settings, throwaway_servers

    scenarios = a.scenarios.split(",")
    raise_fd_limit(20000)
    with throwaway_servers("samsyn-fanout-") as (pg, redis):
        settings = await migrated_settings(pg, redis, secret_key="bench")
        bench = Bench(a, pg.root)
        bench.redis_url = settings.redis_url
        t0 = time.monotonic()
        await bench.setup(settings)
        web = Web(bench.env, free_port(), a.web_cores, pg.root)
        try:
            await web.ready()
            await bench.login_all(web.url)
        finally:
            web.stop()
        print(f"set-up: {MEMBERS} members logged in through /login, {a.conversations} conversations, "
              f"{time.monotonic() - t0:.1f} s; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}",
              flush=True)
        try:
            if "one" in scenarios:
                await bench.scenario("one", a.sockets, a.rate, 1)
            if "two" in scenarios:
                await bench.scenario("two", a.sockets2, a.rate2, 2)
            if "idle" in scenarios:
                await bench.idle()
            if "storm" in scenarios:
                await bench.storm()
            if "browser" in scenarios:
                await bench.browser()
        finally:
            await bench.db.close()
            await bench.redis.aclose()
            if a.out:
                Path(a.out).write_text(json.dumps(bench.results, indent=1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenarios", default="one,two,idle,storm,browser")
    p.add_argument("--quick", action="store_true", help="every scenario small: a check that it all runs")
    p.add_argument("--sockets", type=int, default=1000)
    p.add_argument("--rate", type=float, default=50)
    p.add_argument("--sockets2", type=int, default=3000)
    p.add_argument("--rate2", type=float, default=10)
    p.add_argument("--duration", type=float, default=20)
    p.add_argument("--peers", default="naive_starlette,websockets_raw",
                   help="peers of ../shared/peer-bench to run beside (comma-separated, empty for none)")
    p.add_argument("--idle-sockets", type=int, default=1000)
    p.add_argument("--storm-sockets", type=int, default=300)
    p.add_argument("--storm-events", type=int, default=100)
    p.add_argument("--browser-changes", type=int, default=300)
    p.add_argument("--web-cores", default="0", help="taskset cores for the web processes")
    p.add_argument("--settle", type=float, default=2)
    p.add_argument("--drain", type=float, default=15, help="at most this many seconds for the last frames")
    p.add_argument("--out", default="", help="write every figure as JSON here too")
    # internal: the processes this one starts
    p.add_argument("--web", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--no-render-cache", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--clients", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--deflate", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--urls", help=argparse.SUPPRESS)
    p.add_argument("--sessions", help=argparse.SUPPRESS)
    p.add_argument("--conversations", type=int, default=0, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.web:
        return web_main(a)
    if a.clients:
        return clients_main(a)
    if a.quick:
        a.sockets, a.sockets2, a.duration, a.idle_sockets = 200, 400, 5, 200
        a.storm_sockets, a.storm_events, a.browser_changes = 50, 20, 30
    scenarios = a.scenarios.split(",")
    a.conversations = a.conversations or int(
        ("one" in scenarios) * (a.rate * a.duration + 20) + ("two" in scenarios) * (a.rate2 * a.duration + 20)
        + ("storm" in scenarios) * 3 * a.storm_events + ("browser" in scenarios) * a.browser_changes + 10)
    asyncio.run(run(a))


if __name__ == "__main__":
    main()
