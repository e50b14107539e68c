#!/usr/bin/env python
"""CPU per fetch: the monitor's fetcher (one asyncio loop) against a big thread pool.

A separate server process (``tests/fakes/feed_server.py``) serves N feeds of about
20 kB with ETags from H hosts (127.0.0.2, 127.0.0.3, …: one server each, all on
this machine's loopback), so only the client's CPU is counted (``getrusage`` of
this process: user + system), and the per-host limit (2) applies as with real feeds.
Each variant fetches every feed twice:

* ``200``: no validators, every feed answers with its body;
* ``304``: with the ETags from the first round, every feed answers 304;

and, with ``--latency S``, a third round where the server waits S seconds before
each answer (many connections open at once, as with real feeds).

Variants, doing the same work per feed (stream, decode, cap, hash):

* ``asyncio``: ``monitor.feeds.fetch.Fetcher.fetch_all`` (httpx.AsyncClient on one
  event loop thread, results handed to this thread as they complete);
* ``threads``: a ``ThreadPoolExecutor`` of ``--concurrency`` threads sharing one
  ``httpx.Client`` over httpcore pools (one per origin, 2 connections each, as
  the monitor's) whose network backend bounds every read, write, connect and TLS
  step by the time left to a per-request deadline (the other way to get a
  deadline on the whole request). It has no per-host queueing: with the feeds
  spread evenly over the hosts, threads wait in the pool instead.

    .venv/bin/python bench/fetch.py --feeds 3000 --concurrency 200 --latency 0.5

Not for CI. Figures in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import httpcore
import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from monitor.feeds.decode import ACCEPT_ENCODING, Body, Decoder  # noqa: E402
from monitor.feeds.fetch import Fetcher  # noqa: E402
from monitor.models import FetchResult, Validators  # noqa: E402

SERVER = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {repo!r})
    from tests.fakes.feed_server import FeedServer
    n, hosts, latency = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    item = b"<item><title>t</title><description>" + b"x" * 400 + b"</description></item>"
    servers = [FeedServer(host=f"127.0.0.{{2 + h}}").start() for h in range(hosts)]
    for i in range(n):
        s = servers[i % hosts]
        body = b"<rss><channel><title>%d</title>" % i + item * 45 + b"</channel></rss>"
        s.set_feed(f"/f{{i}}.xml", body)
        if latency:
            s.set_slow(f"/slow{{i}}.xml", latency, body)
    print(json.dumps([s.base_url for s in servers]), flush=True)
    sys.stdin.read()
    for s in servers:
        s.stop()
    """
)


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# -- the thread-pool variant --------------------------------------------------------------

_deadline = threading.local()


def _left(timeout: float | None) -> float:
    left = _deadline.at - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("deadline")
    return left if timeout is None else min(timeout, left)


