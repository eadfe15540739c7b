"""chaos-sre's benchmarks: each module is run from the repository root as ``python -m bench.NAME``
(``.venv/bin/python -m bench.sampler_client --runs 3``), prints a progress line per run on stderr
and its result on stdout, and writes that result to ``bench/results/NAME.md`` with the command,
date, commit and machine it was measured on. docs/performance.md holds a copy of each result file
between include markers; ``python -m bench.publish`` refreshes the copies, and
tests/unit/test_bench_results.py checks they match. Peer tools (Locust, wrk) come from
``make bench-peers``. Nothing here talks to anything but 127.0.0.1.
"""
