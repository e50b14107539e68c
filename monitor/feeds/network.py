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

import ipaddress
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from ..errors import FetchTimeout, PrivateAddress, TransportError

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
    """httpcore's AnyIO backend, refusing connections whose peer is not public."""

    def __init__(self, allow_private: AllowPrivate) -> None:
        self.allow = allow_private
        self.inner = httpcore.AnyIOBackend()

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
        stream = await self.inner.connect_tcp(host, port, timeout, local_address, socket_options)
        if self.allow is not True:
            peer = stream.get_extra_info("server_addr")
            address = str(peer[0]) if peer else ""
            why = refusal(address, self.allow) if address else "an address that cannot be checked"
            if why:
                await stream.aclose()
                raise PrivateAddress(f"{host} resolved to {address or '?'}, {why}")
        return _Closing(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:  # pragma: no cover - feeds never use one
        raise TransportError("unix sockets are not used for feeds")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class _Closing(httpcore.AsyncNetworkStream):
    """Closes the socket when a TLS handshake is cancelled. httpcore closes it only on
    an ``Exception``; the deadline's ``CancelledError`` mid-handshake would leak it."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self.inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self.inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self.inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            return await self.inner.start_tls(ssl_context, server_hostname, timeout)
        except BaseException:
            await self.inner.aclose()  # the socket is shut at once; only a checkpoint awaits
            raise

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


def connection_pool(
    *, allow_private: AllowPrivate, max_connections: int, http2: bool = True
) -> httpcore.AsyncConnectionPool:
    return httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=5.0,
        http1=True,
        http2=http2,
        network_backend=GuardedBackend(allow_private),
    )


class GuardedTransport(httpx.AsyncBaseTransport):
    """httpx requests over our own httpcore pool (what ``httpx.AsyncHTTPTransport``
    does, less the options we never use)."""

    def __init__(self, pool: httpcore.AsyncConnectionPool) -> None:
        self.pool = pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with translated():
            response = await self.pool.handle_async_request(core)
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Stream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.pool.aclose()


class _Stream(httpx.AsyncByteStream):
    def __init__(self, stream: Any) -> None:
        self.stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with translated():
            async for part in self.stream:
                yield part

    async def aclose(self) -> None:
        if hasattr(self.stream, "aclose"):
            await self.stream.aclose()


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
