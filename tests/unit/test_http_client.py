"""The sampler's HTTP/1.1 client: answers parsed however the bytes arrive, connections reused,
and every failure classified as the SLI counts it. In process, against a real loopback server."""

import asyncio
import datetime
import itertools
import socket
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaos_sre.errors import ValidationError
from chaos_sre.slo.http_client import Endpoint, MalformedResponse, Pool, ResponseReader

ANSWERS = {
    "length": (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello", 200, True),
    "chunked": (b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5;ext=1\r\nhello\r\n3\r\nabc\r\n0\r\nTrailer: x\r\n\r\n", 503, True),
    "no content": (b"HTTP/1.1 204 No Content\r\n\r\n", 204, True),
    "interim then final": (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\n"
                           b"Content-Length: 2\r\n\r\nno", 404, True),
    "close": (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", 200, False),
    "http/1.0": (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, False),
}


def feed_in_pieces(data: bytes, cuts: list[int]) -> ResponseReader:
    reader = ResponseReader()
    edges = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    complete = False
    for start, end in itertools.pairwise(edges):
        assert not complete, "the answer completed before its last byte"
        complete = reader.feed(data[start:end])
    assert complete
    return reader


@pytest.mark.parametrize("name", sorted(ANSWERS))
@given(cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6))
@settings(max_examples=60, deadline=None)
def test_an_answer_is_complete_exactly_at_its_last_byte_however_it_is_split(name: str,
                                                                          cuts: list[int]) -> None:
    data, status, keep_alive = ANSWERS[name]
    reader = feed_in_pieces(data, cuts)
    assert (reader.status, reader.keep_alive) == (status, keep_alive)


def test_a_body_without_length_ends_with_the_connection() -> None:
    reader = ResponseReader()
    assert not reader.feed(b"HTTP/1.1 200 OK\r\n\r\nsome")
    assert not reader.feed(b" more")
    assert reader.closed() and reader.status == 200 and not reader.keep_alive
    assert not ResponseReader().closed(), "a connection closed before any answer completes nothing"


@pytest.mark.parametrize("data", [b"SSH-2.0-OpenSSH\r\n\r\n", b"HTTP/1.1 OK\r\n\r\n",
                                  b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                                  b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                                  b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 20000])
def test_bytes_that_are_not_http_are_refused(data: bytes) -> None:
    with pytest.raises(MalformedResponse):
        ResponseReader().feed(data)


def test_endpoints_and_requests() -> None:
    endpoint = Endpoint.parse("https://lb.example.com/base/")
    assert (endpoint.host, endpoint.port, endpoint.tls, endpoint.prefix) == \
        ("lb.example.com", 443, True, "/base")
    assert endpoint.request("/checkout?x=1 2").startswith(
        b"GET /base/checkout?x=1%202 HTTP/1.1\r\nHost: lb.example.com\r\n")
    assert Endpoint.parse("http://127.0.0.1:8080").host_header() == "127.0.0.1:8080"
    assert Endpoint.parse("http://[::1]:81").host_header() == "[::1]:81"
    for bad in ("ftp://x", "localhost:80", "http://:80", "http://h:99999"):
        with pytest.raises(ValidationError):
            Endpoint.parse(bad)


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def exchange(handler: Handler, count: int, *, timeout: float = 1.0, gap: float = 0.0,
                   url: str | None = None, server_tls: ssl.SSLContext | None = None,
                   client_tls: ssl.SSLContext | None = None,
                   answered_first: bool = False) -> tuple[list[tuple], Pool]:
    """Send ``count`` GETs (``gap`` s apart; with ``answered_first``, each once the one before
    was answered, within the timeout) through one Pool to a loopback server running
    ``handler``; the (token, status, has latency, outcome) of each, in token order."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=server_tls)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    results: dict[int, tuple] = {}
    finished = asyncio.Event()

    def done(token: int, status: int | None, latency: float | None, outcome: str) -> None:
        results[token] = (token, status, latency is not None, outcome)
        if len(results) == count:
            finished.set()

    endpoint = Endpoint.parse((url or "http://127.0.0.1:{port}").format(port=port))
    pool = Pool(endpoint, timeout=timeout, done=done, loop=loop, tls=client_tls)
    for token in range(count):
        pool.get(token, endpoint.request("/"))
        await asyncio.sleep(gap)
        for _ in range(int(timeout / 0.01) if answered_first else 0):
            if token in results:
                break
            await asyncio.sleep(0.01)
    for _ in range(int((timeout + 2) / 0.05)):
        pool.expire()
        if finished.is_set():
            break
        await asyncio.sleep(0.05)
    pool.close()
    server.close()
    return [results[token] for token in sorted(results)], pool


async def read_request(reader: asyncio.StreamReader) -> bool:
    request = await reader.readuntil(b"\r\n\r\n")
    return request.startswith(b"GET / HTTP/1.1\r\n")


async def answer_ok(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    await writer.drain()


def kept_alive(connections: list[asyncio.StreamWriter]) -> Handler:
    """A server that answers every request on its connection, recording each connection."""
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        while await read_request(reader):
            await answer_ok(writer)
    return handler


def test_answers_reuse_one_kept_alive_connection() -> None:
    """Each request sent once the one before was answered goes on the same kept-alive
    connection (a request sent while the connection still waits for an answer needs another:
    under load, a 20 ms gap alone did not always leave time for the answer)."""
    connections: list[asyncio.StreamWriter] = []
    results, pool = asyncio.run(exchange(kept_alive(connections), 5, gap=0.02, answered_first=True))
    assert results == [(token, 200, True, "2xx") for token in range(5)]
    assert len(connections) == 1
    assert not pool.open and not pool.idle


def test_a_kept_alive_connection_the_server_closed_is_retried_once_on_a_new_one() -> None:
    """The server answers one request per connection and then closes it without saying so:
    the next request meets a closed connection before any byte of an answer, and is sent again.
    An ALB closes a client connection idle for its idle timeout, 60 s by default, whatever the
    client is about to send (Application Load Balancer guide, "Edit attributes for your
    Application Load Balancer", Connection idle timeout)."""
    connections = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        if await read_request(reader):
            await answer_ok(writer)
        await asyncio.sleep(0.01)
        writer.transport.abort()

    results, _ = asyncio.run(exchange(handler, 3, gap=0.1))
    assert results == [(token, 200, True, "2xx") for token in range(3)]
    assert len(connections) == 3


def test_hangs_time_out_and_half_answers_are_connection_errors() -> None:
    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(3)

    results, pool = asyncio.run(exchange(hang, 3, timeout=0.3))
    assert results == [(token, None, False, "timeout") for token in range(3)]
    assert not pool.open, "a timed-out request's connection is dropped"

    async def half(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")
        await writer.drain()
        writer.close()

    results, _ = asyncio.run(exchange(half, 2))
    assert results == [(token, None, False, "connection-error") for token in range(2)]

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nok")
        await asyncio.sleep(0.5)
        writer.write(b"ok")
        await writer.drain()

    results, _ = asyncio.run(exchange(slow, 1, timeout=0.3))
    assert results == [(0, None, False, "timeout")], "an answer that ends after the timeout"


def test_refused_connections_are_connection_errors() -> None:
    async def never(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise AssertionError("not reached")

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    results, _ = asyncio.run(exchange(never, 2, url=f"http://127.0.0.1:{closed_port}"))
    assert results == [(token, None, False, "connection-error") for token in range(2)]


def self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for localhost, and a client context trusting it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(hours=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                   .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


def test_https_verifies_the_certificate(tmp_path: Path) -> None:
    """An ALB listener in staging is HTTPS: answers come through TLS to a host whose certificate
    the client trusts; a certificate it does not trust is a connection error, never an answer."""
    handler = kept_alive([])
    server, client = self_signed(tmp_path)
    url = "https://localhost:{port}"
    results, _ = asyncio.run(exchange(handler, 3, gap=0.02, url=url, server_tls=server,
                                      client_tls=client))
    assert results == [(token, 200, True, "2xx") for token in range(3)]
    results, _ = asyncio.run(exchange(handler, 1, url=url, server_tls=server))
    assert results == [(0, None, False, "connection-error")]
