#!/usr/bin/env python
"""Benchmark of `monitor once` against a local feed farm.

A farm of N feed documents (default 1,000; about a third real documents from
``../shared/corpus/feeds/real``, the rest generated RSS 2.0 / Atom with 50
entries each) is served on 127.0.0.1 by a *separate* server process (the
stdlib-only ``tests/fakes/feed_server.py``), so the server's CPU never counts
as the monitor's. Then, on one database:

* cycle 1 ``first``      fresh database, ETag sent: every feed answers 200;
* cycle 2 ``304``        nothing changed: every feed answers 304;
* cycle 3 ``no-etag``    the server stops sending validators: every feed
                         answers 200 with the same bytes, which the monitor
                         must recognise by content hash and not parse;

and, in the same run, the CPU time of feedparser alone parsing exactly the
same N documents (default options, and the options the monitor uses).

``monitor once`` runs as a child process; its wall time is measured around
the child and its CPU time (user + system, including interpreter start-up
and imports) comes from ``os.wait4``'s rusage: nothing is read from its
output except, for information, the counts of its summary line.

Run with the project's interpreter:

    .venv/bin/python bench/cycle.py                 # 1,000 feeds, a few minutes
    .venv/bin/python bench/cycle.py --feeds 50      # smoke run, seconds

Results: a table on stdout and JSON in ``--out`` (bench/results/cycle.json).
Not for CI. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import html
import io
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
REAL_DIR = CORPUS / "feeds" / "real"
ITEMS_FILE = CORPUS / "items" / "news-items.jsonl"
RULES = REPO / "rules"
DEFAULT_OUT = REPO / "bench" / "results" / "cycle.json"

# Targets, as ratios to feedparser alone with the options the monitor uses
# (sanitising and relative-URI passes off) over the same documents
TARGET_FIRST_VS_PARSE = 1.2  # first cycle, whole process tree
TARGET_304_VS_PARSE = 0.10  # every feed 304
TARGET_CHANGED_VS_PARSE = 0.10  # 10% of feeds with one new entry, the rest 304

RSS_CT = "application/rss+xml; charset=utf-8"
ATOM_CT = "application/atom+xml; charset=utf-8"

SUMMARY_RE = re.compile(
    r"(?P<feeds>\d+) feeds polled \((?P<unchanged>\d+) unchanged, (?P<failed>\d+) failed\)"
    r" · (?P<new>\d+) new entries · (?P<alerts>\d+) new alerts · sent (?P<sent>\d+), "
    r"pending (?P<pending>\d+), failed (?P<alerts_failed>\d+), held for digest (?P<digest>\d+)"
    r" · (?P<wall>[\d.]+)s wall, (?P<cpu>[\d.]+)s CPU"
)


# ---------------------------------------------------------------------------------------
# The farm: documents written to a temporary folder, described by a manifest
# ---------------------------------------------------------------------------------------

# Neutral newsroom sentences used to pad summaries to a realistic length without
# changing which rules an entry matches (that is decided by the title and lead).
FILLER = [
    "The company said it would share more details in the coming weeks.",
    "A spokesperson declined to comment further when reached on Tuesday.",
    "Analysts expect the announcement to be discussed at next month's industry conference.",
    "The report, published on Monday, draws on interviews with more than forty people.",
    "Officials did not say when the review would be completed.",
    "Readers can find the full statement on the organisation's website.",
    "It's the second such update this year, following a smaller release in the spring.",
    "The figures have not been independently verified.",
    "Several partners said they were informed only shortly before the announcement.",
    "More information is expected once the quarterly results are published.",
    "The change applies to customers in Europe and North America first.",
    "According to the filing, the work began late last year.",
    "Staff were told about the plans at an internal meeting on Friday.",
    'The organisation said it is "reviewing the situation" & will update its guidance.',
    "Earlier coverage of the story is linked below for context.",
    "The project's maintainers thanked contributors for their feedback.",
    "A full timeline of events is available in the original report.",
    "The agency's statement runs to three pages and includes a list of recommendations.",
    "This article was updated with additional context after publication.",
    "Local media first reported the news late on Sunday evening.",
]
AUTHORS = [
    "Jane Doe",
    "Alex Martin",
    "Priya Raman",
    "Tomás García",
    "Chen Wei",
    "Sam O'Neil",
    "Fatima Zahra",
    "Lukas Becker",
    "News Desk",
    "Staff Writer",
]
CATEGORIES = [
    "Security",
    "Technology",
    "Business",
    "World",
    "Policy",
    "Cloud",
    "Research",
    "Privacy",
    "Industry",
    "Automotive",
    "Finance",
    "Science",
]
# Fallback vocabulary when the corpus news items are absent.
SUBJECTS = [
    "City council",
    "Regional hospital",
    "Software maker",
    "Car maker",
    "Crypto exchange",
    "University",
    "Logistics firm",
    "Retail chain",
    "Cloud provider",
    "Telecom operator",
]
EVENTS = [
    "reports quarterly results",
    "hit by ransomware attack",
    "confirms data breach",
    "announces new product line",
    "patches critical vulnerability",
    "opens new office",
    "faces outage after update",
    "names new chief executive",
    "recalls vehicles",
    "loses $4 million in crypto theft",
    "publishes annual report",
    "expands to Asia",
]


def load_news_items() -> list[tuple[str, str]]:
    """(title, lead) pairs: corpus news items if present, else synthetic ones."""
    items: list[tuple[str, str]] = []
    if ITEMS_FILE.is_file():
        for line in ITEMS_FILE.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            title = (row.get("title") or "").strip()
            lead = re.sub(r"\s*\[(\.\.\.|…)\]\s*$", "", (row.get("summary") or "").strip())
            if title:
                items.append((title, lead))
    if not items:
        rng = random.Random(7)
        for s in SUBJECTS:
            for e in EVENTS:
                items.append(
                    (
                        f"{s} {e}",
                        f"The {s.lower()} {e} on {rng.choice(['Monday', 'Friday'])}."
                        f" {rng.choice(FILLER)}",
                    )
                )
    return items


def _entities(text: str, rng: random.Random) -> str:
    """Escape for HTML and sprinkle the entities real feeds use."""
    out = html.escape(text, quote=False)
    if rng.random() < 0.6:
        out = out.replace("'", "&#8217;")
    if rng.random() < 0.4:
        out = re.sub(r'"([^"]*)"', r"&#8220;\1&#8221;", out)
    if rng.random() < 0.3:
        out = out.replace(" - ", " &mdash; ", 1).replace(". ", ".&nbsp; ", 1)
    return out


def html_summary(lead: str, rng: random.Random, site: str, target: int) -> str:
    """An HTML summary of about ``target`` characters: lead, link, filler paragraphs."""
    paras = [f"<p>{_entities(lead, rng)}</p>"] if lead else []
    size = sum(len(p) for p in paras)
    while size < target:
        sentences = rng.sample(FILLER, rng.randint(1, 3))
        body = " ".join(_entities(s, rng) for s in sentences)
        roll = rng.random()
        if roll < 0.35:
            word = rng.choice(
                ["report", "statement", "earlier coverage", "the advisory", "our analysis"]
            )
            body += (
                f' Read <a href="https://{site}/related/{rng.randrange(10**6)}/?utm_source=rss'
                f'&amp;utm_medium=feed">{word}</a>.'
            )
        elif roll < 0.55:
            body = f"<strong>Update:</strong> {body}"
        elif roll < 0.65:
            body = f"<em>{body}</em>"
        paras.append(f"<p>{body}</p>")
        size += len(paras[-1])
    return "\n".join(paras)


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "post"


def generate_feed(
    index: int,
    n_entries: int,
    items: list[tuple[str, str]],
    now: datetime,
    rng: random.Random,
    atom: bool,
    age_hours: float = 0.0,
) -> bytes:
    site = f"www.newssite{index:04d}.example.com"
    now = now - timedelta(hours=age_hours)
    with_content = rng.random() < 0.2  # some feeds also carry the full article
    picks = [rng.choice(items) for _ in range(n_entries)]
    dates = sorted(
        (now - timedelta(seconds=rng.uniform(0, 48 * 3600)) for _ in picks), reverse=True
    )
    parts: list[str] = []
    for j, ((title, lead), when) in enumerate(zip(picks, dates, strict=True)):
        slug = _slug(title)
        post = f"{when:%Y/%m}/{slug}-{index:04d}{j:03d}"
        link = f"https://{site}/{post}/" + (
            "?utm_source=rss&utm_medium=feed" if rng.random() < 0.3 else ""
        )
        summary = html_summary(lead, rng, site, rng.randint(300, 1500))
        content = (
            summary + "\n" + html_summary("", rng, site, rng.randint(1500, 4000))
            if with_content
            else ""
        )
        author = rng.choice(AUTHORS)
        cats = rng.sample(CATEGORIES, rng.randint(0, 3))
        if atom:
            parts.append(
                "  <entry>\n"
                f'    <title type="html">{xml_escape(html.escape(title, quote=False))}</title>\n'
                f'    <link rel="alternate" type="text/html" href="{xml_escape(link)}"/>\n'
                f"    <id>tag:{site},{when:%Y}:post-{index:04d}-{j:03d}</id>\n"
                f"    <published>{when.isoformat(timespec='seconds')}</published>\n"
                f"    <updated>{when.isoformat(timespec='seconds')}</updated>\n"
                f"    <author><name>{xml_escape(author)}</name></author>\n"
                + "".join(f'    <category term="{xml_escape(c)}"/>\n' for c in cats)
                + f'    <summary type="html">{xml_escape(summary)}</summary>\n'
                + (f'    <content type="html">{xml_escape(content)}</content>\n' if content else "")
                + "  </entry>\n"
            )
        else:
            desc = f"<![CDATA[{summary}]]>" if rng.random() < 0.5 else xml_escape(summary)
            guid = (
                f'<guid isPermaLink="false">{site}-{index:04d}-{j:03d}</guid>'
                if rng.random() < 0.5
                else f'<guid isPermaLink="true">{xml_escape(link)}</guid>'
            )
            parts.append(
                "    <item>\n"
                f"      <title>{xml_escape(title)}</title>\n"
                f"      <link>{xml_escape(link)}</link>\n"
                f"      {guid}\n"
                f"      <pubDate>{format_datetime(when)}</pubDate>\n"
                f"      <dc:creator>{xml_escape(author)}</dc:creator>\n"
                + "".join(f"      <category>{xml_escape(c)}</category>\n" for c in cats)
                + f"      <description>{desc}</description>\n"
                + (
                    f"      <content:encoded><![CDATA[{content}]]></content:encoded>\n"
                    if content
                    else ""
                )
                + "    </item>\n"
            )
    name = f"News Site {index:04d}"
    if atom:
        doc = (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">\n'
            f"  <title>{name}</title>\n  <subtitle>Generated for the monitor benchmark</subtitle>\n"
            f'  <link rel="alternate" type="text/html" href="https://{site}/"/>\n'
            f'  <link rel="self" type="application/atom+xml" href="https://{site}/feed.atom"/>\n'
            f"  <id>https://{site}/</id>\n  <updated>{dates[0].isoformat(timespec='seconds')}"
            "</updated>\n" + "".join(parts) + "</feed>\n"
        )
    else:
        doc = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:atom="http://www.w3.org/2005/Atom">\n  <channel>\n'
            f"    <title>{name}</title>\n    <link>https://{site}/</link>\n"
            "    <description>Generated for the monitor benchmark</description>\n"
            "    <language>en-us</language>\n"
            f"    <lastBuildDate>{format_datetime(dates[0])}</lastBuildDate>\n"
            f'    <atom:link href="https://{site}/feed/" rel="self" type="application/rss+xml"/>\n'
            + "".join(parts)
            + "  </channel>\n</rss>\n"
        )
    return doc.encode("utf-8")


_ITEM_RE = re.compile(rb"<(item|entry)[\s>].*?</\1\s*>", re.S)


def trim_real(data: bytes, limit: int) -> tuple[bytes, int | None]:
    """Keep the first ``limit`` <item>/<entry> elements of a real document.

    Returns (bytes, entries) — the original bytes and None when the document
    is short enough or cannot be trimmed safely (checked with feedparser).
    """
    if limit <= 0:
        return data, None
    blocks = list(_ITEM_RE.finditer(data))
    if len(blocks) <= limit:
        return data, None
    trimmed = data[: blocks[limit].start()] + data[blocks[-1].end() :]
    import feedparser  # only needed here, and in the parse-only child

    got = len(
        feedparser.parse(
            io.BytesIO(trimmed), sanitize_html=False, resolve_relative_uris=False
        ).entries
    )
    return (trimmed, got) if got == limit else (data, None)


def real_documents(limit: int) -> list[dict[str, Any]]:
    if not REAL_DIR.is_dir():
        return []
    sys.path.insert(0, str(REPO))
    from tests.fakes.feed_server import guess_feed_content_type

    docs = []
    for file in sorted(REAL_DIR.glob("*.xml")):
        raw = file.read_bytes()
        data, trimmed_to = trim_real(raw, limit)
        docs.append(
            {
                "name": file.name,
                "data": data,
                "original_bytes": len(raw),
                "trimmed_to": trimmed_to,
                "content_type": guess_feed_content_type(data),
            }
        )
    return docs


def build_farm(
    farm: Path,
    n: int,
    n_entries: int,
    real_share: float,
    real_limit: int,
    seed: int,
    age_hours: float = 0.0,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Write N documents under ``farm``; return the manifest and a description."""
    farm.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    reals = real_documents(real_limit) if real_share > 0 else []
    items = load_news_items()
    manifest: list[dict[str, Any]] = []
    n_real = n_gen = 0
    for i in range(n):
        is_real = bool(reals) and int((i + 1) * real_share) > int(i * real_share)
        if is_real:
            doc = reals[n_real % len(reals)]
            n_real += 1
            data, ctype, kind = doc["data"], doc["content_type"], f"real:{doc['name']}"
            path = f"/real/{i:04d}/{doc['name']}"
        else:
            atom = n_gen % 3 == 2  # two RSS 2.0 for one Atom
            data = generate_feed(i, n_entries, items, now, rng, atom, age_hours)
            ctype, kind = (ATOM_CT, "atom") if atom else (RSS_CT, "rss")
            path = f"/gen/{i:04d}." + ("atom" if atom else "xml")
            n_gen += 1
        file = f"{i:04d}.xml"
        (farm / file).write_bytes(data)
        manifest.append(
            {"path": path, "file": file, "content_type": ctype, "kind": kind, "bytes": len(data)}
        )
    info = {
        "feeds": n,
        "real_documents_served": n_real,
        "generated_documents": n_gen,
        "distinct_real_documents": len(reals),
        "real_trimmed": {d["name"]: d["trimmed_to"] for d in reals if d["trimmed_to"]},
        "real_entry_limit": real_limit,
        "real_corpus": str(REAL_DIR) if reals else None,
        "text_source": str(ITEMS_FILE) if ITEMS_FILE.is_file() else "synthetic",
        "entries_per_generated_feed": n_entries,
        "age_hours": age_hours,
        "total_bytes": sum(m["bytes"] for m in manifest),
        "generated_bytes": sum(m["bytes"] for m in manifest if not m["kind"].startswith("real")),
        "real_bytes": sum(m["bytes"] for m in manifest if m["kind"].startswith("real")),
        "seed": seed,
    }
    return manifest, info


