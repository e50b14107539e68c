"""httpcore's network stream over asyncio's own streams, without anyio.

Why not httpcore's AnyIO backend: it opens a cancel scope with its own timer for
every read and write and builds a dict of typed attributes each time the pool
asks whether an idle connection is readable; that was a good part of the CPU a
fetch cost. Here a read is a read: no step needs a timeout of its own, because
the deadline on the whole fetch (``http.py``) cancels whatever step is running.

Two things it does that httpcore's backends do not: a TLS handshake cancelled
by that deadline closes its socket (httpcore closes it only on an ``Exception``
and leaked it), and closing never waits for the peer (``abort``: no TLS
close_notify to a server that may never answer it).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import httpcore

HAPPY_EYEBALLS = 0.25  # seconds before trying the next address of a name (RFC 8305)


async def open_tcp(host: str, port: int, timeout: float | None) -> AsyncioStream:
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(
                host, port, happy_eyeballs_delay=HAPPY_EYEBALLS
            )
    except TimeoutError as exc:
        raise httpcore.ConnectTimeout(f"no connection within {timeout:g}s") from exc
    except OSError as exc:
        raise httpcore.ConnectError(str(exc) or exc.__class__.__name__) from exc
    return AsyncioStream(reader, writer)


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            if timeout is None:
                return await self.reader.read(max_bytes)
            async with asyncio.timeout(timeout):
                return await self.reader.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(f"nothing read for {timeout:g}s") from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc) or exc.__class__.__name__) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self.writer.write(buffer)
            if timeout is None:
                await self.writer.drain()
                return
            async with asyncio.timeout(timeout):
                await self.writer.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(f"nothing written for {timeout:g}s") from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc) or exc.__class__.__name__) from exc

    async def aclose(self) -> None:
        self.writer.transport.abort()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            await self.writer.start_tls(
                ssl_context, server_hostname=server_hostname, ssl_handshake_timeout=timeout
            )
        except BaseException as exc:
            self.writer.transport.abort()
            if isinstance(exc, TimeoutError):
                raise httpcore.ConnectTimeout("TLS handshake timed out") from exc
            if isinstance(exc, ssl.SSLError | OSError):
                raise httpcore.ConnectError(f"TLS: {exc}") from exc
            raise
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return self._readable()
        if info == "server_addr":
            return self.writer.get_extra_info("peername")
        if info == "client_addr":
            return self.writer.get_extra_info("sockname")
        if info in ("ssl_object", "socket"):
            return self.writer.get_extra_info(info)
        return None

    def _readable(self) -> bool:
        """Readable while idle means the server closed it: not reused. (asyncio reads
        an idle socket as soon as anything arrives, so the reader knows, not a poll.)"""
        return (
            self.reader.at_eof()
            or self.reader.exception() is not None
            or self.writer.transport.is_closing()
        )
