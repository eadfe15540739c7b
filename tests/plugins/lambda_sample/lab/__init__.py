"""Lambda in the lab, as far as the sample fault needs it: function ``worker`` and its
reserved concurrency (moto stores functions and their concurrency; it runs them only in Docker,
which the fault does not need)."""

from pathlib import Path

from chaos_sre.lab.core.plugin import LabService, RefusedMutation
from chaos_sre.lab.core.settings import PROFILES
from lambda_sample.lab.status import snapshot, status_lines

SERVICE = LabService(
    name="lambda_sample", package=__name__, order=70, botocore_services=("lambda",),
    profile_descriptions=dict.fromkeys(PROFILES, "Lambda function worker, no reserved concurrency"),
    fault_kinds=("lambda-function-throttled",),
    status_lines=status_lines, snapshot=snapshot,
    refused_mutation=RefusedMutation(Path(__file__).parents[2] / "lambda-throttle.json",
                                     "lambda:PutFunctionConcurrency", "AccessDeniedException"),
)
