"""Amazon EC2 Auto Scaling in the lab: groups that place, heal and rebalance their instances."""

from chaos_sre.lab.core.plugin import LabService

SERVICE = LabService(name="autoscaling", package=__name__, order=2, botocore_services=("autoscaling",))
