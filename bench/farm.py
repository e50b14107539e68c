#!/usr/bin/env python
"""The 10,000-feed farm: how `monitor once` grows from 1,000 to 10,000 small feeds.

A farm of N small generated feeds (``--entries`` 5 each, RSS 2.0 and Atom, with
realistic titles, summaries, links, guids and dates: ``bench/cycle.py``'s
generator) is served by a *separate* server process: one asyncio event loop
listening on ``--hosts`` 20 loopback addresses, 127.0.0.2 … 127.0.0.21 (each on
a port of its own), feed ``i`` on address ``i mod 20``. Feed URLs name those
addresses, so the monitor's per-host cap (``fetch.per_host``, 2 by default)
applies as with real publishers: 10,000 feeds are 500 per host. The server
answers a conditional GET whose ``If-None-Match`` holds the document's ETag
with 304. The monitor's config sets ``fetch.allow_private: true`` (loopback)
and nothing else about fetching, so its defaults are measured.

For each size of ``--feeds`` (default 1000,2500,5000,10000; the first N
documents of one farm, a fresh database each time) and each of ``--runs``:

* ``first``    fresh database: every feed answers 200 and is parsed. The entries
               are ``--age-hours`` (720) old, past ``max_age``: nothing alerts;
* ``304``      (only with ``--with-304``) nothing changed: every feed answers 304;
* ``changed``  ``--changed`` (10%) of the feeds have one new entry at the top
               (the oldest drops out, as in a real feed), dated minutes ago, its
               title and lead from the corpus news items, so some alert; the
               rest answer 304.

Each cycle is a `monitor once` child process on the same database, its stdout
(the terminal sink: no Slack variable is passed on) to /dev/null, its JSON log
to a file. Measured: CPU seconds of the whole process tree (the monitor and its
parse pool; this process is a child subreaper, so the pool's forkserver is
reaped and counted; the server is not a descendant and never counted), wall
seconds, and the peak of the tree's summed RSS (and PSS) sampled from /proc
every ``--sample`` seconds, plus the main process's own peak RSS from wait4.

Targets (the issue, at 10,000 feeds): ``changed`` ≤ 30 s CPU and ≤ 60 s wall;
no cycle's tree over 400 MB.

    .venv/bin/python bench/farm.py                              # the table; minutes
    .venv/bin/python bench/farm.py --feeds 10000 --runs 3       # medians of 3
    .venv/bin/python bench/farm.py --feeds 200                  # smoke run, seconds

Output: a markdown table on stdout, progress on stderr, one JSON line per size
and cycle in ``--out`` (bench/results/farm.json, rewritten each run). Exit 1 if
a check fails (statuses, exit codes, failed feeds, the per-host cap); targets
are reported, never asserted. Not for CI. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cycle  # bench/cycle.py: the generator and the process-tree helpers

REPO = cycle.REPO
DEFAULT_OUT = REPO / "bench" / "results" / "farm.json"
FIRST_HOST = 2  # 127.0.0.2 …
TARGET_CHANGED_CPU = 30.0  # seconds, at 10,000 feeds
TARGET_CHANGED_WALL = 60.0
TARGET_PEAK_MB = 400.0  # any cycle, the whole process tree
TARGET_FEEDS = 10_000

_ITEM_RE = re.compile(rb"<(item|entry)[\s>].*?</\1\s*>", re.S)


# ---------------------------------------------------------------------------------------
# The farm's documents (in the server process)
# ---------------------------------------------------------------------------------------


def host_address(i: int, hosts: int) -> str:
    return f"127.0.0.{FIRST_HOST + i % hosts}"


def feed_path(i: int, atom: bool) -> str:
    return f"/feeds/{i:05d}." + ("atom" if atom else "xml")


def is_atom(i: int) -> bool:
    return i % 3 == 2  # two RSS 2.0 for one Atom, as in cycle.py


@dataclass(slots=True)
class Doc:
    body: bytes
    content_type: bytes
    etag: bytes = b""
    head: bytes = b""  # the 200 answer's status line and headers, built once

    def __post_init__(self) -> None:
        self.etag = b'"%s"' % hashlib.sha1(self.body).hexdigest()[:20].encode()
        self.head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\nETag: %s\r\n"
            b"\r\n" % (self.content_type, len(self.body), self.etag)
        )


class Farm:
    """``size`` generated documents; the first ``active`` are served."""

    def __init__(self, size: int, entries: int, seed: int, age_hours: float, hosts: int) -> None:
        self.size, self.entries, self.hosts, self.seed = size, entries, hosts, seed
        self.items = cycle.load_news_items()
        rng = random.Random(seed)
        now = datetime.now(UTC).replace(microsecond=0)
        self.originals = [
            cycle.generate_feed(i, entries, self.items, now, rng, is_atom(i), age_hours)
            for i in range(size)
        ]
        self.docs: list[Doc] = []
        self.route = {feed_path(i, is_atom(i)).encode(): i for i in range(size)}
        self.active = size
        self.changes = 0  # new entries made so far: every one gets a distinct id
        self.load(size)

    def load(self, n: int) -> None:
        """Serve the first ``n`` documents, as generated (undoes every change)."""
        if not 0 < n <= self.size:
            raise ValueError(f"the farm has {self.size} documents, not {n}")
        self.docs = [Doc(body, _ctype(i)) for i, body in enumerate(self.originals)]
        self.active = n

    def change(self, share: float, seed: int, quiet: bool = False) -> list[int]:
        """One new entry at the top of ``share`` of the served documents (``quiet``: a
        neutral one that alerts on nothing)."""
        rng = random.Random(seed)
        picked = sorted(rng.sample(range(self.active), round(share * self.active)))
        when = datetime.now(UTC).replace(microsecond=0)
        for i in picked:
            self.changes += 1
            items = [QUIET_ITEM] if quiet else self.items
            entry = new_entry(i, self.changes, items, when, rng, is_atom(i))
            self.docs[i] = Doc(push_entry(self.docs[i].body, entry), _ctype(i))
        return picked

    def url(self, i: int, ports: dict[str, int]) -> str:
        address = host_address(i, self.hosts)
        return f"http://{address}:{ports[address]}{feed_path(i, is_atom(i))}"


def _ctype(i: int) -> bytes:
    return (cycle.ATOM_CT if is_atom(i) else cycle.RSS_CT).encode()


QUIET_ITEM = (
    "Quarterly newsletter: schedule for the community meeting",
    "The meeting is on Thursday. " + " ".join(cycle.FILLER[:4]),
)


def new_entry(
    i: int, n: int, items: list[tuple[str, str]], when: datetime, rng: random.Random, atom: bool
) -> bytes:
    """A recent entry (published in the last 10 minutes), its title and lead from ``items``
    (the corpus news items: a real mix, so some alert)."""
    title, lead = rng.choice(items)
    site = f"www.newssite{i:04d}.example.com"
    published = when - timedelta(seconds=rng.uniform(0, 600))
    link = f"https://{site}/{published:%Y/%m}/{cycle._slug(title)}-u{n:06d}/"
    summary = cycle.html_summary(lead, rng, site, rng.randint(300, 1500))
    if atom:
        return (
            "  <entry>\n"
            f'    <title type="html">{xml_escape(xml_escape(title))}</title>\n'
            f'    <link rel="alternate" type="text/html" href="{xml_escape(link)}"/>\n'
            f"    <id>tag:{site},{published:%Y}:update-{n:06d}</id>\n"
            f"    <published>{published.isoformat(timespec='seconds')}</published>\n"
            f"    <updated>{published.isoformat(timespec='seconds')}</updated>\n"
            f"    <author><name>{rng.choice(cycle.AUTHORS)}</name></author>\n"
            f'    <summary type="html">{xml_escape(summary)}</summary>\n'
            "  </entry>\n"
        ).encode()
    return (
        "    <item>\n"
        f"      <title>{xml_escape(title)}</title>\n"
        f"      <link>{xml_escape(link)}</link>\n"
        f'      <guid isPermaLink="false">{site}-update-{n:06d}</guid>\n'
        f"      <pubDate>{format_datetime(published)}</pubDate>\n"
        f"      <dc:creator>{xml_escape(rng.choice(cycle.AUTHORS))}</dc:creator>\n"
        f"      <description><![CDATA[{summary}]]></description>\n"
        "    </item>\n"
    ).encode()


def push_entry(body: bytes, entry: bytes) -> bytes:
    """``entry`` before the first item; the last item drops out (a feed keeps its length)."""
    blocks = list(_ITEM_RE.finditer(body))
    if not blocks:
        raise ValueError("a document without items")
    at = blocks[0].start()
    indent = body[body.rfind(b"\n", 0, at) + 1 : at]
    cut = (blocks[-2].end(), blocks[-1].end()) if len(blocks) > 1 else (len(body), len(body))
    return body[:at] + entry.strip() + b"\n" + indent + body[at : cut[0]] + body[cut[1] :]


# ---------------------------------------------------------------------------------------
# The server: one asyncio loop, one listener per loopback address
# ---------------------------------------------------------------------------------------


class Stats:
    def __init__(self, hosts: int) -> None:
        self.hosts = hosts
        self.open = [0] * hosts  # connections open now, per address
        self.reset()

    def reset(self) -> None:
        self.statuses: Counter[int] = Counter()
        self.conditional = 0
        self.requests = [0] * self.hosts
        self.peak_open = list(self.open)
        self.connections = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": sum(self.requests),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "conditional_requests": self.conditional,
            "connections_opened": self.connections,
            "requests_per_address": self.requests,
            "peak_connections_per_address": self.peak_open,
            "server_cpu": time.process_time(),
        }


class HttpProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive, GET and HEAD, just what a feed fetcher asks for."""

    def __init__(self, farm: Farm, stats: Stats, host: int, live: set[HttpProtocol]) -> None:
        self.farm, self.stats, self.host, self.live = farm, stats, host, live
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.live.add(self)
        s, h = self.stats, self.host
        s.connections += 1
        s.open[h] += 1
        s.peak_open[h] = max(s.peak_open[h], s.open[h])

    def connection_lost(self, exc: Exception | None) -> None:
        self.stats.open[self.host] -= 1
        self.live.discard(self)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > 65536:
                    self.transport.close()
                return
            head = bytes(self.buffer[:end])
            del self.buffer[: end + 4]
            self.answer(head)

    def answer(self, head: bytes) -> None:
        assert self.transport is not None
        lines = head.split(b"\r\n")
        try:
            method, target, version = lines[0].split(b" ", 2)
        except ValueError:
            self.transport.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            self.transport.close()
            return
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        self.stats.requests[self.host] += 1
        close = headers.get(b"connection", b"").lower() == b"close" or version == b"HTTP/1.0"
        i = self.farm.route.get(target.split(b"?", 1)[0], -1)
        if not 0 <= i < self.farm.active or method not in (b"GET", b"HEAD"):
            status, out = 404, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
        else:
            doc = self.farm.docs[i]
            inm = headers.get(b"if-none-match")
            if inm is not None or b"if-modified-since" in headers:
                self.stats.conditional += 1
            if inm is not None and (
                inm == b"*" or doc.etag in (t.strip().removeprefix(b"W/") for t in inm.split(b","))
            ):
                status, out = 304, b"HTTP/1.1 304 Not Modified\r\nETag: %s\r\n" % doc.etag
            else:
                status = 200
                out = doc.head if method == b"HEAD" else doc.head + doc.body
        self.stats.statuses[status] += 1
        if status != 200:
            out += b"Connection: close\r\n\r\n" if close else b"\r\n"
        elif close:
            out = out.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)
        self.transport.write(out)
        if close:
            self.transport.close()


