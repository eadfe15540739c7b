"""A minimal HTTP/1.1 server for benchmarks: fixed 200 answers, an optional blackhole window.

One process, one asyncio protocol per connection (uvloop where installed): each request is
answered with one write, so the server is not what limits a sampler at tens of thousands of
requests a second (docs/performance.md). Requests are GETs without a body.

Every request's arrival time is recorded, so all clients are counted the same
way (server side). During the blackhole window it reads requests and never
answers (the connection is closed well after any client timeout). On SIGTERM it
writes the arrival times (one epoch float per line) to ``--arrivals`` and exits.

    python bench/http_server.py --port-file P [--blackhole-at EPOCH --blackhole-seconds 10]
        [--arrivals FILE]
"""

import argparse
import asyncio
import signal
import sys
import time
from pathlib import Path

RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
            b"Connection: keep-alive\r\n\r\nok")
HOLD_AFTER_WINDOW = 5.0


class Answering(asyncio.Protocol):
    """One client connection: each GET (a head ending in an empty line; the benchmarks' clients
    send no bodies) is recorded and answered at once, or never during the blackhole window."""

    def __init__(self, arrivals: list[float], blackhole_at: float | None, window_end: float) -> None:
        self.arrivals = arrivals
        self.blackhole_at = blackhole_at
        self.window_end = window_end
        self.pending = b""
        self.transport: asyncio.Transport | None = None
        self.holding = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.holding or self.transport is None:
            return
        self.pending += data
        requests = self.pending.count(b"\r\n\r\n")
        if not requests:
            return
        self.pending = self.pending[self.pending.rfind(b"\r\n\r\n") + 4:]
        now = time.time()
        self.arrivals.extend([now] * requests)
        if self.blackhole_at is not None and self.blackhole_at <= now < self.window_end:
            # Read and never answer; close well after any client's timeout.
            self.holding = True
            asyncio.get_running_loop().call_later(self.window_end - now + HOLD_AFTER_WINDOW,
                                                  self.transport.close)
            return
        self.transport.write(RESPONSE * requests)


async def serve(port_file: Path, blackhole_at: float | None, blackhole_seconds: float,
                arrivals: list[float]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    window_end = (blackhole_at or 0) + blackhole_seconds
    server = await loop.create_server(lambda: Answering(arrivals, blackhole_at, window_end),
                                      "127.0.0.1", 0, backlog=4096)
    port_file.write_text(str(server.sockets[0].getsockname()[1]))
    await stop.wait()
    server.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--blackhole-at", type=float)
    parser.add_argument("--blackhole-seconds", type=float, default=10.0)
    parser.add_argument("--arrivals", type=Path)
    args = parser.parse_args()
    arrivals: list[float] = []
    try:
        import uvloop
        loop_factory = uvloop.new_event_loop
    except ImportError:
        loop_factory = asyncio.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(serve(args.port_file, args.blackhole_at, args.blackhole_seconds, arrivals))
    if args.arrivals:
        args.arrivals.write_text("".join(f"{t:.6f}\n" for t in arrivals))
    return 0


if __name__ == "__main__":
    sys.exit(main())
