"""What the mutating CloudWatch calls chaos-sre makes act on, as IAM sees them (``IAM_RESOURCES``,
:mod:`chaos_sre.lab.core.iam_requests`; Service Authorization Reference, "Actions defined by
Amazon CloudWatch"): PutMetricAlarm and PutCompositeAlarm the alarm (``alarm:NAME``), PutDashboard
the dashboard (``arn:aws:cloudwatch::ACCOUNT:dashboard/NAME``, no Region)."""

from chaos_sre.lab.core.iam_evaluation import Resource
from chaos_sre.lab.core.iam_requests import ResourcesOf
from chaos_sre.lab.core.mutations import Params, one
from chaos_sre.lab.core.settings import ACCOUNT_ID


def _alarm(region: str, params: Params) -> list[Resource]:
    return [Resource(f"arn:aws:cloudwatch:{region}:{ACCOUNT_ID}:alarm:{one(params, 'AlarmName')}")]


IAM_RESOURCES: dict[str, ResourcesOf] = {
    "cloudwatch:PutMetricAlarm": _alarm,
    "cloudwatch:PutCompositeAlarm": _alarm,
    "cloudwatch:PutDashboard": lambda region, params: [
        Resource(f"arn:aws:cloudwatch::{ACCOUNT_ID}:dashboard/{one(params, 'DashboardName')}")],
}
