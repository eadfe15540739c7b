"""The pre-flight gate: no fault unless the steady state held over the baseline and, when the SLO
names a load balancer with CloudWatch metrics, the window's remaining budget covers the allowance."""

import logging
import time

from chaos_sre.control.state import ControlRun
from chaos_sre.errors import AWSError
from chaos_sre.probes.cloudwatch import error_budget_remaining
from chaos_sre.slo.samples import read_samples

logger = logging.getLogger("chaostoolkit")


def refusal(run: ControlRun) -> str | None:
    """Why the fault must not be injected, or None. Waits out the rest of the baseline first."""
    waited_from = run.record.sampler_started_at or time.time()
    remaining = run.settings.baseline_seconds + run.slo.timeout_seconds - (time.time() - waited_from)
    if remaining > 0:
        time.sleep(remaining)
    samples = read_samples(run.samples_path)
    good = sum(1 for s in samples if s.good(run.slo.latency_threshold_seconds))
    if not samples:
        return "no SLI samples before the fault: is the target URL reachable?"
    if good / len(samples) < run.slo.target:
        return (f"the steady state did not hold over the baseline: SLI "
                f"{good / len(samples) * 100:.3f} % < {run.slo.target * 100:g} % "
                f"({len(samples)} samples); no fault injected")
    if run.budget_gate and run.slo.load_balancer:
        return budget_refusal(run)
    return None


def budget_refusal(run: ControlRun) -> str | None:
    """Refusal reason when the window's remaining budget cannot cover the allowance."""
    balancer = str(run.slo.load_balancer)
    try:
        remaining = error_budget_remaining(balancer, run.slo.target, run.slo.window_seconds,
                                           run.configuration, run.secrets)
    except AWSError as exc:
        return (f"cannot read the CloudWatch metrics of load balancer {balancer} ({exc}); "
                "set budget_gate to false to run without the budget check; no fault injected")
    if remaining is None:
        logger.warning(f"chaos-sre: no CloudWatch request metrics for load balancer {balancer}; "
                       "skipping the error-budget gate")
        return None
    days = run.slo.window_seconds / 86400
    logger.info(f"chaos-sre: {max(remaining, 0) * 100:.3g} % of the error budget remains over "
                f"the last {days:g} d (CloudWatch, load balancer {balancer})")
    if remaining < run.settings.budget_allowance:
        return (f"only {max(remaining, 0) * 100:.3g} % of the error budget remains over the last "
                f"{days:g} d, less than this experiment's allowance of "
                f"{run.settings.budget_allowance * 100:.3g} %; no fault injected")
    return None
