"""After the rollbacks: keep sampling until the service recovered and held, within the RTO."""

import logging
import time

from chaos_sre.control.sampling import sampler_alive
from chaos_sre.control.state import ControlRun

logger = logging.getLogger("chaostoolkit")
SETTLE_POLL_SECONDS = 0.1
SETTLE_RTO_FACTOR = 2.0


def settle(run: ControlRun) -> None:
    """Wait until the last ``recovery_window_seconds + hold_seconds`` of samples were all good,
    or until fault start + 2 x RTO + window + hold, whichever comes first: a run observes every
    recovery within its RTO, and a late one up to twice the RTO, so the verdict can say how late
    it was. Nothing to wait for without a fault, in a dry run or after a stop."""
    fault_at = run.record.fault_started_at
    if run.monitor is None or fault_at is None or run.record.dry_run or run.record.stopped:
        return
    settings = run.settings
    clean = settings.recovery_window_seconds + settings.hold_seconds
    deadline = fault_at + SETTLE_RTO_FACTOR * settings.rto_seconds + clean
    if time.time() >= deadline or run.monitor.clean_for(clean):
        return
    logger.info(f"chaos-sre: waiting up to {deadline - time.time():.1f} s for the service to "
                f"recover and hold {settings.hold_seconds:g} s")
    while time.time() < deadline and not run.monitor.clean_for(clean):
        if not sampler_alive(run):
            return
        time.sleep(SETTLE_POLL_SECONDS)
