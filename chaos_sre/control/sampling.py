"""The sampler process and the monitor that watches its samples, started and stopped for a run."""

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from chaos_sre.control.state import ControlRun
from chaos_sre.slo.monitor import Monitor
from chaos_sre.slo.verdict import traffic_model

logger = logging.getLogger("chaostoolkit")
SAMPLER_STOP_GRACE_SECONDS = 5.0


def start_sampling(run: ControlRun, on_stop: Callable[[str], None]) -> None:
    """Start the open-loop sampler (:mod:`chaos_sre.slo.sampler`) in its own process and the
    monitor that reads its samples; ``on_stop`` is called when the stop condition trips."""
    run.samples_path.parent.mkdir(parents=True, exist_ok=True)
    run.samples_path.write_text("")
    paths = ",".join(f"{p}:{w}" for p, w in run.slo.paths)
    run.sampler = subprocess.Popen(
        [sys.executable, "-m", "chaos_sre.slo.sampler", "--url", run.target_url,
         "--rate", repr(run.settings.rate), "--timeout", repr(run.slo.timeout_seconds),
         "--paths", paths, "--out", str(run.samples_path), "--max-seconds", "0"],
        stdin=subprocess.DEVNULL,
    )
    run.record.sampler_started_at = time.time()
    run.monitor = Monitor(
        samples_path=run.samples_path, slo=run.slo, rate=run.settings.rate,
        budget_allowance=run.settings.budget_allowance,
        burn_rate_stop=run.settings.burn_rate_stop,
        burn_window_seconds=run.settings.wall(run.settings.burn_window_seconds),
        on_stop=on_stop, traffic=traffic_model(run.slo, run.settings, run.record),
    )
    run.monitor.start()
    logger.info(f"chaos-sre: sampling {run.target_url} at {run.settings.rate:g} req/s "
                f"against SLO {run.slo.name} ({run.slo.target * 100:g} % over "
                f"{run.slo.window_seconds / 86400:g} d); samples: {run.samples_path}")
    if run.settings.time_scale != 1:
        logger.info(f"chaos-sre: lab time scale {run.settings.time_scale:g}: the experiment's "
                    f"times are AWS seconds, each played in {run.settings.time_scale:g} s, and "
                    "the verdict reports AWS seconds")


def sampler_alive(run: ControlRun) -> bool:
    """Whether the sampler process is still running."""
    return run.sampler is not None and run.sampler.poll() is None


def stop_sampling(run: ControlRun) -> None:
    """Stop the sampler (SIGTERM, then SIGKILL after its timeout and a grace) and the monitor,
    recording when the schedule ended, the sampler's exit code and whether it had died before."""
    if run.sampler is not None and run.record.sampler_stopped_at is None:
        run.record.sampler_stopped_at = time.time()
        run.record.sampler_died = run.sampler.poll() is not None
        if not run.record.sampler_died:
            run.sampler.send_signal(signal.SIGTERM)
            try:
                run.sampler.wait(timeout=run.slo.timeout_seconds + SAMPLER_STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                run.sampler.kill()
                run.sampler.wait()
        run.record.sampler_exit_code = run.sampler.returncode
    if run.monitor is not None:
        run.monitor.stop()
