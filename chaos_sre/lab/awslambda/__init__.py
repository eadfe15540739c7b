"""Lambda in the lab (issue "Serverless and storage tiers"): moto stores functions but runs them
only in Docker, so the lab plays their invocation itself - concurrency, throttles, cold starts
and asynchronous retries (:mod:`chaos_sre.lab.awslambda.invocations`), answering Invoke itself
(:mod:`chaos_sre.lab.awslambda.api`; moto the rest of the Lambda API) for function ``api-worker``
(:mod:`chaos_sre.lab.awslambda.seed`). The application's paths that call it come next. The
folder is ``awslambda``, as ``lambda`` is a Python keyword."""

from chaos_sre.lab.core.plugin import LabService

SERVICE = LabService(name="lambda", package=__name__, order=60, botocore_services=("lambda",))
