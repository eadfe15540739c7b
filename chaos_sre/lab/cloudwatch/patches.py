"""moto patches of CloudWatch: GetMetricStatistics matches a metric's whole dimension set, as AWS
does (moto: any metric that has the given dimensions, so a table's query also summed its GSIs)."""

import threading
from typing import Any

from moto.cloudwatch import models as cloudwatch_models

from chaos_sre.lab.core.patches import original, replaces

_exact_dimensions = threading.local()


@replaces(cloudwatch_models.CloudWatchBackend, "get_metric_statistics")
def _get_metric_statistics(self: Any, *args: Any, **kwargs: Any) -> Any:
    """GetMetricStatistics matches the whole dimension set, as AWS does (moto: any superset)."""
    _exact_dimensions.on = True
    try:
        return original(cloudwatch_models.CloudWatchBackend, "get_metric_statistics")(self, *args, **kwargs)
    finally:
        _exact_dimensions.on = False


@replaces(cloudwatch_models.MetricDatumBase, "filter")
def _datum_filter(self: Any, namespace: Any, name: Any, dimensions: Any,
                  already_present_metrics: Any = None) -> bool:
    matched = original(cloudwatch_models.MetricDatumBase, "filter")(
        self, namespace, name, dimensions, already_present_metrics)
    if matched and dimensions and getattr(_exact_dimensions, "on", False):
        return len(self.dimensions) == len(dimensions)
    return bool(matched)
