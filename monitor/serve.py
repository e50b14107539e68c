"""The daemon's small HTTP server: ``/metrics`` for Prometheus, ``/healthz`` for
load balancers and people. On its own thread; every request gets its own answer
from the database (``metrics.py``'s collector, ``health.py``), never a cache.

prometheus-client's WSGI app does the exposition (content negotiation, gzip,
OpenMetrics); this module only adds the health route and binds the address.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from .errors import ConfigError
from .health import Health

StartResponse = Callable[..., Any]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return  # a scrape every 15 s is not news


class _Threading(WSGIServer):
    daemon_threads = True

    def server_bind(self) -> None:
        # HTTPServer.server_bind asks getfqdn(), which can hang on reverse DNS
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]
        self.setup_environ()

    def process_request(self, request: Any, client_address: Any) -> None:
        threading.Thread(target=self._handle, args=(request, client_address), daemon=True).start()

    def _handle(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)


class MetricsServer:
    def __init__(
        self, address: tuple[str, int], registry: CollectorRegistry, health: Callable[[], Health]
    ) -> None:
        self.address = address
        self.metrics_app = make_wsgi_app(registry)
        self.health = health
        self.server: WSGIServer | None = None
        self.thread: threading.Thread | None = None

    def app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            health = self.health()
            body = json.dumps(health.to_json()).encode()
            status = "200 OK" if health.ok else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json")])
            return [body]
        if path == "/metrics":
            return self.metrics_app(environ, start_response)  # type: ignore[no-any-return]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"/metrics or /healthz\n"]

    def start(self) -> str:
        host, port = self.address

        class Server(_Threading):
            address_family = _family(host, port)

        try:
            self.server = make_server(host, port, self.app, Server, handler_class=_Quiet)
        except OSError as exc:
            raise ConfigError(
                f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}",
                key="metrics.listen",
                hint="choose another address in metrics.listen, or set metrics.enabled: false",
            ) from exc
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="metrics", daemon=True
        )
        self.thread.start()
        return self.url

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_name, self.server.server_port
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.thread is not None:
            self.thread.join(5)


def _family(host: str, port: int) -> socket.AddressFamily:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return socket.AF_INET
    return infos[0][0]
