"""The pre-flight gate: no fault unless the steady state held over the baseline and, when the SLO
names a load balancer with CloudWatch metrics, the window's remaining budget covers the allowance."""

import logging
import time

from chaos_sre.control.state import ControlRun
from chaos_sre.errors import AWSError
from chaos_sre.probes.cloudwatch import alb_request_counts, error_budget_remaining
from chaos_sre.slo.samples import read_samples

WHOLE_BALANCER = (("/", 1),)

logger = logging.getLogger("chaostoolkit")


def refusal(run: ControlRun) -> str | None:
    """Why the fault must not be injected, or None. Waits out the rest of the baseline first."""
    waited_from = run.record.sampler_started_at or time.time()
    remaining = run.settings.wall(run.settings.baseline_seconds) + run.slo.timeout_seconds \
        - (time.time() - waited_from)
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
    if run.slo.load_balancer and (run.budget_gate or run.window_traffic_from_cloudwatch) \
            and run.slo.paths != WHOLE_BALANCER:
        return (f"SLO {run.slo.name} covers {', '.join(p for p, _ in run.slo.paths)} only, but "
                f"load balancer {run.slo.load_balancer}'s CloudWatch metrics count all of its "
                "requests: remove loadBalancer from the SLO, or set budget_gate to false (and "
                "window_traffic_rate to a number); no fault injected")
    if run.window_traffic_from_cloudwatch:
        problem = read_window_traffic(run)
        if problem:
            return problem
    if run.budget_gate and run.slo.load_balancer:
        return budget_refusal(run)
    return None


def read_window_traffic(run: ControlRun) -> str | None:
    """Read the SLO window's average request rate from CloudWatch into the run's record
    (``window_traffic_rate: cloudwatch``); a refusal reason when it cannot be read."""
    balancer = str(run.slo.load_balancer)
    try:
        counts = alb_request_counts(balancer, run.slo.window_seconds, run.configuration,
                                    run.secrets)
    except AWSError as exc:
        return (f"cannot read the request count of load balancer {balancer} ({exc}) for "
                "window_traffic_rate cloudwatch; no fault injected")
    if not counts["datapoints"] or counts["total"] <= 0:
        return (f"CloudWatch has no RequestCount for load balancer {balancer} over the SLO "
                "window, so window_traffic_rate cloudwatch has nothing to weigh the budget "
                "by: give the rate as a number; no fault injected")
    run.record.window_traffic_rate = counts["total"] / run.slo.window_seconds
    logger.info(f"chaos-sre: load balancer {balancer} served "
                f"{run.record.window_traffic_rate:.3g} req/s on average over the SLO window "
                "(CloudWatch RequestCount): the budget is weighted by it")
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
