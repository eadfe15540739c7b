"""S3 replication paused in AWS FIS (:mod:`chaos_sre.fis.mapping`): FIS's own
``aws:s3:bucket-pause-replication`` for the hold - objects written meanwhile wait and replicate
once it ends, where ``chaos run`` disables the rules and leaves them unreplicated. FIS targets S3
buckets by tags only (AWS FIS actions reference): the target is every bucket carrying all of the
source bucket's tags, and the action's ``destinationBuckets`` and ``prefixes`` are the rules the
fault's dry run selected."""

from typing import Any

from chaos_sre.fis.actions import iso_duration
from chaos_sre.fis.mapping import FisContext, FisPart, FisStep, FisTarget, unsupported

FAULT = "s3_replication.pause_replication"


def pause_replication_in_fis(arguments: dict[str, Any], context: FisContext) -> FisPart:
    """``pause_replication`` as FIS's own pause (the module doc says how it differs)."""
    planned = context.planned()
    bucket, tags = str(planned["bucket_name"]), dict(planned.get("tags") or {})
    if not tags:
        raise unsupported(FAULT, "bucket_name", f"FIS targets S3 buckets by tags only, and bucket "
                                                f"{bucket} has none: tag it")
    parameters = {"duration": iso_duration(context.fault_seconds), "region": context.region}
    if arguments.get("destination_buckets"):
        parameters["destinationBuckets"] = ",".join(planned["destination_buckets"])
    if arguments.get("prefixes"):
        parameters["prefixes"] = ",".join(planned["prefixes"])
    shown = ", ".join(f"{k}={v}" for k, v in sorted(tags.items()))
    return FisPart(
        targets={"buckets": FisTarget("aws:s3:bucket", resource_tags=tags)},
        actions={"pause-replication": FisStep("aws:s3:bucket-pause-replication", "buckets", parameters,
                                              description=f"pause S3 bucket {bucket}'s replication")},
        notes=[f"FIS targets S3 buckets by tags only: every bucket tagged {shown} has its replication "
               "paused (those that replicate nothing are untouched)",
               "FIS pauses: objects written during the pause replicate when it ends; chaos run "
               "disables the rules and leaves them unreplicated",
               f"region {context.region}: the destination buckets' Region (set it if they are elsewhere)"])
