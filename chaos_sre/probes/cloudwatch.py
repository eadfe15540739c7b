"""Probes on an Application Load Balancer's CloudWatch metrics: the SLI over the SLO window.

Read as AWS defines the metrics (namespace ``AWS/ApplicationELB``, dimension
``LoadBalancer``; https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html):

* all requests = ``RequestCount`` + ``HTTPCode_ELB_503_Count``: RequestCount
  counts only requests for which the load balancer chose a target, so the 503s
  it answers with no healthy target are not in it;
* bad requests = ``HTTPCode_ELB_5XX_Count`` + ``HTTPCode_Target_5XX_Count`` +
  ``HTTPCode_ELB_4XX_Count``: the load balancer's 4xx include 460, a client that
  closed the connection before the answer (the user gave up: a bad request to
  the SLI), and CloudWatch does not count 460 apart - so every load-balancer
  4xx is counted bad, which can only make the remaining budget look smaller.

CloudWatch counts cannot tell slow requests, so a latency threshold in the SLO
does not apply here.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from chaos_sre.aws import aws_client, paginate
from chaos_sre.errors import AWSError, ValidationError
from chaos_sre.permissions import requires
from chaos_sre.slo.math import budget_spent

__all__ = ["alb_request_counts", "error_budget_remaining"]

NAMESPACE = "AWS/ApplicationELB"
COUNTERS = {
    "total": "RequestCount",
    "elb_503": "HTTPCode_ELB_503_Count",
    "elb_5xx": "HTTPCode_ELB_5XX_Count",
    "target_5xx": "HTTPCode_Target_5XX_Count",
    "elb_4xx": "HTTPCode_ELB_4XX_Count",
}


def load_balancer_dimension(name: str, configuration: dict[str, Any] | None = None,
                            secrets: dict[str, Any] | None = None) -> str:
    """The ``LoadBalancer`` dimension value (``app/NAME/ID``) of a load balancer."""
    client = aws_client("elbv2", configuration, secrets)
    try:
        balancers = list(paginate(client, "describe_load_balancers", "LoadBalancers", Names=[name]))
    except AWSError as exc:
        if exc.code == "LoadBalancerNotFound":
            raise AWSError(f"load balancer {name!r} not found", code=exc.code) from exc
        raise
    return str(balancers[0]["LoadBalancerArn"].split(":loadbalancer/", 1)[1])


@requires("elasticloadbalancing:DescribeLoadBalancers", "cloudwatch:GetMetricData")
def alb_request_counts(
    load_balancer_name: str,
    window_seconds: float = 30 * 86400,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> dict[str, float]:
    """Requests and bad answers of a load balancer over the last `window_seconds` (see the
    module docstring for which metrics count).

    Returns `{"total": n, "bad": n, "datapoints": n}`; `datapoints` is 0 when
    CloudWatch holds no RequestCount for it (no traffic, or no metrics).
    """
    if window_seconds <= 0:
        raise ValidationError("window_seconds must be positive")
    dimension = load_balancer_dimension(load_balancer_name, configuration, secrets)
    end = datetime.now(UTC)
    start = end - timedelta(seconds=window_seconds)
    period = 86400 if window_seconds >= 2 * 86400 else 3600 if window_seconds >= 7200 else 60
    queries = [
        {"Id": key, "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": NAMESPACE, "MetricName": metric,
                       "Dimensions": [{"Name": "LoadBalancer", "Value": dimension}]},
            "Period": period, "Stat": "Sum"}}
        for key, metric in COUNTERS.items()
    ]
    client = aws_client("cloudwatch", configuration, secrets)
    sums = {key: 0.0 for key in COUNTERS}
    datapoints = 0
    for result in paginate(client, "get_metric_data", "MetricDataResults",
                           MetricDataQueries=queries, StartTime=start, EndTime=end):
        sums[result["Id"]] += sum(result["Values"])
        if result["Id"] == "total":
            datapoints += len(result["Values"])
    return {"total": sums["total"] + sums["elb_503"],
            "bad": sums["elb_5xx"] + sums["target_5xx"] + sums["elb_4xx"],
            "datapoints": datapoints}


@requires("elasticloadbalancing:DescribeLoadBalancers", "cloudwatch:GetMetricData")
def error_budget_remaining(
    load_balancer_name: str,
    target: float,
    window_seconds: float = 30 * 86400,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> float | None:
    """Share of the SLO window's error budget left, from the load balancer's metrics.

    1.0 means untouched, 0 or less means exhausted; None when CloudWatch has
    no requests for the load balancer over the window.
    """
    if not 0 < target < 1:
        raise ValidationError("target must be between 0 and 1 (exclusive)")
    counts = alb_request_counts(load_balancer_name, window_seconds, configuration, secrets)
    if not counts["datapoints"] or counts["total"] <= 0:
        return None
    return 1.0 - budget_spent(counts["bad"] / counts["total"], window_seconds, window_seconds, target)
