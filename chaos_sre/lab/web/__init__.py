"""The sample application: its account (VPC, web tier behind an ALB, the runner's place), how it
is built in each profile, what each of its paths needs of the other services, and the endpoint
clients reach it on. EC2, Auto Scaling and the load balancer themselves are their own services."""

from chaos_sre.lab.core.plugin import LabService
from chaos_sre.lab.web import runner
from chaos_sre.lab.web.status import snapshot

SERVICE = LabService(
    name="web", package=__name__, order=0, endpoint="chaos_sre.lab.web.endpoint:endpoint",
    profile_descriptions={"resilient": "web tier spread 2/2/2 over three AZs, ELB health checks, "
                                       "baked AMI",
                          "fragile": "web tier in one AZ, EC2-only health checks, slow boot"},
    snapshot=snapshot, endpoint_routes=runner.ROUTES, environment=runner.ENVIRONMENT,
)
