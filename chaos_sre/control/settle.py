"""After the rollbacks: keep sampling until the service recovered and held, within the RTO."""

import logging
import time

from chaos_sre.control.sampling import sampler_alive
from chaos_sre.control.state import ControlRun
from chaos_sre.slo.monitor import WRITE_LAG_SECONDS

logger = logging.getLogger("chaostoolkit")
SETTLE_POLL_SECONDS = 0.1
SETTLE_RTO_FACTOR = 2.0


def settle(run: ControlRun) -> None:
    """Observe a fixed tail after the rollbacks, then wait until it was clean long enough.

    The settle ends once every sample scheduled in the last ``recovery_window_seconds +
    hold_seconds`` was good, counted from the later of the rollbacks' end and the last bad
    sample, and only over requests that have surely ended (scheduled a request timeout
    ago): so an outage the rollbacks cause, or one that starts late, is sampled, and a
    request still hanging is waited for. It ends at the latest at fault start + 2 x RTO (or
    the rollbacks' end, if later) + window + hold + timeout: a run observes every recovery
    within its RTO, and a late one up to twice the RTO, so the verdict can say how late it
    was (RTO, window and hold are AWS seconds, played at the lab's time scale). Nothing to
    wait for without a fault, in a dry run or after a stop; it also ends when the sampler has
    died (the verdict then says the run was not observed).
    """
    fault_at = run.record.fault_started_at
    if run.monitor is None or fault_at is None or run.record.dry_run or run.record.stopped:
        return
    settings = run.settings
    since = run.record.rollbacks_ended_at or time.time()
    clean = settings.wall(settings.recovery_window_seconds + settings.hold_seconds)
    tail = clean + run.slo.timeout_seconds + WRITE_LAG_SECONDS
    deadline = max(fault_at + SETTLE_RTO_FACTOR * settings.wall(settings.rto_seconds), since) + tail
    logger.info(f"chaos-sre: observing the service for at least {tail:.1f} s after the rollbacks "
                f"(up to {deadline - time.time():.1f} s) until it has recovered and held "
                f"{clean:g} s")
    while time.time() < deadline and not run.monitor.clean_since(since, clean):
        if not sampler_alive(run):
            return
        time.sleep(SETTLE_POLL_SECONDS)
