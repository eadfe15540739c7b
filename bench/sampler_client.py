"""Benchmark: which HTTP client the open-loop sampler needs (issue: choose by measurement).

Runs two open-loop samplers side by side against the same endpoints:

* ``aiohttp``  - chaos-sre's sampler (:mod:`chaos_sre.slo.sampler`), one asyncio task per request;
* ``requests`` - the same schedule, each request handed to a pool of 64 threads
  with a requests.Session per thread.

For each rate it reports the achieved rate, scheduling lag (send time - scheduled
time) p50/p99, and - against a blackhole endpoint that accepts connections and
never answers - how many of the requests scheduled in 10 s were actually sent
in those 10 s. Loopback only, every run bounded in time. Usage:

    .venv/bin/python -m bench.sampler_client [--rates 50,200,1000] [--seconds 5] [--runs 3]
"""

import asyncio
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench.common import published, rate_arguments
from bench.lab_process import running_lab
from chaos_sre.slo.samples import read_samples

THREADS = 64
HOLD_SECONDS = 3.0


def blackhole() -> tuple[int, threading.Event]:
    """A loopback server that accepts every connection and never answers (closes after 3 s)."""
    stop = threading.Event()
    ready = threading.Event()
    port_box: list[int] = []

    def serve() -> None:
        async def main() -> None:
            async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                # longer than any client timeout, then free the descriptor
                try:
                    await asyncio.sleep(HOLD_SECONDS)
                except asyncio.CancelledError:
                    pass
                writer.close()

            server = await asyncio.start_server(hold, "127.0.0.1", 0, backlog=4096)
            port_box.append(server.sockets[0].getsockname()[1])
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.2)
            server.close()

        asyncio.run(main())

    threading.Thread(target=serve, daemon=True).start()
    ready.wait(5)
    return port_box[0], stop


def run_aiohttp(url: str, rate: float, seconds: float, timeout: float) -> list[tuple[float, float]]:
    out = Path(tempfile.mkdtemp()) / "samples.jsonl"
    process = subprocess.Popen([sys.executable, "-m", "chaos_sre.slo.sampler", "--url", url,
                                "--rate", str(rate), "--timeout", str(timeout), "--out", str(out)])
    time.sleep(seconds + 0.3)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=timeout + 30)
    return [(s.scheduled, s.sent) for s in read_samples(out)]


def run_requests(url: str, rate: float, seconds: float, timeout: float) -> list[tuple[float, float]]:
    local = threading.local()
    sent: list[tuple[float, float]] = []

    def one(scheduled: float) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        sent.append((scheduled, time.time()))
        try:
            session.get(url, timeout=timeout)
        except requests.RequestException:
            local.session = None

    pool = ThreadPoolExecutor(max_workers=THREADS)
    start = time.time() + 0.05
    count = int(seconds * rate)
    for index in range(count):
        scheduled = start + index / rate
        delay = scheduled - time.time()
        if delay > 0:
            time.sleep(delay)
        pool.submit(one, scheduled)
    pool.shutdown(wait=True, cancel_futures=False)
    return sent


def stats(samples: list[tuple[float, float]], rate: float, window: tuple[float, float] | None
          ) -> dict[str, float]:
    if window is not None:
        start, end = window
        inside = [s for s in samples if start <= s[1] < end]
        return {"sent_share": len(inside) / ((end - start) * rate)}
    scheduled = sorted(s[0] for s in samples)
    lags = sorted(s[1] - s[0] for s in samples)
    return {
        "achieved": (len(scheduled) - 1) / (scheduled[-1] - scheduled[0]),
        "lag_p50_ms": lags[len(lags) // 2] * 1000,
        "lag_p99_ms": lags[min(len(lags) - 1, int(len(lags) * 0.99))] * 1000,
    }


def main() -> int:
    args = rate_arguments(__doc__.splitlines()[0])
    rates = args.rates
    port, stop_blackhole = blackhole()
    hole_url = f"http://127.0.0.1:{port}"
    print("| client | endpoint | target req/s | achieved req/s | lag p50 ms | lag p99 ms | sent during blackhole |")
    print("|---|---|---|---|---|---|---|")
    try:
        with running_lab() as lab:
            lab_url = lab["CHAOS_SRE_TARGET_URL"]
            for rate in rates:
                for name, runner in (("aiohttp (chaos-sre)", run_aiohttp),
                                     ("requests + 64 threads", run_requests)):
                    normal = [stats(runner(lab_url, rate, args.seconds, 2.0), rate, None)
                              for _ in range(args.runs)]
                    began = time.time()
                    hole = runner(hole_url, rate, 10.0, 2.0)
                    share = stats(hole, rate, (began + 0.5, began + 10.0))["sent_share"]
                    median = {k: statistics.median(r[k] for r in normal) for k in normal[0]}
                    print(f"| {name} | lab | {rate:g} | {median['achieved']:.1f} | "
                          f"{median['lag_p50_ms']:.2f} | {median['lag_p99_ms']:.2f} | "
                          f"{share * 100:.1f} % |")
    finally:
        stop_blackhole.set()
    return 0


if __name__ == "__main__":
    sys.exit(published(__spec__.name, main))