# ---------------------------------------------------------------------------------------
# Child modes: the feed server, and feedparser alone
# ---------------------------------------------------------------------------------------


def serve(manifest_file: Path) -> None:
    """Serve the farm; commands on stdin, one JSON answer per line on stdout."""
    sys.path.insert(0, str(REPO))
    from tests.fakes.feed_server import FeedServer

    manifest = json.loads(manifest_file.read_text())
    farm = manifest_file.parent
    docs = [
        (m["path"], (farm / m["file"]).read_bytes(), m["content_type"])
        for m in manifest["documents"]
    ]
    server = FeedServer().start()
    validators_on = True

    def load(validators: bool) -> None:
        nonlocal validators_on
        validators_on = validators
        for path, body, ctype in docs:
            server.set_feed(path, body, content_type=ctype, etag=validators)

    def change(share: float, seed: int) -> int:
        """One new entry at the top of ``share`` of the generated documents."""
        rng = random.Random(seed)
        generated = [i for i, (path, _, _) in enumerate(docs) if path.startswith("/gen/")]
        picked = rng.sample(generated, round(share * len(docs)))
        when = datetime.now(UTC).replace(microsecond=0)
        for i in picked:
            path, body, ctype = docs[i]
            docs[i] = (path, new_entry(body, path, seed, when), ctype)
            server.set_feed(path, docs[i][1], content_type=ctype, etag=validators_on)
        return len(picked)

    def reply(obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    load(True)
    reply({"base_url": server.base_url})
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "validators":
            load(cmd[1] == "on")
            reply({"ok": True})
        elif cmd[0] == "stats":
            statuses: dict[str, int] = {}
            conditional = 0
            paths = set()
            for req in server.requests:
                statuses[str(req["status"])] = statuses.get(str(req["status"]), 0) + 1
                conditional += (
                    "if-none-match" in req["headers"] or "if-modified-since" in req["headers"]
                )
                paths.add(req["path"])
            reply(
                {
                    "requests": sum(statuses.values()),
                    "statuses": statuses,
                    "conditional_requests": conditional,
                    "distinct_paths": len(paths),
                    "server_cpu": time.process_time(),
                }
            )
        elif cmd[0] == "reset":
            server.reset_log()
            reply({"ok": True})
        elif cmd[0] == "change":
            reply({"changed": change(float(cmd[1]), int(cmd[2]))})
        elif cmd[0] == "quit":
            break
    server.stop()


def new_entry(body: bytes, path: str, seed: int, when: datetime) -> bytes:
    """The document with one more entry before its first (neutral text: it alerts on nothing)."""
    n = f"{abs(hash((path, seed))) % 10**8:08d}"
    title = f"Quarterly newsletter {n}: schedule for the community meeting"
    link = f"https://update.example.com{path}/{seed}/{n}"
    text = "<p>The meeting is on Thursday. " + " ".join(FILLER[:4]) + "</p>"
    if b"<feed" in body[:2000]:
        item = (
            f'<entry><title>{title}</title><link href="{link}"/><id>{link}</id>'
            f"<published>{when.isoformat()}</published><updated>{when.isoformat()}</updated>"
            f'<summary type="html">{xml_escape(text)}</summary></entry>\n'
        )
        at = body.index(b"<entry")
    else:
        item = (
            f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>{format_datetime(when)}</pubDate>"
            f"<description>{xml_escape(text)}</description></item>\n"
        )
        at = body.index(b"<item")
    return body[:at] + item.encode() + body[at:]


def parse_only(manifest_file: Path, mode: str) -> None:
    """CPU of feedparser.parse over the farm's documents, in a fresh process."""
    import feedparser

    manifest = json.loads(manifest_file.read_text())
    farm = manifest_file.parent
    bodies = [(farm / m["file"]).read_bytes() for m in manifest["documents"]]
    kwargs: dict[str, Any] = {}
    if mode == "fast":
        kwargs = {"sanitize_html": False, "resolve_relative_uris": False}
    entries = bozo = 0
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    for body in bodies:
        doc = feedparser.parse(io.BytesIO(body), **kwargs)
        entries += len(doc.entries)
        bozo += bool(doc.get("bozo"))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        json.dumps(
            {
                "mode": mode,
                "cpu": cpu,
                "wall": wall,
                "documents": len(bodies),
                "entries": entries,
                "bozo": bozo,
                "feedparser": feedparser.__version__,
            }
        )
    )


