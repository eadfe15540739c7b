"""S3 replication paused: a source bucket's replication rules stopped for the hold, then its
replication configuration restored exactly.

AWS FIS's ``aws:s3:bucket-pause-replication`` pauses a bucket's replication (to some destination
buckets, for some rule prefixes) with a permission only FIS holds (``s3:PauseReplication``,
``s3:IsReplicationPauseRequest``): objects written meanwhile wait and are replicated when the
pause ends. `chaos-sre fis export` maps this fault to that action, so in an account with FIS the
pause has exactly those semantics.

Without FIS (`chaos run`), S3 offers no pause: `pause_replication` disables the rules
(PutBucketReplication with their ``Status`` ``Disabled``), the way the S3 User Guide says to stop
replication ("Managing or pausing live replication"). The bucket's replication configuration
before goes to the run ledger first; `restore_replication` (or any replay of the ledger) puts it
back exactly. S3 does not replicate the objects written while a rule was disabled, not even once
it is enabled again: the restore names them as left changed - S3 Batch Replication replicates
them. PutBucketReplication needs ``iam:PassRole`` for the configuration's replication role
(PutBucketReplication, Amazon S3 API Reference).
"""

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from chaos_sre.aws import aws_client, call
from chaos_sre.errors import ValidationError
from chaos_sre.faults.effects import effect_check
from chaos_sre.faults.registry import Permission, Plan, PlannedCall, Share, Target, fault
from chaos_sre.faults.s3_replication_fis import pause_replication_in_fis
from chaos_sre.permissions import requires
from chaos_sre.safety.ledger import Inverse, Ledger, LeftChanged, Operation, Restored, Settings, inverse
from chaos_sre.safety.rollback import restore_run
from chaos_sre.services.s3 import bucket_tags, replication_configuration

__all__ = ["pause_replication", "restore_replication"]

logger = logging.getLogger("chaostoolkit")
BUCKETS = "arn:aws:s3:::*"
ROLES = "arn:aws:iam::*:role/*"
PASSED_TO_S3 = (("StringEquals", "iam:PassedToService", "s3.amazonaws.com"),)
RESTORE_OP = "restore_replication_configuration"
EFFECT = "disable-replication-rules"


def _prefix(rule: Mapping[str, Any]) -> str:
    filters = rule.get("Filter") or {}
    return str(filters.get("Prefix", (filters.get("And") or {}).get("Prefix", rule.get("Prefix", ""))) or "")


def _destination(rule: Mapping[str, Any]) -> str:
    return str((rule.get("Destination") or {}).get("Bucket", "")).rsplit(":", 1)[-1]


def selected_rules(configuration: Mapping[str, Any], destination_buckets: list[str] | None,
                   prefixes: list[str] | None) -> list[str]:
    """The IDs of the enabled rules the pause stops: to one of ``destination_buckets`` (names or
    ARNs; none: every destination) and with one of ``prefixes`` (none: every rule), as FIS's
    ``destinationBuckets`` and ``prefixes`` select them."""
    destinations = {b.rsplit(":", 1)[-1] for b in destination_buckets or []}
    return [str(rule["ID"]) for rule in configuration.get("Rules", [])
            if rule.get("Status") == "Enabled"
            and (not destinations or _destination(rule) in destinations)
            and (not prefixes or _prefix(rule) in prefixes)]


def with_status(configuration: Mapping[str, Any], rule_ids: list[str], status: str) -> dict[str, Any]:
    """``configuration`` with rules ``rule_ids`` set to ``status``."""
    return {**configuration, "Rules": [{**rule, "Status": status} if rule.get("ID") in rule_ids else rule
                                       for rule in configuration.get("Rules", [])]}


