"""The CloudWatch dashboard of an experiment's SLI, and the FIS experiment report that shows it.

``chaos-sre fis run`` puts one dashboard per experiment, ``chaos-sre-NAME``, with three widgets
over the load balancer the SLO names, read as the stop condition reads them
(:mod:`chaos_sre.fis.alarms`):

* the error ratio, with the ratio that spends the experiment's allowance drawn as a line;
* requests and failed requests a minute;
* the targets' response time (p99), with the SLO's latency threshold when it has one.

With a report bucket (``--report-bucket``) the template also gets an
``experimentReportConfiguration``: FIS writes a report of the experiment to the bucket, with
snapshots of this dashboard from 5 minutes before the experiment to 5 minutes after it
("Experiment report configurations for AWS FIS"); the FIS role is granted what that needs.
"""

import json
from dataclasses import dataclass
from typing import Any

from chaos_sre.fis.alarms import ALL, BAD, BurnAlarms
from chaos_sre.probes.cloudwatch import COUNTERS, NAMESPACE

REPORT_WINDOW = "PT5M"
"""How long before and after the experiment the report's snapshots show."""
PERIOD = 60


@dataclass(frozen=True)
class Dashboard:
    """An experiment's SLI dashboard."""

    alarms: BurnAlarms
    latency_threshold_seconds: float | None = None

    @property
    def name(self) -> str:
        return f"chaos-sre-{self.alarms.experiment}"

    @property
    def arn(self) -> str:
        """Dashboards are global: their ARN names no Region."""
        return f"arn:aws:cloudwatch::{self.alarms.account_id}:dashboard/{self.name}"

    def request(self, dimension: str) -> dict[str, Any]:
        """The PutDashboard input for the load balancer's ``LoadBalancer`` dimension value."""
        source = {"accountId": self.alarms.metrics_account} if self.alarms.metrics_account else {}

        def metric(key: str, **options: Any) -> list[Any]:
            return [NAMESPACE, COUNTERS[key], "LoadBalancer", dimension,
                    {"id": key, "stat": "Sum", "visible": False, **source, **options}]

        region = self.alarms.region
        bad = " + ".join(f"FILL({key}, 0)" for key in BAD)
        every = " + ".join(f"FILL({key}, 0)" for key in ALL)
        ratio = {"type": "metric", "width": 12, "height": 6, "properties": {
            "title": f"{self.alarms.load_balancer}: error ratio (stop above {self.alarms.error_ratio:.4g})",
            "region": region, "period": PERIOD, "view": "timeSeries",
            "metrics": [*(metric(key) for key in (*BAD, *ALL)),
                        [{"expression": f"({bad}) / ({every})", "label": "error ratio", "id": "ratio"}]],
            "annotations": {"horizontal": [{"label": "spends the allowance",
                                            "value": self.alarms.error_ratio}]}}}
        counts = {"type": "metric", "width": 12, "height": 6, "properties": {
            "title": f"{self.alarms.load_balancer}: requests and failures a minute", "region": region,
            "period": PERIOD, "view": "timeSeries", "stat": "Sum",
            "metrics": [metric(key, visible=True, label=COUNTERS[key]) for key in (*ALL, *BAD)]}}
        latency: dict[str, Any] = {"type": "metric", "width": 12, "height": 6, "properties": {
            "title": f"{self.alarms.load_balancer}: target response time p99", "region": region,
            "period": PERIOD, "view": "timeSeries",
            "metrics": [[NAMESPACE, "TargetResponseTime", "LoadBalancer", dimension,
                         {"stat": "p99", **source}]]}}
        if self.latency_threshold_seconds is not None:
            latency["properties"]["annotations"] = {"horizontal": [
                {"label": "SLO latency threshold", "value": self.latency_threshold_seconds}]}
        body = {"widgets": [ratio, counts, latency]}
        return {"DashboardName": self.name, "DashboardBody": json.dumps(body)}

    def report_configuration(self, bucket: str) -> dict[str, Any]:
        """The template's ``experimentReportConfiguration``: reports to ``bucket``, with this
        dashboard's snapshots."""
        return {"outputs": {"s3Configuration": {"bucketName": bucket,
                                                "prefix": f"chaos-sre/{self.alarms.experiment}"}},
                "dataSources": {"cloudWatchDashboards": [{"dashboardIdentifier": self.arn}]},
                "preExperimentDuration": REPORT_WINDOW, "postExperimentDuration": REPORT_WINDOW}