def drain(config: Path) -> None:
    """Deliver everything the outbox still holds (to /dev/null), through the library.

    A daemon would have drained a first cycle's thousands of alerts over the
    following ticks; this puts the database in that steady state before the next
    measured `monitor once`.
    """
    from monitor.app import Monitor, deliver
    from monitor.config import load_settings

    with open(os.devnull, "w") as sink:
        mon = Monitor.open(load_settings(config), stream=sink)
        sent = rounds = 0
        cpu = time.process_time()
        try:
            while True:
                report = deliver(mon, mon.delivery(), once=True)
                rounds += 1
                sent += report.sent
                if report.sent == 0:
                    break
            counts = mon.store.outbox.counts()
        finally:
            mon.close()
    print(
        json.dumps(
            {
                "sent": sent,
                "rounds": rounds,
                "cpu": time.process_time() - cpu,
                "alert_states": counts,
            }
        )
    )


# ---------------------------------------------------------------------------------------
# The parent: run everything and report
# ---------------------------------------------------------------------------------------


class Server:
    """A server child process (``script _serve ARG``) spoken to in JSON lines over its
    stdin and stdout; its first line is its hello. This farm's and ``bench/farm.py``'s."""

    def __init__(self, script: str, arg: str, what: str = "the feed server") -> None:
        self.what = what
        self.proc = subprocess.Popen(
            [sys.executable, script, "_serve", arg],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.hello = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"{self.what} process died (see its stderr above)")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise SystemExit(f"{self.what}: {answer['error']}")
        return answer

    def ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def monitor_command(workdir: Path, profile: Path | None) -> list[str]:
    script = Path(sys.executable).with_name("monitor")
    if profile is None and script.exists():
        return [str(script)]
    launcher = workdir / "launch_monitor.py"
    launcher.write_text("from monitor.cli import main\nmain()\n")
    if profile is not None:
        return [sys.executable, "-m", "cProfile", "-o", str(profile), str(launcher)]
    return [sys.executable, str(launcher)]


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update(SLACK_BOT_TOKEN="", SLACK_WEBHOOK_URL="", SLACK_API_URL="")
    no_proxy = ",".join(x for x in (env.get("NO_PROXY"), "127.0.0.1", "localhost") if x)
    env["NO_PROXY"] = env["no_proxy"] = no_proxy
    return env