class FarmServer:
    """The farm on ``hosts`` loopback addresses, on an event loop of its own thread."""

    def __init__(self, farm: Farm) -> None:
        self.farm = farm
        self.stats = Stats(farm.hosts)
        self.ports: dict[str, int] = {}
        self.loop = asyncio.new_event_loop()
        self.servers: list[asyncio.Server] = []
        self.protocols: set[HttpProtocol] = set()
        self.thread = threading.Thread(target=self.loop.run_forever, name="farm", daemon=True)

    def start(self) -> FarmServer:
        self.thread.start()
        self._listen()
        return self

    def _listen(self) -> None:
        async def listen() -> None:
            for h in range(self.farm.hosts):
                address = host_address(h, self.farm.hosts)
                try:
                    server = await self.loop.create_server(
                        lambda h=h: HttpProtocol(self.farm, self.stats, h, self.protocols),  # type: ignore[misc]
                        address,
                        0,
                        backlog=1024,
                    )
                except OSError as exc:
                    raise OSError(
                        f"cannot listen on {address}: {exc} (on Linux all of 127.0.0.0/8 is "
                        "loopback; elsewhere add the addresses as loopback aliases)"
                    ) from exc
                self.servers.append(server)
                self.ports[address] = server.sockets[0].getsockname()[1]

        asyncio.run_coroutine_threadsafe(listen(), self.loop).result()

    def call(self, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` on the loop's thread (nothing is served meanwhile), its result."""
        if threading.current_thread() is self.thread:
            return fn(*args)

        async def run() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result()

    def urls(self, n: int) -> list[str]:
        return [self.farm.url(i, self.ports) for i in range(n)]

    def stop(self) -> None:
        async def close() -> None:
            for server in self.servers:
                server.close()
            for protocol in list(self.protocols):  # keep-alive connections still open
                if protocol.transport is not None:
                    protocol.transport.close()
            await asyncio.sleep(0)  # let the transports finish closing

        if self.thread.is_alive():
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
        if not self.thread.is_alive():
            self.loop.close()

    def command(self, cmd: list[str]) -> dict[str, Any]:
        """One line of the control protocol (the parent's ``Server.ask``)."""
        if cmd[0] == "load":
            n = int(cmd[1])
            self.call(self.farm.load, n)
            return {"urls": self.urls(n)}
        if cmd[0] == "change":
            quiet = len(cmd) > 3 and cmd[3] == "quiet"
            picked = self.call(self.farm.change, float(cmd[1]), int(cmd[2]), quiet)
            return {"changed": len(picked)}
        if cmd[0] == "reset":
            self.call(self.stats.reset)
            return {"ok": True}
        if cmd[0] == "stats":
            return dict(self.call(self.stats.as_dict))
        if cmd[0] == "dump":
            folder = Path(cmd[1])
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(self.farm.active):
                (folder / feed_path(i, is_atom(i)).rsplit("/", 1)[1]).write_bytes(
                    self.farm.docs[i].body
                )
            return {"dumped": self.farm.active}
        raise ValueError(f"unknown command {cmd[0]!r}")


def serve(spec: dict[str, Any]) -> int:
    """The server process: commands on stdin, one JSON answer per line on stdout."""
    started = time.perf_counter()
    farm = Farm(spec["size"], spec["entries"], spec["seed"], spec["age_hours"], spec["hosts"])
    built = time.perf_counter() - started

    def reply(obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    try:
        server = FarmServer(farm).start()
    except OSError as exc:
        reply({"error": str(exc)})
        return 1
    reply(
        {
            "ports": server.ports,
            "documents": farm.size,
            "bytes": sum(len(b) for b in farm.originals),
            "built_in": built,
        }
    )
    try:
        for line in sys.stdin:
            cmd = line.split()
            if not cmd:
                continue
            if cmd[0] == "quit":
                break
            try:
                reply(server.command(cmd))
            except Exception as exc:
                reply({"error": f"{exc.__class__.__name__}: {exc}"})
    finally:
        server.stop()
    return 0


# ---------------------------------------------------------------------------------------
# The parent: the server as a child process, `monitor once` runs, the table
# ---------------------------------------------------------------------------------------


def write_config(
    path: Path, database: Path, urls: list[str], fetch: dict[str, Any], overrides: dict[str, Any]
) -> None:
    config: dict[str, Any] = {
        "database": str(database),
        "rules": str(cycle.RULES),
        "fetch": {"allow_private": True, **fetch},  # loopback; per_host as in real life
        "feeds": [{"name": f"farm-{i:05d}", "url": url} for i, url in enumerate(urls)],
    }
    for dotted, value in overrides.items():
        *parents, last = dotted.split(".")
        node = config
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    path.write_text("# generated by bench/farm.py\n" + json.dumps(config, indent=1) + "\n")


def run_once_set(
    n: int,
    run: int,
    args: argparse.Namespace,
    server: cycle.Server,
    tmp: Path,
    fetch: dict[str, Any],
    overrides: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """The cycles of one run at one size, on a fresh database."""
    urls = server.ask(f"load {n}")["urls"]
    workdir = tmp / f"{n}-run{run}"
    workdir.mkdir(parents=True)
    if args.keep:
        server.ask(f"dump {workdir / 'farm'}")
    config = workdir / "monitor.yaml"
    write_config(config, workdir / "db" / "monitor.db", urls, fetch, overrides)
    plan = ["first", *(["304"] if args.with_304 else []), "changed"]
    results: dict[str, dict[str, Any]] = {}
    for name in plan:
        changed = 0
        if name == "changed":
            how = "quiet" if args.quiet_new else "news"
            changed = server.ask(f"change {args.changed} {args.seed + run} {how}")["changed"]
        server.ask("reset")
        print(f"  {n} feeds, run {run + 1}: `monitor once` {name} …", file=sys.stderr, flush=True)
        profile = args.profile / f"{n}-{run}-{name}.prof" if args.profile else None
        r = cycle.run_monitor(name, config, workdir, args.timeout, args.sample, profile)
        r["server"] = server.ask("stats")
        r["changed_feeds"] = changed
        per_host = fetch.get("per_host", overrides.get("fetch.per_host", 2))
        r["checks"] = checks_for(name, n, args.entries, changed, r, int(per_host))
        results[name] = r
        s = r["monitor_summary"] or {}
        print(
            f"    {r['wall']:.2f}s wall, {r['cpu']:.2f}s CPU, tree RSS {r['tree_rss_peak_mb']:.0f}"
            f" MB (PSS {r['tree_pss_peak_mb']:.0f}), answers {r['server']['statuses']}, new "
            f"{s.get('new', '?')}, alerts {s.get('alerts', '?')}"
            + ("" if all(r["checks"].values()) else f"; FAILED {failed(r['checks'])}"),
            file=sys.stderr,
            flush=True,
        )
        if r["timed_out"] or r["exit_code"] != 0:
            break
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def checks_for(
    name: str, n: int, entries: int, changed: int, r: dict[str, Any], per_host: int
) -> dict[str, bool]:
    st, s = r["server"]["statuses"], r["monitor_summary"] or {}
    used = r["server"]["requests_per_address"]
    want = {"first": {"200": n}, "304": {"304": n}, "changed": {"200": changed, "304": n - changed}}
    return {
        "exit_0": r["exit_code"] == 0 and not r["timed_out"],
        "answers": {k: v for k, v in st.items() if v} == {k: v for k, v in want[name].items() if v},
        "no_failed_feeds": s.get("failed", 1) == 0 and s.get("feeds") == n,
        "new_entries": s.get("new") == {"first": n * entries, "304": 0, "changed": changed}[name],
        "per_host_cap": max(r["server"]["peak_connections_per_address"]) <= per_host,
        "every_address_used": sum(1 for k in used if k) == min(n, len(used)),
    }


def failed(checks: dict[str, bool]) -> str:
    return ", ".join(k for k, v in checks.items() if not v)


def summarise(n: int, name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One row: medians over the runs, and every run's figures."""

    def med(key: str) -> float:
        return float(statistics.median(r[key] for r in runs))

    last = runs[-1]
    s = last["monitor_summary"] or {}
    return {
        "feeds": n,
        "cycle": name,
        "runs": len(runs),
        "cpu_s": med("cpu"),
        "wall_s": med("wall"),
        "tree_rss_peak_mb": med("tree_rss_peak_mb"),
        "tree_pss_peak_mb": med("tree_pss_peak_mb"),
        "main_rss_mb": med("main_rss_mb"),
        "cpu_main_process_s": med("cpu_main_process"),
        "answers": last["server"]["statuses"],
        "changed_feeds": last["changed_feeds"],
        "new_entries": s.get("new"),
        "alerts": s.get("alerts"),
        "sent": s.get("sent"),
        "digest": s.get("digest"),
        "peak_connections_per_address": max(last["server"]["peak_connections_per_address"]),
        "connections_opened": last["server"]["connections_opened"],
        "tree_processes": last["tree_processes"],
        "checks": {k: all(r["checks"][k] for r in runs) for k in last["checks"]},
        "each": [
            {
                k: r[k]
                for k in (
                    "cpu",
                    "wall",
                    "cpu_user",
                    "cpu_sys",
                    "cpu_main_process",
                    "tree_rss_peak_mb",
                    "tree_pss_peak_mb",
                    "main_rss_mb",
                    "exit_code",
                    "timed_out",
                    "monitor_summary",
                    "log_lines",
                    "warning_log_lines",
                )
            }
            for r in runs
        ],
    }


def targets(rows: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    """The issue's targets, judged on the largest size measured (stated for 10,000)."""
    if not rows:
        return []
    top = max(r["feeds"] for r in rows)
    at_top = [r for r in rows if r["feeds"] == top]
    out = []
    for r in at_top:
        if r["cycle"] == "changed":
            out.append(
                (
                    f"{top} feeds, changed: CPU {r['cpu_s']:.1f} s ≤ {TARGET_CHANGED_CPU:g} s",
                    r["cpu_s"] <= TARGET_CHANGED_CPU,
                )
            )
            out.append(
                (
                    f"{top} feeds, changed: wall {r['wall_s']:.1f} s ≤ {TARGET_CHANGED_WALL:g} s",
                    r["wall_s"] <= TARGET_CHANGED_WALL,
                )
            )
    worst = max(rows, key=lambda r: r["tree_rss_peak_mb"])
    out.append(
        (
            f"peak tree RSS {worst['tree_rss_peak_mb']:.0f} MB ({worst['feeds']} feeds, "
            f"{worst['cycle']}) ≤ {TARGET_PEAK_MB:g} MB",
            worst["tree_rss_peak_mb"] <= TARGET_PEAK_MB,
        )
    )
    return out


def print_table(rows: list[dict[str, Any]], context: dict[str, Any]) -> None:
    a = context["args"]
    print(
        f"\n### bench/farm.py: `monitor once` over {a['hosts']} loopback hosts, "
        f"{a['entries']} entries a feed\n"
    )
    print(
        f"{context['date']} · {context['machine']['nproc']} CPUs · Python "
        f"{context['machine']['python']} · commit {(context['code']['commit'] or '?')[:10]}"
        + (" + uncommitted edits" if context["code"]["uncommitted"] else "")
        + f" · load average {context['load_before']} before, {context['load_after']} after"
        + f" · runs {a['runs']} (medians)"
        + (f" · --set {' '.join(a['set'])}" if a["set"] else "")
        + "\n"
    )
    print(
        "| feeds | cycle | CPU s | wall s | peak RSS MB (tree) | PSS MB (tree) | main RSS MB "
        "| 200 | 304 | new entries | alerts | checks |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        st = r["answers"]
        bad = failed(r["checks"])
        print(
            f"| {r['feeds']:,} | {r['cycle']} | {r['cpu_s']:.2f} | {r['wall_s']:.2f} | "
            f"{r['tree_rss_peak_mb']:.0f} | {r['tree_pss_peak_mb']:.0f} | {r['main_rss_mb']:.0f} "
            f"| {st.get('200', 0):,} | {st.get('304', 0):,} | {r['new_entries'] or 0:,} | "
            f"{r['alerts'] or 0:,} | {'ok' if not bad else 'FAILED: ' + bad} |"
        )
    print()
    for text, met in targets(rows):
        print(f"- target: {text}: **{'met' if met else 'not met'}**")
    if rows and max(r["feeds"] for r in rows) != TARGET_FEEDS:
        print(f"- (the targets are stated for {TARGET_FEEDS:,} feeds)")


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def sizes(text: str) -> list[int]:
    try:
        out = [int(x.replace("_", "")) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--feeds wants sizes like 1000,2500: {text!r}") from None
    if not out or min(out) < 1:
        raise argparse.ArgumentTypeError("--feeds wants positive sizes")
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_serve"]:
        return serve(json.loads(argv[1]))

    ap = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ap.add_argument(
        "--feeds",
        type=sizes,
        default=[1000, 2500, 5000, 10000],
        help="farm sizes, comma-separated; a fresh database for each",
    )
    ap.add_argument("--entries", type=int, default=5, help="entries per feed")
    ap.add_argument(
        "--changed", type=float, default=0.1, help="share of the feeds with one new entry"
    )
    ap.add_argument("--runs", type=int, default=1, help="runs per size; medians are reported")
    ap.add_argument("--hosts", type=int, default=20, help="loopback addresses, from 127.0.0.2")
    ap.add_argument(
        "--age-hours",
        type=float,
        default=720,
        help="the farm's entries are dated within 48 h before now minus this "
        "(720: past max_age, nothing in the first cycle alerts)",
    )
    ap.add_argument(
        "--quiet-new",
        action="store_true",
        help="the changed cycle's new entries alert on nothing (default: real news titles, "
        "some alert)",
    )
    ap.add_argument("--with-304", action="store_true", help="also a cycle where every feed is 304")
    ap.add_argument(
        "--concurrency", type=int, default=None, help="fetch.concurrency (default: the monitor's)"
    )
    ap.add_argument(
        "--per-host", type=int, default=None, help="fetch.per_host (default: the monitor's, 2)"
    )
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra setting in the generated config, dotted, value as JSON "
        "(e.g. --set stories.enabled=false); repeatable",
    )
    ap.add_argument("--seed", type=int, default=20241201)
    ap.add_argument("--sample", type=float, default=0.1, help="seconds between memory samples")
    ap.add_argument("--timeout", type=float, default=1800, help="per `monitor once` run, seconds")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (and the farm)")
    ap.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="run each `monitor once` under cProfile, writing DIR/<feeds>-<run>-<cycle>.prof",
    )
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON lines, one per row")
    args = ap.parse_args(argv)
    if not 0 < args.changed <= 1:
        ap.error("--changed is a share: 0 < S ≤ 1")
    if not 1 <= args.hosts <= 250:
        ap.error("--hosts is 1 … 250 (127.0.0.2 … 127.0.0.251)")
    try:
        import monitor  # noqa: F401
    except ImportError as exc:
        ap.error(f"{exc}: run with the project's interpreter, e.g. .venv/bin/python bench/farm.py")

    fetch: dict[str, Any] = {}
    if args.concurrency is not None:
        fetch["concurrency"] = args.concurrency
    if args.per_host is not None:
        fetch["per_host"] = args.per_host
    overrides = cycle.parse_set(args.set)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        args.profile = args.profile.resolve()
    context: dict[str, Any] = {
        "benchmark": "bench/farm.py",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": cycle.machine(),
        "versions": cycle.versions(),
        "code": cycle.git_state(),  # before the runs: the tree may change while they go
        "load_before": load_average(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("")  # rows are appended as they are measured
    subreaper = cycle.become_subreaper()
    if not subreaper:
        print("warning: not a child subreaper: the parse pool's CPU may be missed", file=sys.stderr)
    tmp = Path(tempfile.mkdtemp(prefix="monitor-farm-"))
    rows: list[dict[str, Any]] = []
    server = None
    try:
        t0 = time.perf_counter()
        spec = {
            "size": max(args.feeds),
            "entries": args.entries,
            "seed": args.seed,
            "age_hours": args.age_hours,
            "hosts": args.hosts,
        }
        server = cycle.Server(__file__, json.dumps(spec), "the farm's server")
        cycle.KEEP_CHILDREN.add(server.proc.pid)
        hello = server.hello
        context["farm"] = {**spec, "bytes": hello["bytes"], "addresses": hello["ports"]}
        print(
            f"farm: {hello['documents']:,} documents × {args.entries} entries, "
            f"{hello['bytes'] / 1e6:.1f} MB, on {len(hello['ports'])} addresses "
            f"({min(hello['ports'], key=_ip_key)} … {max(hello['ports'], key=_ip_key)}), ready in "
            f"{time.perf_counter() - t0:.1f}s",
            file=sys.stderr,
            flush=True,
        )
        stop = False
        for n in args.feeds:
            runs: list[dict[str, dict[str, Any]]] = []
            for run in range(args.runs):
                results = run_once_set(n, run, args, server, tmp, fetch, overrides)
                runs.append(results)
                if any(r["timed_out"] or r["exit_code"] != 0 for r in results.values()):
                    print("    a run failed or timed out: stopping here", file=sys.stderr)
                    stop = True
                    break
            for name in runs[0]:
                got = [r[name] for r in runs if name in r]
                row = summarise(n, name, got)
                rows.append(row)
                with args.out.open("a") as out:
                    out.write(json.dumps({**row, "context": context}) + "\n")
            if stop:
                break
        context["server_cpu_total"] = server.ask("stats")["server_cpu"]
    finally:
        if server is not None:
            server.close()
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    context["load_after"] = load_average()
    print_table(rows, context)
    print(f"\nserver process CPU, whole run: {context.get('server_cpu_total', 0):.1f}s")
    print(f"JSON lines: {args.out}")
    bad = [f"{r['feeds']} {r['cycle']}: {failed(r['checks'])}" for r in rows if failed(r["checks"])]
    if stop or bad:
        print("WARNING: checks failed: " + "; ".join(bad or ["a run failed"]), file=sys.stderr)
        return 1
    return 0


def _ip_key(address: str) -> tuple[int, ...]:
    return tuple(int(x) for x in address.split("."))


if __name__ == "__main__":
    sys.exit(main())
