"""Elastic Load Balancing (v2) in the lab: target health checks, routing, the load balancers' nodes
in DNS, their CloudWatch metrics, and SetSubnets as each load balancer type takes it."""

from chaos_sre.lab.core.plugin import LabService
from chaos_sre.lab.elbv2.status import status_lines

SERVICE = LabService(name="elbv2", package=__name__, order=3, botocore_services=("elbv2",),
                     status_lines=status_lines)
