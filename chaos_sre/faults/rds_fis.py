"""The RDS failover in AWS FIS (:mod:`chaos_sre.fis.mapping`): ``aws:rds:failover-db-cluster``
on an Aurora (or Multi-AZ DB) cluster, ``aws:rds:reboot-db-instances`` with ``forceFailover``
on a Multi-AZ instance - the same calls chaos-sre makes (FailoverDBCluster, RebootDBInstance
with ForceFailover), targeted by the database's ARN."""

from typing import Any

from chaos_sre.fis.mapping import FisContext, FisPart, FisStep, FisTarget, unsupported

FAULT = "failover"


def failover_in_fis(arguments: dict[str, Any], context: FisContext) -> FisPart:
    """``failover`` as one FIS target and action (the module doc says which)."""
    if arguments.get("target_instance"):
        raise unsupported(FAULT, "target_instance", "FIS fails a cluster over to the reader Aurora "
                                                    "picks")
    if arguments.get("fail_back"):
        raise unsupported(FAULT, "fail_back", "FIS does not fail back; the writer stays in the "
                                              "other AZ (fail back by hand, or with chaos run)")
    cluster, instance = arguments.get("db_cluster_identifier"), arguments.get("db_instance_identifier")
    if cluster:
        target = FisTarget("aws:rds:cluster", resource_arns=[context.arn("rds", f"cluster:{cluster}")])
        step = FisStep("aws:rds:failover-db-cluster", "database",
                       description=f"fail cluster {cluster} over to a reader in another AZ")
    else:
        target = FisTarget("aws:rds:db", resource_arns=[context.arn("rds", f"db:{instance}")])
        step = FisStep("aws:rds:reboot-db-instances", "database", {"forceFailover": "true"},
                       description=f"reboot instance {instance} with a failover to its standby")
    notes = ["the writer stays in the AZ it failed over to, as with chaos run without fail_back"]
    if arguments.get("allow_reboot"):
        notes.append("allow_reboot: a single-AZ instance is rebooted, a full outage for its reboot")
    return FisPart(targets={"database": target}, actions={"failover": step}, notes=notes)
