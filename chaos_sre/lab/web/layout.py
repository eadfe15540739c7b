"""The sample application's account: its resources, their names and tags, and the network the
lab services' seeds build on (:func:`chaos_sre.lab.core.topology.seed` runs them).

The topology is created with boto3 against the lab's moto server, exactly as
infrastructure code would create it in a staging account:

* a VPC (10.0.0.0/16) with one subnet per AZ (us-east-1a/b/c) and a network
  ACL ``web`` that allows all traffic, associated with the three subnets;
* security groups ``web-alb`` (HTTP from anywhere) and ``web`` (HTTP from the ALB);
* launch template ``web``; target group ``web`` (HTTP:80, health check every
  10 s, 3 passes healthy, 2 failures unhealthy, 30 s deregistration delay);
  ALB ``web`` in the three subnets with an HTTP listener forwarding to it;
* Auto Scaling group ``web``: 6 instances over the profile's AZs;
* ECS (lab/ecs/seed.py): cluster ``staging`` with Fargate service ``api``
  (the profile's task count, spread over the three subnets) behind target
  group ``api`` (IP targets on port 8080, health check every 5 s, 2 passes
  healthy, 3 failures unhealthy, 30 s deregistration delay), to which the
  ALB's listener forwards ``/api/*``; in the resilient profile an Application
  Auto Scaling scalable target (min/max of the profile) with a target
  tracking policy on CPU;
* the data tier (lab/rds/seed.py): subnets ``data-us-east-1a/b/c``
  (10.0.11-13.0/24), security group ``data`` (PostgreSQL from ``web``), DB
  subnet group ``data``; Aurora PostgreSQL cluster ``orders`` (writer
  ``orders-1`` in us-east-1a, reader ``orders-2`` in the profile's reader AZ,
  none in ``fragile``), RDS PostgreSQL instance ``accounts`` (Multi-AZ unless
  ``fragile``) and, with the profile's ``rds_proxy``, RDS Proxy
  ``orders-proxy`` in front of ``orders``. Master passwords are managed by
  Secrets Manager, so no password exists in the lab's configuration.

The application needs the ``orders`` writer for ``/checkout`` and the
``accounts`` writer for ``/account`` (:data:`DATABASE_ROUTES`); it reads and
writes DynamoDB table ``sessions`` (provisioned, GSI ``by-user``) for
``/session`` and on-demand table ``carts`` for ``/cart`` (:data:`DYNAMODB_ROUTES`).

Web pages also call service ``api`` (:data:`API_ROUTE`); when it cannot answer
they serve a fallback or fail, per the profile. Service ``api`` answers ``/api/quote`` by
invoking Lambda function ``api-worker`` synchronously (:data:`LAMBDA_ROUTES`). ``/upload`` writes an
object to S3 bucket ``uploads`` as role ``web-app`` (:data:`S3_ROUTES`); ``/assets/...`` reads
its object from that bucket (:data:`S3_ASSET_ROUTES`), ``/uploads/recent`` the upload of some
seconds ago from its replica ``uploads-replica`` (:data:`S3_REPLICA_ROUTES`).

Around the service, as in a staging account: subnet ``runner-us-east-1c`` (10.0.23.0/24) of the
same VPC holds the chaos-sre runner's network interface (private address
:data:`RUNNER_ADDRESS`, which the lab's ECS task metadata endpoint answers, as ECS does for a
Fargate runner); a second VPC ``shared`` (10.1.0.0/16, ``app=shared``) has a subnet per AZ, and
moto's default VPC one more - so a network fault scoped by AZ and tags alone would reach them.

Every resource is tagged ``env=staging``; the web tier ``app=web``, ``api`` ``app=api``, the data
tier ``app=data`` (so AZ faults scoped to ``app=web`` leave the data subnets alone).
"""

from dataclasses import dataclass, field
from typing import Any

TAGS = {"app": "web", "env": "staging"}
DATA_TAGS = {"app": "data", "env": "staging"}
DATABASE_ROUTES = {"/checkout": "orders", "/account": "accounts"}
"""Path prefix -> the database (cluster or instance) whose writer the application needs."""
DYNAMODB_ROUTES = {"/session": "sessions", "/cart": "carts"}
"""Path prefix -> the DynamoDB table the application reads and writes once per request."""
API_ROUTE = "/api"
"""Path prefix the load balancer forwards to ECS service ``api`` (every other path: the web tier)."""
LAMBDA_ROUTES = {"/api/quote": "api-worker"}
"""Path prefix -> the Lambda function service ``api`` invokes (RequestResponse) to answer it."""
S3_ROUTES = {"/upload": "uploads"}
"""Path prefix -> the bucket the web tier writes each request's upload to (as role ``web-app``)."""
S3_REPLICA_ROUTES = {"/uploads/recent": "uploads-replica"}
"""Path prefix -> the bucket the web tier reads its upload of some seconds ago from (the replica
of ``uploads``, as role ``web-app``)."""
S3_ASSET_ROUTES = {"/assets": "uploads"}
"""Path prefix -> the bucket the web tier reads the path's object from (``/assets/logo.svg``:
key ``assets/logo.svg``, as role ``web-app``)."""
API_TAGS = {"app": "api", "env": "staging"}
ECS_CLUSTER = "staging"
ECS_SERVICE = "api"
API_CONTAINER_PORT = 8080
AURORA_CLUSTER = "orders"
RDS_INSTANCE = "accounts"
RDS_PROXY = "orders-proxy"
WEB_CAPACITY = 6
VPC_CIDR = "10.0.0.0/16"
RUNNER_TAGS = {"app": "chaos-runner", "env": "staging"}
RUNNER_ZONE = "us-east-1c"
RUNNER_CIDR = "10.0.23.0/24"
RUNNER_ADDRESS = "10.0.23.10"
"""The private address of the runner's network interface, in its own subnet of the lab's VPC."""
RUNNER_METADATA_PATH = "/__lab/ecs-metadata"
"""Where the lab's endpoint answers as the runner's ECS task metadata endpoint (version 4)."""
SHARED_VPC_CIDR = "10.1.0.0/16"
SHARED_TAGS = {"app": "shared", "env": "staging"}


def tag_list(name: str, tags: dict[str, str] = TAGS) -> list[dict[str, str]]:
    """EC2 tags: ``Name`` and ``tags``."""
    return [{"Key": "Name", "Value": name}] + [{"Key": k, "Value": v} for k, v in tags.items()]


def spec(resource_type: str, name: str, tags: dict[str, str] = TAGS) -> list[dict[str, Any]]:
    """A TagSpecifications list for one resource type."""
    return [{"ResourceType": resource_type, "Tags": tag_list(name, tags)}]


def security_group(ec2: Any, name: str, description: str, vpc_id: str, tags: dict[str, str], *,
                    port: int, source_group: str) -> str:
    """Create security group ``name`` allowing TCP ``port`` from ``source_group``; return its id."""
    group_id = ec2.create_security_group(
        GroupName=name, Description=description, VpcId=vpc_id,
        TagSpecifications=spec("security-group", name, tags),
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group_id,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                        "UserIdGroupPairs": [{"GroupId": source_group}]}],
    )
    return str(group_id)




@dataclass
class Network:
    """What the web tier's seed creates and the other services' seeds build on."""

    vpc_id: str = ""
    subnets: dict[str, str] = field(default_factory=dict)
    """AZ -> the web subnet in it."""
    alb_security_group: str = ""
    web_security_group: str = ""
    listener_arn: str = ""
    target_group_arn: str = ""