class _BoundedStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, _left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, _left(timeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: Any = None, timeout: Any = None) -> Any:
        return _BoundedStream(self.inner.start_tls(ssl_context, server_hostname, _left(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class _BoundedBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self.inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: Any = None, *a: Any, **k: Any) -> Any:
        return _BoundedStream(self.inner.connect_tcp(host, port, _left(timeout), *a, **k))


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def __iter__(self) -> Any:
        yield from self.stream

    def close(self) -> None:
        self.stream.close()


class _Transport(httpx.BaseTransport):
    """One small pool per origin, as the monitor's transport (see monitor/feeds/network.py:
    one big httpcore pool costs O(connections²) per request)."""

    def __init__(self, per_host: int) -> None:
        self.per_host = per_host
        self.backend = _BoundedBackend()
        self.pools: dict[Any, httpcore.ConnectionPool] = {}
        self.lock = threading.Lock()

    def pool(self, origin: Any) -> httpcore.ConnectionPool:
        with self.lock:
            pool = self.pools.get(origin)
            if pool is None:
                pool = self.pools[origin] = httpcore.ConnectionPool(
                    max_connections=self.per_host,
                    max_keepalive_connections=self.per_host,
                    http2=True,
                    network_backend=self.backend,
                )
            return pool

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,  # type: ignore[arg-type]
            extensions=request.extensions,
        )
        url = request.url
        resp = self.pool((url.raw_scheme, url.raw_host, url.port)).handle_request(core)
        return httpx.Response(
            status_code=resp.status,
            headers=resp.headers,
            stream=_Body(resp.stream),
            extensions=resp.extensions,
        )


class ThreadFetcher:
    def __init__(self, concurrency: int, timeout: float = 30.0, per_host: int = 2) -> None:
        self.timeout = timeout
        self.pool = ThreadPoolExecutor(concurrency, thread_name_prefix="fetch")
        self.client = httpx.Client(
            transport=_Transport(per_host),
            timeout=httpx.Timeout(timeout, connect=10.0),
            headers={"Accept-Encoding": ACCEPT_ENCODING},
        )

    def fetch(self, url: str, known: Validators) -> FetchResult:
        _deadline.at = time.monotonic() + self.timeout
        headers = {"If-None-Match": known.etag} if known.etag else {}
        with self.client.stream("GET", url, headers=headers) as resp:
            if resp.status_code == 304:
                resp.read()  # to its end, so the connection is reused
                return FetchResult(url=url, status="not_modified", etag=known.etag)
            body, decoder = Body(10 << 20), Decoder(resp.headers.get("content-encoding", ""))
            for chunk in resp.iter_raw():
                for piece in decoder.feed(chunk):
                    body.add(piece)
            return FetchResult(
                url=url,
                status="ok",
                body=body.bytes(),
                etag=resp.headers.get("etag"),
                content_hash=body.digest(),
            )

    def fetch_all(self, jobs: Iterable[tuple[str, str, Validators]]) -> Iterable[Any]:
        futures = {self.pool.submit(self.fetch, url, known): key for key, url, known in jobs}
        for future in as_completed(futures):
            yield futures[future], future.result()

    def close(self) -> None:
        self.pool.shutdown()
        self.client.close()


# -- measuring ----------------------------------------------------------------------------


def run_round(
    fetch_all: Callable[[list[tuple[str, str, Validators]]], Iterable[Any]],
    jobs: list[tuple[str, str, Validators]],
) -> tuple[dict[str, Any], dict[str, FetchResult]]:
    c0, w0 = cpu(), time.monotonic()
    results: dict[str, FetchResult] = {}
    for key, outcome in fetch_all(jobs):
        if not isinstance(outcome, FetchResult):
            raise SystemExit(f"{key}: {outcome!r}")
        results[key] = outcome
    c1, w1 = cpu(), time.monotonic()
    statuses = sorted({r.status for r in results.values()})
    n = len(jobs)
    return {
        "feeds": n,
        "statuses": statuses,
        "cpu_s": round(c1 - c0, 3),
        "wall_s": round(w1 - w0, 3),
        "cpu_ms_per_fetch": round((c1 - c0) / n * 1000, 3),
    }, results


def variant(
    name: str, bases: list[str], n: int, concurrency: int, latency: float
) -> dict[str, Any]:
    urls = [f"{bases[i % len(bases)]}/f{i}.xml" for i in range(n)]
    if name == "asyncio":
        f = Fetcher(concurrency=concurrency, allow_private=True)
        fetch_all: Callable[..., Iterable[Any]] = f.fetch_all
        close = f.close
    else:
        t = ThreadFetcher(concurrency)
        fetch_all, close = t.fetch_all, t.close
    try:
        out: dict[str, Any] = {}
        warm = [(u, u, Validators()) for u in urls[:50]]
        run_round(fetch_all, warm)  # imports, connections, the loop thread
        out["200"], results = run_round(fetch_all, [(u, u, Validators()) for u in urls])
        known = [(u, u, Validators(results[u].etag)) for u in urls]
        out["304"], _ = run_round(fetch_all, known)
        if latency:
            slow = [f"{bases[i % len(bases)]}/slow{i}.xml" for i in range(n)]
            out[f"200 after {latency:g}s"], _ = run_round(
                fetch_all, [(u, u, Validators()) for u in slow]
            )
        return out
    finally:
        close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--feeds", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--hosts", type=int, default=200, help="servers on 127.0.0.2, .3, …")
    ap.add_argument("--latency", type=float, default=0.0, help="a third round, answers delayed")
    ap.add_argument("--variants", default="asyncio,threads")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "fetch.json")
    args = ap.parse_args()
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SERVER.format(repo=str(REPO)),
            *(str(a) for a in (args.feeds, args.hosts, args.latency)),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        bases = json.loads(server.stdout.readline())
        report: dict[str, Any] = {
            "feeds": args.feeds,
            "concurrency": args.concurrency,
            "hosts": args.hosts,
            "python": platform.python_version(),
            "httpx": httpx.__version__,
        }
        for name in args.variants.split(","):
            report[name] = variant(name, bases, args.feeds, args.concurrency, args.latency)
            for round_name, figures in report[name].items():
                print(
                    f"{name:8} {round_name:14} {figures['cpu_ms_per_fetch']:7.3f} ms CPU/fetch"
                    f"  {figures['cpu_s']:6.2f} s CPU  {figures['wall_s']:6.2f} s wall"
                    f"  {','.join(figures['statuses'])}",
                    flush=True,
                )
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
