"""EC2 in the lab: instances that take time to start and stop, network ACLs that cut subnets off,
and what the load balancer finds at an instance."""

from pathlib import Path

from chaos_sre.lab.core.plugin import LabService, RefusedMutation
from chaos_sre.lab.ec2.status import status_lines

SERVICE = LabService(
    name="ec2", package=__name__, order=1, botocore_services=("ec2",),
    fault_kinds=("instance-terminated", "instance-stopped", "subnet-unreachable"),
    status_lines=status_lines,
    refused_mutation=RefusedMutation(Path("experiments/az-outage.json"), "ec2:TerminateInstances",
                                     "UnauthorizedOperation"),
)
