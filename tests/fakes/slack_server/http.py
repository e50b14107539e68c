"""HTTP plumbing: a threaded stdlib server on ``127.0.0.1`` and the request bodies
``slack_sdk`` sends, read the way Slack reads them.

Bodies may be JSON (what ``slack_sdk`` sends for ``chat.*``) or
``application/x-www-form-urlencoded`` (what it sends for everything else, booleans
as ``"1"``/``"0"``); webhooks also take the JSON in a ``payload`` form field.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from .replies import Reply

#: (verb, path with query, headers, body) -> the reply; FakeSlack's ``_handle``.
Handle = Callable[[str, str, dict[str, str], bytes], Reply]


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 makes bursts of concurrent clients wait
    # for a SYN retransmit (about 1 s); Slack never does that.
    request_queue_size = 128

    def __init__(self, handle: Handle) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = handle


class _Handler(BaseHTTPRequestHandler):
    server: Server
    server_version = "FakeSlack/1.0"

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        reply = self.server.answer(self.command, self.path, dict(self.headers.items()), body)
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            # A client that gave up (timeout) must not crash the server thread.
            pass

    def log_message(self, format: str, *args: Any) -> None:
        # Keep test output clean; every request is recorded in FakeSlack.requests.
        pass


def parse_api_body(body: bytes, content_type: str) -> dict[str, Any] | str | None:
    """JSON or form body -> dict; an undecodable body is kept as a string."""
    if not body:
        return {}
    mime = content_type.split(";", 1)[0].strip().lower()
    text = body.decode("utf-8", errors="replace")
    if mime == "application/json":
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            return text
        return parsed if isinstance(parsed, dict) else text
    if mime in ("application/x-www-form-urlencoded", ""):
        return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}
    return text


def parse_webhook_body(body: bytes, content_type: str) -> dict[str, Any] | str:
    text = body.decode("utf-8", errors="replace")
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime == "application/x-www-form-urlencoded":
        # Webhooks also take the JSON in a ``payload`` form field.
        text = parse_qs(text).get("payload", [""])[-1]
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return text
    return parsed if isinstance(parsed, dict) else text
