"""S3 in the lab (issue "Serverless and storage tiers"): moto stores buckets, objects, bucket
policies and replication configurations; the lab plays what moto does not enforce - bucket
policies evaluated for the account's principals (:mod:`chaos_sre.lab.s3.bucket_policy`) and the
request rates per prefix past which S3 answers 503 SlowDown
(:mod:`chaos_sre.lab.s3.request_rates`), and the web tier's ``/upload`` writing to bucket
``uploads`` and ``/assets/...`` reading from it as role ``web-app`` (:mod:`chaos_sre.lab.s3.routes`,
:mod:`chaos_sre.lab.s3.seed`)."""

from pathlib import Path

from chaos_sre.lab.core.plugin import LabService, RefusedMutation
from chaos_sre.lab.s3.status import snapshot, status_lines

SERVICE = LabService(name="s3", package=__name__, order=65, botocore_services=("s3",),
                     status_lines=status_lines, snapshot=snapshot,
                     fault_kinds=("s3-bucket-access-denied", "s3-replication-paused"),
                     refused_mutation=RefusedMutation(Path("experiments/s3-access-denied.json"),
                                                      "s3:PutBucketPolicy", "AccessDenied"),
                     profile_descriptions={
                         "resilient": "/upload queues an upload S3 refuses and writes it later; "
                                      "/assets serves its cached copy",
                         "fragile": "/upload loses an upload S3 refuses, /assets fails (5xx)"})
