"""A minimal HTTP/1.1 server for benchmarks: fixed 200 answers, an optional blackhole window.

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


async def serve(port_file: Path, blackhole_at: float | None, blackhole_seconds: float,
                arrivals: list[float]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    window_end = (blackhole_at or 0) + blackhole_seconds

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    break
                length = 0
                while True:
                    header = await reader.readline()
                    if header in (b"\r\n", b"\n", b""):
                        break
                    if header.lower().startswith(b"content-length:"):
                        length = int(header.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                now = time.time()
                arrivals.append(now)
                if blackhole_at is not None and blackhole_at <= now < window_end:
                    await asyncio.sleep(window_end - now + HOLD_AFTER_WINDOW)
                    break
                writer.write(RESPONSE)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
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
    asyncio.run(serve(args.port_file, args.blackhole_at, args.blackhole_seconds, arrivals))
    if args.arrivals:
        args.arrivals.write_text("".join(f"{t:.6f}\n" for t in arrivals))
    return 0


if __name__ == "__main__":
    sys.exit(main())
