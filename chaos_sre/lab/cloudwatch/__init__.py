"""CloudWatch in the lab: the metrics the lab's services publish, as CloudWatch serves them."""

from chaos_sre.lab.core.plugin import LabService

SERVICE = LabService(name="cloudwatch", package=__name__, order=50,
                     botocore_services=("cloudwatch",))
