"""Where feed connections are made: httpcore's connection pool over a network backend
that looks at the address each connection really reached.

A feed URL (or a redirect) whose host resolves to a loopback, link-local or private
address is refused unless ``fetch.allow_private`` is set. The check is made on the
socket's peer address after connecting and before a byte is sent, not on a DNS
answer read earlier, so a name that resolves to a public address for one lookup
and to 127.0.0.1 for the next (DNS rebinding) is still refused.

httpx's own transport cannot be given a network backend, so ``GuardedTransport``
is the few lines that join an ``httpx.AsyncClient`` to an ``httpcore`` pool. The
httpcore exceptions that come out of it become our ``FetchError``s here, where
they enter.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from ..errors import FetchTimeout, PrivateAddress, TransportError
from .streams import open_tcp

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
AllowPrivate = bool | Sequence[Network]


def refusal(address: str, allow: AllowPrivate = False) -> str | None:
    """Why a connection to ``address`` is refused (``None``: allowed): not a public
    address, and not allowed by ``allow`` (True: every address; or some networks)."""
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None  # not an IP address (a host name): checked once connected
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_global or allow is True:
        return None
    if allow and any(ip.version == net.version and ip in net for net in allow):
        return None
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_unspecified:
        return "the unspecified address (this machine)"
    return "a private address"


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connections over asyncio streams (``streams.py``), refusing those whose peer is
    not a public address unless allowed."""

    def __init__(self, allow_private: AllowPrivate) -> None:
        self.allow = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if why := refusal(host, self.allow):
            raise PrivateAddress(f"{host} is {why}")  # a literal IP: not even connected to
        stream = await open_tcp(host, port, timeout)
        if self.allow is not True:
            peer = stream.get_extra_info("server_addr")
            address = str(peer[0]) if peer else ""
            why = refusal(address, self.allow) if address else "an address that cannot be checked"
            if why:
                await stream.aclose()
                raise PrivateAddress(f"{host} resolved to {address or '?'}, {why}")
        return stream

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:  # pragma: no cover - feeds never use one
        raise TransportError("unix sockets are not used for feeds")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


Origin = tuple[bytes, bytes, int | None]


class GuardedTransport(httpx.AsyncBaseTransport):
    """httpx requests over httpcore pools whose connections go through
    ``GuardedBackend`` (``httpx.AsyncHTTPTransport`` cannot be given a backend).

    One small pool per origin: httpcore's pool looks at every connection it holds
    (and, for each idle one, at every connection again) whenever a request starts
    or ends, which cost 4 ms of CPU per fetch with 50 connections in one pool. Each
    host gets at most ``per_host`` requests at once, so its pool needs no more
    connections than that. At most ``max_pools`` pools are kept; the least recently
    used idle ones are closed first, and ``close_idle`` closes every idle one (at
    the end of a poll: keep-alive does not outlive the gap to the next one).
    """

    def __init__(self, *, allow_private: AllowPrivate, per_host: int, max_pools: int) -> None:
        self.backend = GuardedBackend(allow_private)
        self.ssl_context = httpx.create_ssl_context()
        self.per_host, self.max_pools = per_host, max_pools
        self.pools: OrderedDict[Origin, httpcore.AsyncConnectionPool] = OrderedDict()
        self.in_use: dict[Origin, int] = {}

    def _pool(self, origin: Origin) -> httpcore.AsyncConnectionPool:
        pool = self.pools.get(origin)
        if pool is None:
            pool = httpcore.AsyncConnectionPool(
                ssl_context=self.ssl_context,
                max_connections=self.per_host,
                max_keepalive_connections=self.per_host,
                keepalive_expiry=5.0,
                http1=True,
                http2=True,
                network_backend=self.backend,
            )
            self.pools[origin] = pool
        self.pools.move_to_end(origin)
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        url = request.url
        origin = (url.raw_scheme, url.raw_host, url.port)
        pool = self._pool(origin)
        if len(self.pools) > self.max_pools:
            await self._close_idle(len(self.pools) - self.max_pools)
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        self.in_use[origin] = self.in_use.get(origin, 0) + 1
        try:
            with translated():
                response = await pool.handle_async_request(core)
        except BaseException:
            self._release(origin)
            raise
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Stream(response.stream, lambda: self._release(origin)),
            extensions=response.extensions,
        )

    def _release(self, origin: Origin) -> None:
        left = self.in_use.get(origin, 0) - 1
        if left > 0:
            self.in_use[origin] = left
        else:
            self.in_use.pop(origin, None)

    async def _close_idle(self, most: int | None = None) -> None:
        idle = [o for o in self.pools if o not in self.in_use][:most]
        for origin in idle:
            await self.pools.pop(origin).aclose()

    async def close_idle(self) -> None:
        await self._close_idle()

    async def aclose(self) -> None:
        pools, self.pools = list(self.pools.values()), OrderedDict()
        for pool in pools:
            await pool.aclose()


class _Stream(httpx.AsyncByteStream):
    def __init__(self, stream: Any, released: Callable[[], None]) -> None:
        self.stream = stream
        self.released: Callable[[], None] | None = released

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with translated():
            async for part in self.stream:
                yield part

    async def aclose(self) -> None:
        try:
            if hasattr(self.stream, "aclose"):
                await self.stream.aclose()
        finally:
            if self.released is not None:
                self.released()
                self.released = None


@contextmanager
def translated() -> Iterator[None]:
    """httpcore's exceptions, as ours."""
    try:
        yield
    except httpcore.TimeoutException as exc:
        raise FetchTimeout(f"timed out ({exc.__class__.__name__})") from exc
    except (httpcore.ConnectError, httpcore.NetworkError) as exc:
        raise TransportError(_describe(exc)) from exc
    except httpcore.ProtocolError as exc:
        raise TransportError(_describe(exc)) from exc
    except httpcore.UnsupportedProtocol as exc:
        raise TransportError(_describe(exc)) from exc
    except ssl.SSLError as exc:  # pragma: no cover - httpcore maps those it expects
        raise TransportError(_describe(exc)) from exc


def _describe(exc: Exception) -> str:
    text = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}"[:300]
