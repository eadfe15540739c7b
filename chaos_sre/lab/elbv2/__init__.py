"""Elastic Load Balancing (v2) in the lab: SetSubnets and what moto's ELBv2 lacks."""

from chaos_sre.lab.core.plugin import LabService

SERVICE = LabService(name="elbv2", package=__name__, order=40, botocore_services=("elbv2",))