@fault(
    reads=[Permission("s3:GetReplicationConfiguration"), Permission("s3:GetBucketTagging")],
    permissions=[Permission("s3:PutReplicationConfiguration", BUCKETS),
                 Permission("iam:PassRole", ROLES, PASSED_TO_S3)],
    inverses=[RESTORE_OP], effects=[EFFECT], fis=pause_replication_in_fis,
)
def pause_replication(
    bucket_name: str,
    destination_buckets: list[str] | None = None,
    prefixes: list[str] | None = None,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> Plan:
    """Pause an S3 bucket's replication: its enabled rules to `destination_buckets` (default:
    every destination) and with `prefixes` (default: every rule) stop replicating.

    `chaos run` disables the rules (S3 has no pause of its own) after writing the bucket's
    replication configuration to the run ledger; `restore_replication` puts it back exactly.
    Objects written while the rules were disabled stay unreplicated - the restore names them
    (S3 Batch Replication replicates them). `chaos-sre fis run` pauses with FIS's
    aws:s3:bucket-pause-replication instead, whose objects wait and replicate afterwards.
    Refused: a bucket that replicates nothing, or no enabled rule matching. With `dry_run` the
    plan is printed and nothing changes. Returns the bucket and the rules paused.
    """
    if not bucket_name:
        raise ValidationError("bucket_name must name the S3 bucket replication copies objects from")
    s3 = aws_client("s3", configuration, secrets)
    before = replication_configuration(s3, bucket_name)
    if before is None:
        raise ValidationError(f"S3 bucket {bucket_name} has no replication configuration: nothing to pause")
    rules = selected_rules(before, destination_buckets, prefixes)
    if not rules:
        raise ValidationError(
            f"S3 bucket {bucket_name} has no enabled replication rule to "
            f"{', '.join(destination_buckets) if destination_buckets else 'any destination'}"
            f"{' with prefix ' + ', '.join(prefixes) if prefixes else ''}: nothing to pause")
    after = with_status(before, rules, "Disabled")
    resource = f"s3:bucket/{bucket_name}"
    role = str(before.get("Role", ""))
    tags = bucket_tags(s3, bucket_name)

    def apply(ledger: Ledger) -> None:
        started = datetime.now(UTC).isoformat(timespec="seconds")
        with ledger.mutation(resource, EFFECT, {"replication": before},
                             {"op": RESTORE_OP, "bucket_name": bucket_name, "configuration": before,
                              "rule_ids": rules, "since": started}) as mutation:
            call(s3, "put_bucket_replication", Bucket=bucket_name, ReplicationConfiguration=after)
            mutation.applied()
            mutation.outcome = {"rule_ids": rules}
        logger.info(f"chaos-sre: S3 bucket {bucket_name} replication rules {', '.join(rules)} disabled")

    return Plan(
        targets=[Target(resource, tags)],
        shares=[Share(f"replication rules of S3 bucket {bucket_name}", len(rules),
                      len(before.get("Rules", [])))],
        summary={"bucket_name": bucket_name, "rule_ids": rules, "tags": tags,
                 "destination_buckets": sorted({_destination(r) for r in before.get("Rules", [])
                                                if r.get("ID") in rules}),
                 "prefixes": sorted({_prefix(r) for r in before.get("Rules", []) if r.get("ID") in rules}),
                 "before": {"replication": before}, "after": {"replication": after}},
        apply=apply,
        calls=[PlannedCall("s3:PutReplicationConfiguration", f"arn:aws:s3:::{bucket_name}"),
               PlannedCall("iam:PassRole", role, context={"iam:PassedToService": "s3.amazonaws.com"})],
        action=f"disable S3 bucket {bucket_name}'s replication rules {', '.join(rules)}")


@requires()  # its inverses use the permissions their faults declare
def restore_replication(configuration: dict[str, Any] | None = None,
                        secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """`restore_run` (undo everything this run changed): a bucket gets its replication
    configuration back exactly as it was. Returns what was restored."""
    return {"restored": restore_run(configuration, secrets)}


class RestoreReplication(Inverse):
    """A bucket's replication configuration, exactly as it was."""

    bucket_name: str
    configuration: dict[str, Any]
    rule_ids: list[str]
    since: str
    """When the rules were disabled (UTC, ISO 8601): objects written after it are unreplicated."""


@inverse(RESTORE_OP, RestoreReplication)
def _restore_replication(op: RestoreReplication, configuration: Settings, secrets: Settings) -> str | Restored:
    s3 = aws_client("s3", configuration, secrets)
    now = replication_configuration(s3, op.bucket_name)
    if now == op.configuration:
        return f"S3 bucket {op.bucket_name} already replicates as it did"
    if now is None or now == with_status(op.configuration, op.rule_ids, "Disabled"):
        call(s3, "put_bucket_replication", Bucket=op.bucket_name, ReplicationConfiguration=op.configuration)
        text = f"S3 bucket {op.bucket_name} replication configuration restored (rules {', '.join(op.rule_ids)})"
    else:
        enabled = with_status(now, [r for r in op.rule_ids if any(
            rule.get("ID") == r for rule in now.get("Rules", []))], "Enabled")
        call(s3, "put_bucket_replication", Bucket=op.bucket_name, ReplicationConfiguration=enabled)
        text = (f"S3 bucket {op.bucket_name}: rules {', '.join(op.rule_ids)} enabled again; the rest of its "
                "replication configuration changed during the run and was kept")
    until = datetime.now(UTC).isoformat(timespec="seconds")
    return Restored(text, LeftChanged(
        resource=f"s3:bucket/{op.bucket_name}",
        change="objects written while its replication rules were disabled are not replicated",
        before=f"replicated by rules {', '.join(op.rule_ids)}",
        after=f"objects written from {op.since} to {until} without a replica (replication status none)",
        undo="replicate them with S3 Batch Replication (a job over the bucket's objects whose "
             "replication status is none), or run the fault through `chaos-sre fis run`"))


@effect_check(EFFECT)
def _rules_disabled(intent: Operation, outcome: Any, configuration: Settings, secrets: Settings) -> str | None:
    """The rules the fault disabled are still disabled."""
    bucket = str(intent["resource"]).split("/", 1)[1]
    if not isinstance(outcome, dict) or "rule_ids" not in outcome:
        return "the run ledger does not say which replication rules the fault disabled"
    now = replication_configuration(aws_client("s3", configuration, secrets), bucket) or {}
    enabled = [str(r.get("ID")) for r in now.get("Rules", [])
               if r.get("ID") in outcome["rule_ids"] and r.get("Status") == "Enabled"]
    if enabled:
        return f"its replication rules {', '.join(enabled)} are enabled again: something put them back"
    return None