def become_subreaper() -> bool:
    """Orphaned descendants of `monitor once` (its parse pool's forkserver) are then
    reparented to this process, so their CPU is counted when they are reaped."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(36, 1, 0, 0, 0) == 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def children_of(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            out.update(int(x) for x in task.read_text().split())
    return out


def reap_orphans(keep: set[int], limit: float = 15.0) -> None:
    """Wait for every child of ours but ``keep`` (reparented orphans included)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        others = children_of(os.getpid()) - keep
        if not others:
            return
        for pid in others:
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == 0:
                    continue
            except ChildProcessError:
                pass
        time.sleep(0.05)


class TreeMemory(threading.Thread):
    """Peaks of the summed RSS of a process and all its descendants, sampled every
    ``every`` seconds, and of their summed PSS (which splits the pages the parse
    pool's workers share with the forkserver) only when the RSS reaches a new peak
    and every ``PSS_EVERY``-th sample: reading ``smaps_rollup`` walks the page tables,
    about 1 ms per 100 MB, CPU this process would take from the measured one on a
    2-core machine."""

    PSS_EVERY = 10

    def __init__(self, root: int, every: float) -> None:
        super().__init__(daemon=True)
        self.root, self.every = root, every
        self.rss_kb = self.pss_kb = self.processes = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        samples = 0
        while not self._stop_event.wait(self.every):
            pids, todo = set(), [self.root]
            while todo:
                pid = todo.pop()
                if pid not in pids:
                    pids.add(pid)
                    todo.extend(children_of(pid))
            rss = sum(_kb(pid, "status", "VmRSS:") for pid in pids)
            if rss > self.rss_kb or samples % self.PSS_EVERY == 0:
                self.pss_kb = max(self.pss_kb, sum(_kb(p, "smaps_rollup", "Pss:") for p in pids))
            self.rss_kb = max(self.rss_kb, rss)
            self.processes = max(self.processes, len(pids))
            samples += 1

    def stop(self) -> TreeMemory:
        self._stop_event.set()
        self.join()
        return self


