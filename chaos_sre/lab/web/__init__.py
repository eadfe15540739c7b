"""The sample application's web tier: EC2 instances in an Auto Scaling group behind an ALB, its
network, DNS and the endpoint the lab serves."""

from pathlib import Path

from chaos_sre.lab.core.plugin import LabService, RefusedMutation
from chaos_sre.lab.web import runner
from chaos_sre.lab.web.status import snapshot, status_lines

SERVICE = LabService(
    name="web", package=__name__, order=0, endpoint="chaos_sre.lab.web.endpoint:endpoint",
    botocore_services=("ec2", "autoscaling"),
    profile_descriptions={"resilient": "web tier spread 2/2/2 over three AZs, ELB health checks, "
                                       "baked AMI",
                          "fragile": "web tier in one AZ, EC2-only health checks, slow boot"},
    fault_kinds=("instance-terminated", "instance-stopped", "subnet-unreachable"),
    status_lines=status_lines, snapshot=snapshot,
    refused_mutation=RefusedMutation(Path("experiments/az-outage.json"), "ec2:TerminateInstances",
                                     "UnauthorizedOperation"),
    endpoint_routes=runner.ROUTES, environment=runner.ENVIRONMENT,
)
