"""Lambda in the lab (issue "Serverless and storage tiers"): moto stores functions but runs them
only in Docker, so the lab plays their invocation itself - concurrency, throttles, cold starts
and asynchronous retries (:mod:`chaos_sre.lab.awslambda.invocations`). So far the model alone:
its API (Invoke), seed and the application's paths that call a function come next; moto answers
the Lambda API meanwhile. The folder is ``awslambda``, as ``lambda`` is a Python keyword."""

from chaos_sre.lab.core.plugin import LabService

SERVICE = LabService(name="lambda", package=__name__, order=60, botocore_services=("lambda",))
