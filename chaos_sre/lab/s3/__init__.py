"""S3 in the lab (issue "Serverless and storage tiers"): moto stores buckets, objects, bucket
policies and replication configurations; the lab plays what moto does not enforce - bucket
policies evaluated for the account's principals (:mod:`chaos_sre.lab.s3.bucket_policy`) and the
request rates per prefix past which S3 answers 503 SlowDown
(:mod:`chaos_sre.lab.s3.request_rates`)."""

from chaos_sre.lab.core.plugin import LabService

SERVICE = LabService(name="s3", package=__name__, order=65, botocore_services=("s3",))
