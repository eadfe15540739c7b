"""The sampler's HTTP/1.1 client: one GET per call, answered through a callback, no task per request.

The open-loop sampler (:mod:`chaos_sre.slo.sampler`) sends thousands of requests a second on
the same runner as the service's other jobs, so its client does only what an SLI needs:
a GET on a kept-alive connection (a new one when every open connection is busy, as while
an endpoint hangs), the status code, the body read to its end so the connection can be
reused, the latency, and one outcome: the status class, ``timeout`` (no complete answer
within the timeout, connecting included) or ``connection-error`` (refused, reset, closed
before a complete answer, or an answer that is not HTTP). HTTPS verifies the certificate
as any client would. Each request is an asyncio protocol callback and an entry in a heap of
deadlines, not a coroutine, a task, a timer and a response object (docs/performance.md,
"Where the sampler's time goes": the sampler's profiled time per request fell eightfold).

A request that meets a kept-alive connection the server has just closed - before any byte of
an answer came back - is sent once more on a new connection within the same timeout, as
browsers and aiohttp do for idempotent requests; anything else is the request's outcome.
"""

import asyncio
import heapq
import itertools
import re
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast
from urllib.parse import quote, urlsplit

from chaos_sre.errors import ValidationError
from chaos_sre.slo.samples import outcome_of_status

MAX_HEADER_BYTES = 65536
"""An answer whose status line and headers do not end within this many bytes is not HTTP."""
DNS_TTL_SECONDS = 10.0
"""How long a host name's addresses are used before they are looked up again (aiohttp's
default); new connections take the addresses in turn."""

Done = Callable[[int, "int | None", "float | None", str], None]
"""Called once per request: (token, status, latency seconds, outcome)."""


