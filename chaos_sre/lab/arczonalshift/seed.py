"""Seeds zonal autoshift for the load balancer ``web`` where the profile enables it: the practice
run configuration ARC requires first, whose outcome alarm watches the load balancer's own 5xx
answers, then the autoshift itself ("Zonal autoshift in ARC"). The lab answers this API itself
(moto has no model of it), so the seed writes the state its API would."""

from typing import Any

from chaos_sre.lab.arczonalshift.api import ENABLED
from chaos_sre.lab.arczonalshift.simulation import lab_shifts
from chaos_sre.lab.core.settings import Profile

SEED_ORDER = 5
OUTCOME_ALARM = "web-practice-run-outcome"


def seed(session: Any, endpoint_url: str, profile: Profile, built: dict[str, Any]) -> None:
    """Zonal autoshift of load balancer ``web`` for a profile whose web tier enables it."""
    if not profile.part("web").zonal_autoshift:
        return
    elbv2 = session.client("elbv2", endpoint_url=endpoint_url)
    cloudwatch = session.client("cloudwatch", endpoint_url=endpoint_url)
    arn = elbv2.describe_load_balancers(Names=["web"])["LoadBalancers"][0]["LoadBalancerArn"]
    cloudwatch.put_metric_alarm(
        AlarmName=OUTCOME_ALARM, Namespace="AWS/ApplicationELB", MetricName="HTTPCode_ELB_5XX_Count",
        Dimensions=[{"Name": "LoadBalancer", "Value": arn.split(":loadbalancer/", 1)[1]}],
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=10,
        ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching")
    alarm_arn = cloudwatch.describe_alarms(AlarmNames=[OUTCOME_ALARM])["MetricAlarms"][0]["AlarmArn"]
    shifts = lab_shifts()
    shifts.practice_runs[arn] = {"outcomeAlarms": [{"type": "CLOUDWATCH", "alarmIdentifier": alarm_arn}],
                                 "blockingAlarms": [], "blockedWindows": [], "blockedDates": []}
    shifts.autoshift[arn] = ENABLED
