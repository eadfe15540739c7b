"""Locust peer for the benchmarks: FastHttpUser, each user paced at BENCH_USER_RATE requests/s.

Locust is closed loop: a user sends its next request only after the previous
one answered (or timed out), then waits to keep its pace.
"""

import os

from locust import FastHttpUser, constant_throughput, task


class Sampler(FastHttpUser):
    wait_time = constant_throughput(float(os.environ.get("BENCH_USER_RATE", "10")))
    network_timeout = float(os.environ.get("BENCH_TIMEOUT", "2"))
    connection_timeout = float(os.environ.get("BENCH_TIMEOUT", "2"))

    @task
    def get(self) -> None:
        self.client.get("/", name="/")