@dataclass(frozen=True)
class Endpoint:
    """Where the requests go: scheme, host, port and the path prefix of a base URL."""

    host: str
    port: int
    tls: bool
    prefix: str

    @classmethod
    def parse(cls, url: str) -> "Endpoint":
        """The endpoint of an ``http://`` or ``https://`` URL, or a one-line ValidationError."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError(f"the sampler's URL must be http:// or https:// with a host, "
                                  f"not {url!r}")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise ValidationError(f"the sampler's URL has an invalid port: {url!r}") from None
        return cls(host=parts.hostname, port=port, tls=parts.scheme == "https",
                   prefix=parts.path.rstrip("/"))

    def host_header(self) -> str:
        default = 443 if self.tls else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"

    def request(self, path: str) -> bytes:
        """The bytes of a GET for ``path`` (relative to the prefix)."""
        target = quote(self.prefix + path, safe="/?&=%:@!$'()*+,;~-._")
        return (f"GET {target} HTTP/1.1\r\nHost: {self.host_header()}\r\n"
                "User-Agent: chaos-sre-sampler\r\nAccept: */*\r\n\r\n").encode("ascii")


_FRAMING_HEADERS = re.compile(rb"\r\n(content-length|transfer-encoding|connection)[ \t]*:([^\r\n]*)",
                              re.IGNORECASE)
"""The headers that say where an answer ends and whether its connection stays open."""


_CHUNK_SIZE, _CHUNK_DATA, _CHUNK_DATA_END, _CHUNK_TRAILERS = range(4)
"""Where a chunked body is: a size line, data, the line end after data, trailers."""


class MalformedResponse(Exception):
    """The bytes that came back are not an HTTP/1.x answer."""


class ResponseReader:
    """Incremental parser of one HTTP/1.x answer to a GET: status, framing, end of body."""

    __slots__ = (
        "buffer",
        "chunk_part",
        "chunked",
        "done",
        "keep_alive",
        "remaining",
        "status",
        "until_close",
    )

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.reset()

    def reset(self) -> None:
        """Ready for the next answer on the same connection."""
        self.buffer.clear()
        self.status: int | None = None
        self.remaining = 0
        self.chunked = False
        self.chunk_part = _CHUNK_SIZE
        self.until_close = False
        self.keep_alive = True
        self.done = False

    def feed(self, data: bytes) -> bool:
        """Take ``data``; True once the answer is complete. Raises MalformedResponse."""
        self.buffer += data
        if self.status is None and not self._head():
            return False
        if self.chunked:
            return self._chunks()
        if self.until_close:
            self.buffer.clear()
            return False
        taken = min(self.remaining, len(self.buffer))
        del self.buffer[:taken]
        self.remaining -= taken
        if self.remaining == 0:
            self.done = True
        return self.done

    def closed(self) -> bool:
        """The connection closed: True when that completes the answer (a body read to the end)."""
        if self.status is not None and self.until_close:
            self.done = True
        return self.done

    def _head(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_HEADER_BYTES:
                raise MalformedResponse("the headers do not end")
            return False
        head = bytes(self.buffer[:end])
        del self.buffer[:end + 4]
        line_end = head.find(b"\r\n")
        status_line = head if line_end < 0 else head[:line_end]
        code = status_line[9:12]
        if not status_line.startswith(b"HTTP/1.") or status_line[8:9] != b" " or not code.isdigit():
            raise MalformedResponse(f"not an HTTP/1.x status line: {status_line[:80]!r}")
        status = int(code)
        if 100 <= status < 200:
            return self._head() if self.buffer else False
        self.keep_alive = status_line[7:8] == b"1"
        length: int | None = None
        for name, value in _FRAMING_HEADERS.findall(head):
            name = name.lower()
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    raise MalformedResponse(f"bad Content-Length: {value[:40]!r}") from None
            elif name == b"transfer-encoding":
                self.chunked = b"chunked" in value.lower()
            else:
                token = value.strip().lower()
                if token == b"close":
                    self.keep_alive = False
                elif token == b"keep-alive":
                    self.keep_alive = True
        self.status = status
        if status in (204, 304):
            self.chunked = False
            self.remaining = 0
        elif not self.chunked:
            if length is None:
                self.until_close, self.keep_alive = True, False
            else:
                self.remaining = length
        return True

    def _chunks(self) -> bool:
        buffer = self.buffer
        while True:
            if self.chunk_part == _CHUNK_DATA:
                taken = min(self.remaining, len(buffer))
                del buffer[:taken]
                self.remaining -= taken
                if self.remaining:
                    return False
                self.chunk_part = _CHUNK_DATA_END
            end = buffer.find(b"\r\n")
            if end < 0:
                if len(buffer) > MAX_HEADER_BYTES:
                    raise MalformedResponse("a chunk line does not end")
                return False
            line = bytes(buffer[:end])
            del buffer[:end + 2]
            if self.chunk_part == _CHUNK_DATA_END:
                if line:
                    raise MalformedResponse("a chunk's data is longer than its size")
                self.chunk_part = _CHUNK_SIZE
            elif self.chunk_part == _CHUNK_TRAILERS:
                if not line:
                    self.done = True
                    return True
            else:
                size_text = line.split(b";", 1)[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise MalformedResponse(f"bad chunk size: {size_text[:40]!r}") from None
                if size == 0:
                    self.chunk_part = _CHUNK_TRAILERS
                else:
                    self.remaining, self.chunk_part = size, _CHUNK_DATA


class Connection(asyncio.Protocol):
    """One TCP (or TLS) connection of the pool, carrying one request at a time."""

    def __init__(self, pool: "Pool") -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.token: int | None = None
        self.reader = ResponseReader()
        self.started = 0.0
        self.deadline = 0.0
        self.reused = False
        self.answered = False
        self.payload = b""
        self.connector: asyncio.Task[None] | None = None

    def start(self, token: int, payload: bytes, started: float, deadline: float) -> None:
        """Send a request (now if connected, else once connected); both times are perf_counter."""
        self.token, self.payload, self.started, self.deadline = token, payload, started, deadline
        self.reader.reset()
        self.answered = False
        heapq.heappush(self.pool.deadlines, (deadline, next(self.pool.sequence), token, self))
        if self.transport is not None:
            self.reused = True
            self.transport.write(payload)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        if self.token is None:
            self.transport.abort()
            return
        self.transport.write(self.payload)

    def data_received(self, data: bytes) -> None:
        if self.token is None:
            if self.transport is not None:
                self.transport.abort()
            return
        self.answered = True
        try:
            complete = self.reader.feed(data)
        except MalformedResponse:
            self._finish(None, "connection-error", reuse=False)
            return
        if complete:
            self._answered(reuse=self.reader.keep_alive)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.pool.forget(self)
        if self.token is None:
            return
        if self.reader.closed():
            self._answered(reuse=False)
        elif self.reused and not self.answered:
            token, payload = self.token, self.payload
            self.token = None
            self.pool.send_on_new_connection(token, payload, self.started, self.deadline)
        else:
            self._finish(None, "connection-error", reuse=False)

    def connect_failed(self) -> None:
        """The connection could not be made (refused, unreachable, TLS handshake refused)."""
        if self.token is not None:
            self._finish(None, "connection-error", reuse=False)

    def timed_out(self, token: int) -> None:
        """The pool's sweep found ``token``'s deadline passed: a timeout if it is still ours."""
        if self.token == token:
            self._finish(None, "timeout", reuse=False)

    def _answered(self, *, reuse: bool) -> None:
        status, now = self.reader.status or 0, time.perf_counter()
        if now > self.deadline:  # complete, but after the timeout
            self._finish(None, "timeout", reuse=reuse)
        else:
            self._finish(status, outcome_of_status(status), reuse=reuse, latency=now - self.started)

    def _finish(self, status: int | None, outcome: str, *, reuse: bool,
                latency: float | None = None) -> None:
        """End the request: ``status`` and ``latency`` for an answer, None for a failure."""
        token = self.token
        assert token is not None
        self.token, self.payload = None, b""
        if reuse and self.transport is not None and not self.transport.is_closing():
            self.pool.idle.append(self)
        else:
            self.close()
        self.pool.done(token, status, latency, outcome)

    def close(self) -> None:
        """Drop the connection (and its connect attempt, if it is still connecting)."""
        self.pool.forget(self)
        if self.connector is not None and not self.connector.done():
            self.connector.cancel()
        if self.transport is not None:
            self.transport.abort()
            self.transport = None


class Pool:
    """Kept-alive connections to one endpoint; ``get`` sends a request, ``done`` gets its end.

    Every request has the same timeout, so one heap of deadlines swept by :meth:`expire` (the
    sampler calls it on each tick and at least every 100 ms) replaces a timer per request; an
    answer that completes after its deadline is a timeout all the same.
    """

    def __init__(self, endpoint: Endpoint, *, timeout: float, done: Done,
                 loop: asyncio.AbstractEventLoop, tls: ssl.SSLContext | None = None) -> None:
        """``tls``: the context for an https endpoint (default: the system's trusted CAs, the
        certificate and host name verified)."""
        self.endpoint = endpoint
        self.timeout = timeout
        self.done = done
        self.loop = loop
        self.idle: list[Connection] = []
        self.open: set[Connection] = set()
        self.deadlines: list[tuple[float, int, int, Connection]] = []
        """(deadline, sequence, token, connection): a heap; entries of answered requests stay
        until their deadline and are then skipped."""
        self.sequence = itertools.count()
        self.tls = (tls or ssl.create_default_context()) if endpoint.tls else None
        self._addresses: list[tuple[int, tuple[str, int]]] = []
        self._resolved_at = -DNS_TTL_SECONDS
        self._next_address = 0
        self._lookup: asyncio.Future[list[tuple[int, tuple[str, int]]]] | None = None

    def get(self, token: int, payload: bytes) -> None:
        """Send ``payload`` (a GET from :meth:`Endpoint.request`); ``done(token, ...)`` follows."""
        started = time.perf_counter()
        deadline = started + self.timeout
        idle = self.idle
        while idle:
            connection = idle.pop()
            if connection.transport is not None and not connection.transport.is_closing():
                connection.start(token, payload, started, deadline)
                return
        self.send_on_new_connection(token, payload, started, deadline)

    def expire(self) -> None:
        """Time out every request whose deadline has passed."""
        deadlines = self.deadlines
        if not deadlines:
            return
        now = time.perf_counter()
        while deadlines and deadlines[0][0] <= now:
            _, _, token, connection = heapq.heappop(deadlines)
            connection.timed_out(token)

    def forget(self, connection: Connection) -> None:
        self.open.discard(connection)
        if connection in self.idle:
            self.idle.remove(connection)

    def close(self) -> None:
        for connection in list(self.open):
            connection.close()
        self.idle.clear()
        if self._lookup is not None:
            self._lookup.cancel()

    def send_on_new_connection(self, token: int, payload: bytes, started: float,
                               deadline: float) -> None:
        """Open a connection and send on it once connected (a retry keeps its first deadline)."""
        connection = Connection(self)
        self.open.add(connection)
        connection.start(token, payload, started, deadline)
        connection.connector = self.loop.create_task(self._open(connection))

    async def _open(self, connection: Connection) -> None:
        try:
            family, address = await self._address()
            await self.loop.create_connection(
                lambda: connection, address[0], address[1], family=family, ssl=self.tls,
                server_hostname=self.endpoint.host if self.tls else None)
        except (OSError, ssl.SSLError, ValueError):
            self.forget(connection)
            connection.connect_failed()

    async def _address(self) -> tuple[int, tuple[str, int]]:
        now = self.loop.time()
        if now - self._resolved_at >= DNS_TTL_SECONDS or not self._addresses:
            if self._lookup is None or self._lookup.done():
                self._lookup = asyncio.ensure_future(self._resolve())
            self._addresses = await asyncio.shield(self._lookup)
            self._resolved_at = now
        self._next_address = (self._next_address + 1) % len(self._addresses)
        return self._addresses[self._next_address]

    async def _resolve(self) -> list[tuple[int, tuple[str, int]]]:
        infos = await self.loop.getaddrinfo(self.endpoint.host, self.endpoint.port,
                                            type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        found: list[tuple[int, tuple[str, int]]] = [
            (int(family), (str(address[0]), int(address[1]))) for family, _, _, _, address in infos]
        if not found:
            raise OSError(f"{self.endpoint.host} has no address")
        return found
