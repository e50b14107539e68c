#!/usr/bin/env python
"""Benchmark: how fast the daemon drains a backlog of alerts into Slack at its strictest.

Two scenarios, each run several times (``--runs``):

* ``1 channel``   100 alerts to one channel: ideal 100 s at 1 message a second;
* ``5 channels``  100 alerts, 20 to each of 5 channels: ideal 20 s (they drain side by side).

Slack is the local fake (``tests/fakes/slack_server``) at 1 message a second per channel
with no burst (a 429 with Retry-After past that), served by threads of *this* process;
the monitor is ``monitor run`` (the daemon) as a child process, so the CPU read from its
``/proc/<pid>/stat`` is the monitor's alone. Its feeds are local files (one per channel)
holding 100 distinct alerts; ``slack.breaker`` and ``slack.max_alerts_per_poll`` are set
high so each alert is one post.

* **drain**: from Slack accepting the first post to accepting the last, plus one
  interval (the last post's own second), by the fake's clock. Ideal: posts per
  channel ÷ 1/s. The ratio drain ÷ ideal is the figure (target ≤ 1.10).
* **CPU per post**: the daemon's CPU (user + sys, all threads) from the first post
  to the last, over the posts in between. Start-up, rules and the poll come before
  the first post and are reported apart. Target ≤ 1 ms.

Run with the project's interpreter (about 6 minutes with the defaults):

    .venv/bin/python bench/drain.py
    .venv/bin/python bench/drain.py --runs 1 --alerts 20      # smoke run, about 30 s
    .venv/bin/python bench/drain.py --latency 0.2             # Slack answering in 200 ms

Results: a table on stdout, JSON in ``--out`` (bench/results/drain.json). See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fakes.slack_server import FakeSlack  # noqa: E402

DEFAULT_OUT = REPO / "bench" / "results" / "drain.json"
TOKEN = "xoxb-test-token"
RATE = 1.0  # messages a second per channel, no burst: Slack at its strictest
TARGET_RATIO = 1.10
TARGET_CPU_MS = 1.0
MARK = re.compile(r"DRAIN-(\d+)")
HEADS = ("Vel", "Kor", "Tam", "Quin", "Bram", "Dov", "Fen", "Lux", "Mor", "Zeb", "Ark", "Nim")
TAILS = ("tronics", "axis", "metall", "forge", "plast", "cast", "drive", "gear", "weld", "tek")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def title(i: int) -> str:
    """A distinct event per alert (its own made-up supplier): no two are one story."""
    company = HEADS[i // len(TAILS) % len(HEADS)] + TAILS[i % len(TAILS)]
    suffix = "" if i < len(HEADS) * len(TAILS) else str(i)
    return f"Ransomware attack on supplier {company}{suffix} halts production [DRAIN-{i}]"


def rss(items: list[int], now: datetime) -> str:
    parts = ['<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>B</title>']
    for i in items:
        parts.append(
            f"<item><title>{escape(title(i))}</title><link>https://b.example/{i}</link>"
            f'<guid isPermaLink="false">drain-{i}</guid>'
            f"<pubDate>{format_datetime(now - timedelta(minutes=10))}</pubDate></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts)


def cpu_seconds(pid: int) -> float:
    """user + sys of every thread of ``pid`` so far (from /proc, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def thread_cpu(pid: int) -> dict[str, int]:
    """Nanoseconds on CPU of each live thread of ``pid`` (schedstat: finer than stat's
    clock ticks, which cannot tell a few milliseconds of idle CPU from none)."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):  # the thread ended
            out[task.name] = int((task / "schedstat").read_text().split()[0])
    return out


def idle_cpu(pid: int, seconds: float) -> float:
    """CPU seconds per second that ``pid`` burns with nothing to send."""
    before, began = thread_cpu(pid), time.monotonic()
    time.sleep(seconds)  # a measuring window, not a wait for something to happen
    after, took = thread_cpu(pid), time.monotonic() - began
    used = sum(ns - before.get(tid, 0) for tid, ns in after.items())
    return used / 1e9 / took


def wait(predicate: Any, timeout: float, what: str, every: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)


def run_once(channels: int, alerts: int, latency: float, idle: float, work: Path) -> dict[str, Any]:
    """One drain: a fresh database, the daemon started, stopped after the last post."""
    names = {f"drain-{c + 1}": f"C0DRAIN{c + 1}" for c in range(channels)}
    now = datetime.now(UTC)
    feeds = []
    for c, name in enumerate(names):
        path = work / f"feed-{c + 1}.xml"
        path.write_text(rss(list(range(c, alerts, channels)), now), encoding="utf-8")
        feeds.append({"name": f"Feed {c + 1}", "url": str(path), "channel": f"#{name}"})
    config = work / "monitor.yaml"
    config.write_text(
        json.dumps(
            {
                "database": str(work / "monitor.db"),
                "rules": str(REPO / "rules"),
                "tick": "60s",
                "defaults": {"interval": "1h", "max_age": "72h"},
                "slack": {"breaker": 100_000, "max_alerts_per_poll": 100_000},
                "feeds": feeds,
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MONITOR_"))}
    env = {k: v for k, v in env.items() if not k.lower().endswith("_proxy")}
    with FakeSlack(rate_limit_per_channel=RATE, channels=names, latency=latency) as slack:
        env.update(SLACK_BOT_TOKEN=TOKEN, SLACK_API_URL=slack.base_url)
        log = (work / "daemon.log").open("wb")
        began = time.monotonic()
        command = [sys.executable, "-m", "monitor", "--log-format", "json", "run"]
        daemon = subprocess.Popen(
            [*command, "--config", str(config)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=log,
        )
        try:
            wait(lambda: slack.message_count >= 1, 120, "the first post")
            cpu_first, first_wall = cpu_seconds(daemon.pid), time.monotonic()
            ideal = -(-alerts // channels) / RATE
            wait(lambda: slack.message_count >= alerts, ideal * 3 + 60, "the last post")
            cpu_last, last_wall = cpu_seconds(daemon.pid), time.monotonic()
            idle_rate = idle_cpu(daemon.pid, idle)
        finally:
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(60)
            log.close()
        messages = slack.messages
        rate_limited = len(slack.rate_limited)
    got = [int(m) for msg in messages for m in MARK.findall(msg["text"] or "")]
    at = [float(msg["at"]) for msg in messages]
    drain = max(at) - min(at) + 1 / RATE
    cpu_drain = cpu_last - cpu_first
    between = max(1, len(messages) - 1)
    return {
        "channels": channels,
        "alerts": alerts,
        "posts": len(messages),
        "exactly_once": sorted(got) == list(range(alerts)),
        "rate_limited": rate_limited,
        "exit_code": code,
        "drain_s": round(drain, 3),
        "ideal_s": ideal,
        "ratio": round(drain / ideal, 4),
        "cpu_before_first_post_s": round(cpu_first, 3),
        "cpu_drain_s": round(cpu_drain, 3),
        "cpu_per_post_ms": round(cpu_drain / between * 1000, 3),
        "idle_cpu_ms_per_s": round(idle_rate * 1000, 3),
        # what the posts cost beyond what the daemon burns doing nothing for as long
        "net_cpu_per_post_ms": round(
            max(0.0, cpu_drain - idle_rate * (last_wall - first_wall)) / between * 1000, 3
        ),
        "wall_to_first_post_s": round(first_wall - began, 3),
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def median(key: str) -> float:
        return round(float(statistics.median(r[key] for r in runs)), 4)

    return {
        "runs": len(runs),
        "drain_s": median("drain_s"),
        "ideal_s": runs[0]["ideal_s"],
        "ratio": median("ratio"),
        "cpu_per_post_ms": median("cpu_per_post_ms"),
        "net_cpu_per_post_ms": median("net_cpu_per_post_ms"),
        "idle_cpu_ms_per_s": median("idle_cpu_ms_per_s"),
        "cpu_before_first_post_s": median("cpu_before_first_post_s"),
        "rate_limited": sum(r["rate_limited"] for r in runs),
        "checks_ok": all(r["exactly_once"] and r["exit_code"] == 0 for r in runs),
        "ratio_met": median("ratio") <= TARGET_RATIO,
        "cpu_met": median("cpu_per_post_ms") <= TARGET_CPU_MS,
    }


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "monitor"], cwd=REPO, capture_output=True, text=True
        )
        return out.stdout.strip() + (" (monitor/ modified)" if dirty.stdout.strip() else "")
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ap.add_argument("--runs", type=int, default=3, help="runs per scenario (medians reported)")
    ap.add_argument("--alerts", type=int, default=100, help="alerts per run")
    ap.add_argument("--channels", default="1,5", help="scenarios: channel counts")
    ap.add_argument("--latency", type=float, default=0.0, help="Slack's round trip, seconds")
    ap.add_argument("--idle", type=float, default=10.0, help="seconds of idle CPU measured")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results")
    args = ap.parse_args(argv)

    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_at_start": os.getloadavg(),
        },
        "latency_s": args.latency,
        "scenarios": {},
    }
    for channels in (int(c) for c in args.channels.split(",")):
        runs = []
        for n in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="drain-") as tmp:
                run = run_once(channels, args.alerts, args.latency, args.idle, Path(tmp))
            runs.append(run)
            print(
                f"{channels} channel(s), run {n + 1}: drain {run['drain_s']:.2f} s "
                f"(ideal {run['ideal_s']:g} s, {run['ratio']:.3f}x), "
                f"{run['cpu_per_post_ms']:.2f} ms CPU/post ({run['net_cpu_per_post_ms']:.2f} "
                f"net of {run['idle_cpu_ms_per_s']:.2f} ms/s idle), 429s {run['rate_limited']}, "
                f"exactly once {run['exactly_once']}",
                flush=True,
            )
        results["scenarios"][f"{channels}"] = {"summary": summarise(runs), "runs": runs}

    print(f"\nmedians of {args.runs} run(s), Slack latency {args.latency:g} s:")
    print("| scenario | drain s | ideal s | ÷ ideal | CPU ms/post | net of idle | 429s | checks |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    ok = True
    for channels, scenario in results["scenarios"].items():
        s = scenario["summary"]
        ok &= s["checks_ok"]
        print(
            f"| {args.alerts} alerts, {channels} channel(s) | {s['drain_s']:.2f} | "
            f"{s['ideal_s']:g} | {s['ratio']:.3f}× | {s['cpu_per_post_ms']:.2f} | "
            f"{s['net_cpu_per_post_ms']:.2f} | {s['rate_limited']} | "
            f"{'ok' if s['checks_ok'] else 'FAILED'} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
