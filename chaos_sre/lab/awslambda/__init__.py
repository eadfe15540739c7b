"""Lambda in the lab (issue "Serverless and storage tiers"): moto stores functions but runs them
only in Docker, so the lab plays their invocation itself - concurrency, throttles, cold starts
and asynchronous retries (:mod:`chaos_sre.lab.awslambda.invocations`), answering Invoke itself
(:mod:`chaos_sre.lab.awslambda.api`; moto the rest of the Lambda API) for function ``api-worker``
(:mod:`chaos_sre.lab.awslambda.seed`), which service ``api`` invokes to answer ``/api/quote``
(:mod:`chaos_sre.lab.awslambda.routes`). The
folder is ``awslambda``, as ``lambda`` is a Python keyword."""

from pathlib import Path

from chaos_sre.lab.awslambda.status import snapshot, status_lines
from chaos_sre.lab.core.plugin import LabService, RefusedMutation

SERVICE = LabService(name="lambda", package=__name__, order=60, botocore_services=("lambda",),
                     status_lines=status_lines, snapshot=snapshot,
                     fault_kinds=("lambda-reserved-concurrency-lowered", "lambda-invocation-fault-injected"),
                     refused_mutation=RefusedMutation(Path("experiments/lambda-throttle.json"),
                                                      "lambda:PutFunctionConcurrency",
                                                      "AccessDeniedException"),
                     profile_descriptions={
                         "resilient": "/api/quote served without function api-worker when it is throttled",
                         "fragile": "/api/quote fails (502) when function api-worker is throttled"})
