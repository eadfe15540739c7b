"""How often a wait may ask AWS, per service: rates a real account can afford.

Describe calls share one rate limit per account and Region with every other caller - the
application's own deployment tools, dashboards, other runs. EC2's non-mutating actions, for
one, draw on a bucket of 100 requests refilled at 20 a second ("Request throttling for the
Amazon EC2 API", https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html). AWS's
own waiters poll every 15 s (ECS services_stable, EC2 instance_running, Auto Scaling
group_in_service), 20 s (DynamoDB table_exists) and 30 s (RDS db_instance_available); a run
polls at a third to half of that, for a recovery timed to a few seconds, at well under 1 % of
EC2's refill rate. The intervals are AWS seconds (played at the lab's time scale) and every poll
is jittered by 10 % (:data:`chaos_sre.waiting.JITTER`) so concurrent runs do not poll in step.
"""

from chaos_sre.timescale import wall_seconds

POLL_SECONDS: dict[str, float] = {
    "ec2": 5.0,
    "autoscaling": 10.0,
    "elasticloadbalancing": 5.0,
    "ecs": 6.0,
    "rds": 10.0,
    "dynamodb": 5.0,
}
"""AWS seconds between two Describe calls of one wait, by service."""


def poll_seconds(service: str) -> float:
    """The interval of a wait on ``service``, in AWS seconds."""
    return POLL_SECONDS[service]


def poll_wall_seconds(service: str) -> float:
    """The same interval in wall seconds at the lab's time scale (for boto3 waiters)."""
    return wall_seconds(POLL_SECONDS[service])
