"""What the mutating RDS calls chaos-sre makes act on: the DB cluster of FailoverDBCluster and the
DB instance of RebootDBInstance, in the run ledger's names (``MUTATED``) and by ARN and tags for
IAM (``IAM_RESOURCES``; :mod:`chaos_sre.lab.core.mutations`, :mod:`chaos_sre.lab.core.iam_requests`)."""

from chaos_sre.aws.client import tag_dict
from chaos_sre.lab.core.backends import moto_backend
from chaos_sre.lab.core.iam_evaluation import Resource
from chaos_sre.lab.core.iam_requests import ResourcesOf
from chaos_sre.lab.core.mutations import Extractor, Params, one
from chaos_sre.lab.core.settings import ACCOUNT_ID


def _cluster(region: str, params: Params) -> list[Resource]:
    name = one(params, "DBClusterIdentifier")
    cluster = moto_backend("rds").clusters.get(name)
    return [Resource(f"arn:aws:rds:{region}:{ACCOUNT_ID}:cluster:{name}",
                     tag_dict(cluster.tags) if cluster is not None else {})]


def _instance(region: str, params: Params) -> list[Resource]:
    name = one(params, "DBInstanceIdentifier")
    database = moto_backend("rds").databases.get(name)
    return [Resource(f"arn:aws:rds:{region}:{ACCOUNT_ID}:db:{name}",
                     tag_dict(database.tags) if database is not None else {})]


MUTATED: dict[str, Extractor] = {
    "rds:FailoverDBCluster": lambda p: [f"rds:cluster/{one(p, 'DBClusterIdentifier')}"],
    "rds:RebootDBInstance": lambda p: [f"rds:instance/{one(p, 'DBInstanceIdentifier')}"],
}
IAM_RESOURCES: dict[str, ResourcesOf] = {"rds:FailoverDBCluster": _cluster,
                                         "rds:RebootDBInstance": _instance}
