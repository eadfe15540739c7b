"""Seeds the data tier: subnets, security group ``data``, DB subnet group, Aurora cluster
``orders``, RDS instance ``accounts`` and, with the profile's ``rds_proxy``, RDS Proxy."""

from typing import Any

from chaos_sre.lab.core.settings import ACCOUNT_ID, AVAILABILITY_ZONES, REGION, Profile
from chaos_sre.lab.web import layout as topology
from chaos_sre.lab.web.layout import Network

SEED_ORDER = 10


def seed(session: Any, endpoint_url: str, profile: Profile, built: dict[str, Any]) -> None:
    """Create the data tier of ``profile`` in the web tier's VPC."""
    network: Network = built["network"]
    vpc_id, web_security_group = network.vpc_id, network.web_security_group
    ec2 = session.client("ec2", endpoint_url=endpoint_url)
    rds = session.client("rds", endpoint_url=endpoint_url)
    tags = [{"Key": k, "Value": v} for k, v in topology.DATA_TAGS.items()]
    subnets = [
        ec2.create_subnet(
            VpcId=vpc_id, CidrBlock=f"10.0.{index}.0/24", AvailabilityZone=zone,
            TagSpecifications=topology.spec("subnet", f"data-{zone}", topology.DATA_TAGS),
        )["Subnet"]["SubnetId"]
        for index, zone in enumerate(AVAILABILITY_ZONES, start=11)
    ]
    data_sg = topology.security_group(ec2, "data", "databases", vpc_id, topology.DATA_TAGS, port=5432,
                              source_group=web_security_group)
    rds.create_db_subnet_group(DBSubnetGroupName="data", DBSubnetGroupDescription="databases",
                               SubnetIds=subnets, Tags=tags)
    database = profile.part("rds")
    rds.create_db_cluster(
        DBClusterIdentifier=topology.AURORA_CLUSTER, Engine="aurora-postgresql", MasterUsername="app",
        ManageMasterUserPassword=True, DBSubnetGroupName="data", VpcSecurityGroupIds=[data_sg],
        Tags=tags,
    )
    members = [("orders-1", AVAILABILITY_ZONES[0], 0)]
    if database.aurora_reader_zone:
        members.append(("orders-2", database.aurora_reader_zone, 1))
    for identifier, zone, tier in members:
        rds.create_db_instance(
            DBInstanceIdentifier=identifier, DBClusterIdentifier=topology.AURORA_CLUSTER,
            Engine="aurora-postgresql", DBInstanceClass="db.r6g.large",
            AvailabilityZone=zone, PromotionTier=tier, Tags=tags,
        )
    rds.create_db_instance(
        DBInstanceIdentifier=topology.RDS_INSTANCE, Engine="postgres", DBInstanceClass="db.m6g.large",
        AllocatedStorage=20, MasterUsername="app", ManageMasterUserPassword=True,
        MultiAZ=database.instance_multi_az, DBSubnetGroupName="data",
        VpcSecurityGroupIds=[data_sg], Tags=tags,
    )
    if database.rds_proxy:
        rds.create_db_proxy(
            DBProxyName=topology.RDS_PROXY, EngineFamily="POSTGRESQL",
            Auth=[{"AuthScheme": "SECRETS", "IAMAuth": "DISABLED",
                   "SecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:orders-app"}],
            RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/orders-proxy",
            VpcSubnetIds=subnets, VpcSecurityGroupIds=[data_sg], Tags=tags,
        )
        rds.register_db_proxy_targets(DBProxyName=topology.RDS_PROXY,
                                      DBClusterIdentifiers=[topology.AURORA_CLUSTER])
