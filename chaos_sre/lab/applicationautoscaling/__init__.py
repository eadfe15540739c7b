"""Application Auto Scaling in the lab: RegisterScalableTarget reaches the service that owns the target."""

from chaos_sre.lab.core.plugin import LabService

SERVICE = LabService(name="applicationautoscaling", package=__name__, order=60,
                     botocore_services=("application-autoscaling",))