def _kb(pid: int, file: str, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass  # the process ended between the listing and the read
    return 0


KEEP_CHILDREN: set[int] = set()  # the feed server: alive across runs, never reaped early


def run_monitor(
    name: str,
    config: Path,
    workdir: Path,
    timeout: float,
    sample: float,
    profile: Path | None = None,
) -> dict[str, Any]:
    """`monitor once` as a child: wall around it, CPU of its whole process tree (its
    rusage from wait4 plus every reaped descendant's), sampled memory of the tree."""
    cmd = [
        *monitor_command(workdir, profile),
        "--log-format",
        "json",
        "once",
        "--config",
        str(config),
    ]
    stderr_file = workdir / f"{name}.stderr"
    env = child_env()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(os.devnull, "wb") as devnull, open(stderr_file, "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=devnull, stderr=err, cwd=workdir, env=env)
        sampler = TreeMemory(proc.pid, sample)
        sampler.start()
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)

        killer = threading.Timer(timeout, kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - started
        sampler.stop()
    reap_orphans(KEEP_CHILDREN)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    exit_code = os.waitstatus_to_exitcode(status)
    text = stderr_file.read_text(errors="replace")
    found = SUMMARY_RE.search(text)
    summary = (
        {k: (float(v) if k in ("wall", "cpu") else int(v)) for k, v in found.groupdict().items()}
        if found
        else None
    )
    if exit_code != 0 or summary is None:
        sys.stderr.write(f"\n`monitor once` ({name}) exited {exit_code}; its stderr:\n")
        sys.stderr.write(text[-3000:] + "\n")
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    return {
        "exit_code": exit_code,
        "timed_out": timed_out.is_set(),
        "wall": wall,
        "cpu": user + system,
        "cpu_user": user,
        "cpu_sys": system,
        "cpu_main_process": usage.ru_utime + usage.ru_stime,
        "main_rss_mb": usage.ru_maxrss / 1024,
        "tree_rss_peak_mb": sampler.rss_kb / 1024,
        "tree_pss_peak_mb": sampler.pss_kb / 1024,
        "tree_processes": sampler.processes,
        "monitor_summary": summary,
        "log_lines": text.count("\n"),
        "warning_log_lines": sum(
            '"level": "warning"' in ln or '"level": "error"' in ln for ln in text.splitlines()
        ),
    }


def run_parse_only(manifest_file: Path, mode: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "_parse", str(manifest_file), mode],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_drain(config: Path, workdir: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "_drain", str(config)],
        cwd=workdir,
        env=child_env(),
        capture_output=True,
        text=True,
    )
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        sys.stderr.write(
            "warning: could not drain the outbox (the measured cycles then include "
            "delivering leftovers):\n" + out.stderr[-2000:] + "\n"
        )
        return {"error": out.stderr[-500:]}
    return json.loads(lines[-1])


def write_config(
    path: Path,
    database: Path,
    base_url: str,
    manifest: list[dict[str, Any]],
    concurrency: int,
    overrides: dict[str, Any] | None = None,
) -> None:
    feeds = [
        {"name": f"feed-{i:04d} {m['kind']}", "url": base_url + m["path"]}
        for i, m in enumerate(manifest)
    ]
    config = {
        "database": str(database),
        "rules": str(RULES),
        # one local server stands for many hosts: no per-host cap, and 127.0.0.1 allowed
        "fetch": {"concurrency": concurrency, "per_host": concurrency, "allow_private": True},
        "feeds": feeds,
    }
    for dotted, value in (overrides or {}).items():
        *parents, last = dotted.split(".")
        node = config
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    # JSON is YAML; no dependency needed to write it.
    path.write_text("# generated by bench/cycle.py\n" + json.dumps(config, indent=1) + "\n")


def parse_set(items: list[str]) -> dict[str, Any]:
    """``--set stories.enabled=false`` → {"stories.enabled": False} (values are JSON if they
    parse as JSON, else strings)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set wants KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def git_state() -> dict[str, Any]:
    """Which code was measured: others edit the tree, so record the commit and local edits."""

    def git(*a: str) -> str:
        try:
            return subprocess.run(
                ["git", "-C", str(REPO), *a], capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""

    return {
        "commit": git("rev-parse", "HEAD") or None,
        # "XY path" lines; git() strips the output, so split rather than slice
        "uncommitted": sorted(
            ln.split(None, 1)[1]
            for ln in git("status", "--porcelain", "--", "monitor", "rules").splitlines()
            if ln.strip()
        ),
    }


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "executable": sys.executable,
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return info


def versions() -> dict[str, str]:
    out = {}
    from importlib.metadata import PackageNotFoundError, version

    for pkg in ("monitor", "feedparser", "httpx", "pydantic", "sqlite-utils", "structlog"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "?"
    return out


def ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}×"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_serve"]:
        serve(Path(argv[1]))
        return 0
    if argv[:1] == ["_drain"]:
        drain(Path(argv[1]))
        return 0
    if argv[:1] == ["_parse"]:
        parse_only(Path(argv[1]), argv[2])
        return 0

    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    ap.add_argument("--feeds", type=int, default=1000, help="documents in the farm")
    ap.add_argument("--entries", type=int, default=50, help="entries per generated feed")
    ap.add_argument(
        "--real-share",
        type=float,
        default=1 / 3,
        help="share of the farm served from real corpus documents (0 = none)",
    )
    ap.add_argument(
        "--real-max-entries",
        type=int,
        default=50,
        help="trim real documents to this many entries (0 = keep them whole; the "
        "three ransomwatch documents have 11-16k entries)",
    )
    ap.add_argument(
        "--age-hours",
        type=float,
        default=0.0,
        help="generated entries are dated within 48 h before now minus this; "
        "e.g. 720: old items, past max_age, so nothing alerts",
    )
    ap.add_argument(
        "--changed",
        type=float,
        default=0.1,
        help="share of the feeds that get one new entry for the `changed` cycle",
    )
    ap.add_argument("--concurrency", type=int, default=16, help="fetch.concurrency")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results")
    ap.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="run each `monitor once` under cProfile, writing DIR/<cycle>.prof "
        "(timings then include the profiler's overhead)",
    )
    ap.add_argument(
        "--no-drain",
        action="store_true",
        help="do not empty the outbox between cycles (then the 304 and no-etag "
        "cycles also deliver up to 500 alerts left over from the first)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument(
        "--timeout",
        type=float,
        default=1800,
        help="per `monitor once` run, seconds; a run killed at the limit ends the cycles",
    )
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra setting in the generated config, dotted, value as JSON "
        "(e.g. --set stories.enabled=false); repeatable. Default: none (the defaults are measured)",
    )
    args = ap.parse_args(argv)

    try:
        import feedparser  # noqa: F401

        import monitor  # noqa: F401
    except ImportError as exc:
        ap.error(f"{exc}: run with the project's interpreter, e.g. .venv/bin/python bench/cycle.py")

    started_at = datetime.now(UTC)
    code = git_state()  # before the runs: the tree may change while they go
    tmp = Path(tempfile.mkdtemp(prefix="monitor-bench-"))
    farm = tmp / "farm"
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        args.profile = args.profile.resolve()
    server = None
    try:
        t0 = time.perf_counter()
        if args.real_share > 0 and not REAL_DIR.is_dir():
            print(
                f"note: {REAL_DIR} not found; the farm is generated documents only", file=sys.stderr
            )
        manifest, farm_info = build_farm(
            farm,
            args.feeds,
            args.entries,
            args.real_share,
            args.real_max_entries,
            args.seed,
            args.age_hours,
        )
        manifest_file = farm / "manifest.json"
        manifest_file.write_text(json.dumps({"documents": manifest}))
        print(
            f"farm: {farm_info['feeds']} documents ({farm_info['real_documents_served']} real "
            f"from {farm_info['distinct_real_documents']} files, "
            f"{farm_info['generated_documents']} generated), "
            f"{farm_info['total_bytes'] / 1e6:.1f} MB, built in {time.perf_counter() - t0:.1f}s",
            file=sys.stderr,
        )

        subreaper = become_subreaper()
        server = Server(__file__, str(manifest_file))
        base_url = server.hello["base_url"]
        KEEP_CHILDREN.add(server.proc.pid)
        database = tmp / "db" / "monitor.db"
        config = tmp / "monitor.yaml"
        overrides = parse_set(args.set)
        write_config(config, database, base_url, manifest, args.concurrency, overrides)
        empty = tmp / "empty.yaml"
        write_config(
            empty, tmp / "db-empty" / "monitor.db", base_url, [], args.concurrency, overrides
        )

        # The baseline first: it is quick, and stands even if a monitor run times out.
        print("feedparser alone over the same documents …", file=sys.stderr)
        parse_default = run_parse_only(manifest_file, "default")
        parse_fast = run_parse_only(manifest_file, "fast")
        print(
            f"    default {parse_default['cpu']:.2f}s CPU, "
            f"no sanitize/relative URIs {parse_fast['cpu']:.2f}s CPU",
            file=sys.stderr,
        )

        cycles: dict[str, dict[str, Any]] = {}
        plan = [
            ("startup", empty, None, "no feeds: interpreter, imports, config, rules, database"),
            ("first", config, "on", "fresh database, ETag on: every feed 200, all parsed"),
            ("304", config, "on", "same database, nothing changed: every feed 304"),
            (
                "changed",
                config,
                "change",
                f"{args.changed:.0%} of the feeds have one new entry, the rest answer 304",
            ),
            (
                "no-etag",
                config,
                "off",
                "no ETag/Last-Modified sent: 200, same bytes, skipped by content hash",
            ),
        ]
        for name, cfg, validators, what in plan:
            if validators == "off":
                server.ask("validators off")
            changed = 0
            if validators == "change":
                changed = server.ask(f"change {args.changed} {args.seed}")["changed"]
            server.ask("reset")
            print(f"running `monitor once` — {name}: {what} …", file=sys.stderr)
            profile = args.profile / f"{name}.prof" if args.profile else None
            result = run_monitor(name, cfg, tmp, args.timeout, 0.1, profile)
            result["server"] = server.ask("stats")
            result["what"] = what
            if changed:
                result["changed_feeds"] = changed
            cycles[name] = result
            print(
                f"    {result['wall']:.2f}s wall, {result['cpu']:.2f}s CPU, "
                f"answers {result['server']['statuses']}",
                file=sys.stderr,
            )
            if result["timed_out"]:
                print(
                    f"    killed after --timeout {args.timeout:g}s; the later cycles are skipped",
                    file=sys.stderr,
                )
                break
            if result["exit_code"] != 0:
                why = (
                    f"killed by signal {-result['exit_code']} from outside the benchmark"
                    if result["exit_code"] < 0
                    else f"exit code {result['exit_code']}"
                )
                print(f"    {why}; the later cycles are skipped", file=sys.stderr)
                break
            pending = (result["monitor_summary"] or {}).get("pending", 0)
            if name != "startup" and pending and not args.no_drain:
                print(
                    f"    draining {pending} alerts left in the outbox (not measured) …",
                    file=sys.stderr,
                )
                result["drained_after"] = run_drain(cfg, tmp)

        server_cpu = server.ask("stats")["server_cpu"]
    finally:
        if server is not None:
            server.close()
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    n = args.feeds
    base = parse_fast["cpu"]  # the targets' baseline: feedparser as the monitor calls it
    empty_cycle: dict[str, Any] = {"server": {"statuses": {}}, "monitor_summary": None}
    first = cycles.get("first", empty_cycle)
    c304 = cycles.get("304", empty_cycle)
    changed_cycle = cycles.get("changed", empty_cycle)
    noetag = cycles.get("no-etag", empty_cycle)
    for c in cycles.values():
        c["cpu_vs_parse_only"] = ratio(c["cpu"], base)
        c["cpu_vs_first"] = ratio(c["cpu"], first["cpu"]) if "cpu" in first else None
    checks = {
        "all_cycles_ran": all(
            k in cycles for k in ("startup", "first", "304", "changed", "no-etag")
        ),
        "whole_tree_counted": subreaper,
        "all_exit_0": all(c["exit_code"] == 0 for c in cycles.values()),
        "first_all_200": first["server"]["statuses"].get("200") == n,
        "304_all_304": c304["server"]["statuses"].get("304") == n,
        "changed_200_and_304": (
            changed_cycle["server"]["statuses"].get("200") == changed_cycle.get("changed_feeds")
            and changed_cycle["server"]["statuses"].get("304")
            == n - changed_cycle.get("changed_feeds", 0)
        ),
        "no_etag_all_200": noetag["server"]["statuses"].get("200") == n
        and "304" not in noetag["server"]["statuses"],
        "no_etag_all_unchanged": (noetag["monitor_summary"] or {}).get("unchanged") == n,
        "no_failed_feeds": all(
            (c["monitor_summary"] or {}).get("failed", 1) == 0
            for k, c in cycles.items()
            if k != "startup"
        ),
    }
    targets = {
        "first_cpu_vs_parse_only": {
            "value": first.get("cpu_vs_parse_only"),
            "target": TARGET_FIRST_VS_PARSE,
        },
        "304_cpu_vs_parse_only": {
            "value": c304.get("cpu_vs_parse_only"),
            "target": TARGET_304_VS_PARSE,
        },
        "changed_cpu_vs_parse_only": {
            "value": changed_cycle.get("cpu_vs_parse_only"),
            "target": TARGET_CHANGED_VS_PARSE,
        },
    }
    for t in targets.values():
        t["met"] = t["value"] is not None and t["value"] <= t["target"]
    results = {
        "benchmark": "bench/cycle.py",
        "date": started_at.isoformat(timespec="seconds"),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": machine(),
        "versions": versions(),
        "code": code,
        "farm": farm_info,
        "parse_only": {"default": parse_default, "monitor_options": parse_fast},
        "cycles": cycles,
        "server_cpu_total": server_cpu,
        "targets": targets,
        "checks": checks,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"\nJSON: {args.out}")
    if not all(checks.values()):
        print(
            "WARNING: some checks failed: " + ", ".join(k for k, v in checks.items() if not v),
            file=sys.stderr,
        )
        return 1
    return 0


def print_table(r: dict[str, Any]) -> None:
    m, f = r["machine"], r["farm"]
    pd, pf = r["parse_only"]["default"], r["parse_only"]["monitor_options"]
    print(
        f"\nmonitor once — {f['feeds']} feeds ({f['real_documents_served']} real, "
        f"{f['generated_documents']} generated × {f['entries_per_generated_feed']} entries), "
        f"{f['total_bytes'] / 1e6:.1f} MB, {pd['entries']} entries"
    )
    print(
        f"{r['date']} · {m['nproc']} CPUs · Python {m['python']} · "
        f"feedparser {r['versions']['feedparser']} · commit {(r['code']['commit'] or '?')[:10]}"
        + (
            f" + {len(r['code']['uncommitted'])} uncommitted files in monitor/ or rules/"
            if r["code"]["uncommitted"]
            else ""
        )
        + (f" · --set {' '.join(r['args']['set'])}" if r["args"]["set"] else "")
        + "\n"
    )
    head = (
        f"{'run':<34}{'wall s':>8}{'CPU s':>8}{'÷parse':>8}{'÷first':>8}{'200':>6}{'304':>6}  notes"
    )
    print(head)
    print("-" * len(head))
    print(
        f"{'feedparser.parse, default':<34}{pd['wall']:>8.2f}{pd['cpu']:>8.2f}"
        f"{fmt_ratio(ratio(pd['cpu'], pf['cpu'])):>8}{'':>8}{'':>6}{'':>6}"
        f"  in-process loop, {pd['bozo']} bozo"
    )
    print(
        f"{'feedparser.parse, no sanitize/uris':<34}{pf['wall']:>8.2f}{pf['cpu']:>8.2f}"
        f"{'1.00×':>8}{'':>8}{'':>6}{'':>6}"
        f"  the options monitor uses: the baseline"
    )
    for name, c in r["cycles"].items():
        st = c["server"]["statuses"]
        s = c["monitor_summary"] or {}
        note = (
            f"new {s.get('new', '?')}, alerts {s.get('alerts', '?')}, sent "
            f"{s.get('sent', '?')}, pending {s.get('pending', '?')}, "
            f"rss {c['main_rss_mb']:.0f} MB (tree {c.get('tree_rss_peak_mb', 0):.0f})"
        )
        if c.get("drained_after", {}).get("sent"):
            note += f"; then {c['drained_after']['sent']} drained"
        if c.get("timed_out"):
            note = "KILLED at --timeout; " + note
        elif c["exit_code"] != 0:
            note = f"FAILED (exit {c['exit_code']}); " + note
        print(
            f"{'monitor once: ' + name:<34}{c['wall']:>8.2f}{c['cpu']:>8.2f}"
            f"{fmt_ratio(c['cpu_vs_parse_only']):>8}{fmt_ratio(c['cpu_vs_first']):>8}"
            f"{st.get('200', 0):>6}{st.get('304', 0):>6}  {note}"
        )
    print()
    for key, t in r["targets"].items():
        print(
            f"target {key}: {fmt_ratio(t['value'])} ≤ {t['target']}× → "
            f"{'met' if t['met'] else 'NOT met'}"
        )
    bad = [k for k, v in r["checks"].items() if not v]
    print("checks: " + ("all passed" if not bad else "FAILED " + ", ".join(bad)))


if __name__ == "__main__":
    sys.exit(main())
