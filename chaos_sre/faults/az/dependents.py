"""What else a deny-all network ACL cuts: every network interface in the AZ's subnets, not only
the service's.

A network ACL applies to every interface in its subnets ("Control subnet traffic with network
access control lists", Amazon VPC User Guide): a NAT gateway whose route tables serve subnets of
other AZs, interface VPC endpoints, database, cache, file system and Lambda interfaces. The
blackhole lists them by owner type in its plan (dry run and journal), and refuses, naming them,
the ones another AZ or the runner depends on:

* a NAT gateway in a cut subnet that a route table of a subnet outside the cut sends traffic
  to: that subnet loses its egress too ("NAT gateways", Amazon VPC User Guide) - refused unless
  ``allow_cross_az_nat_gateways``; always refused when it is the runner's own route, which the
  runner needs to reach AWS and roll back;
* an interface VPC endpoint with private DNS, in the runner's VPC, of a service the runner
  calls: DNS keeps answering the cut AZ's interface address, so some of the runner's calls time
  out ("Access an AWS service using an interface VPC endpoint", AWS PrivateLink Guide) - refused
  unless ``allow_endpoint_interfaces``.
"""

from collections import defaultdict
from typing import Any

from chaos_sre.aws import paginate
from chaos_sre.errors import ValidationError

RUNNER_SERVICES = frozenset({"ec2", "autoscaling", "elasticloadbalancing", "sts", "iam", "rds",
                             "ecs", "application-autoscaling", "monitoring", "dynamodb", "kms"})
"""Services whose API a chaos-sre run calls (an interface endpoint's name ends with one)."""
DESCRIBED_AS = (("RDSNetworkInterface", "rds"), ("ELB ", "load_balancer"),
                ("EFS mount target", "efs"), ("ElastiCache", "elasticache"),
                ("arn:aws:ecs:", "ecs_task"), ("AWS Lambda VPC ENI", "lambda"))
"""Owners AWS names only in an interface's description (InterfaceType ``interface``)."""


def owner_type(interface: dict[str, Any]) -> str:
    """Whose interface it is: its InterfaceType (``nat_gateway``, ``vpc_endpoint``,
    ``load_balancer``, ``lambda`` ...), ``instance`` when attached to one, else what its
    description names, else ``interface``."""
    kind = str(interface.get("InterfaceType") or "interface")
    if kind != "interface":
        return "nat_gateway" if kind == "natGateway" else kind
    if (interface.get("Attachment") or {}).get("InstanceId"):
        return "instance"
    description = str(interface.get("Description") or "")
    return next((owner for prefix, owner in DESCRIBED_AS if description.startswith(prefix)),
                "interface")


def interfaces_by_owner(ec2: Any, subnet_ids: list[str]) -> dict[str, list[str]]:
    """{owner type: interface ids} of every network interface in ``subnet_ids``."""
    found: dict[str, list[str]] = defaultdict(list)
    for interface in paginate(ec2, "describe_network_interfaces", "NetworkInterfaces",
                              Filters=[{"Name": "subnet-id", "Values": sorted(subnet_ids)}]):
        found[owner_type(interface)].append(str(interface["NetworkInterfaceId"]))
    return {owner: sorted(ids) for owner, ids in sorted(found.items())}


def _routed_subnets(ec2: Any, vpc_id: str, gateways: set[str]) -> dict[str, set[str]]:
    """{NAT gateway: the subnets whose route table sends traffic to it} (a main route table
    serves the VPC's subnets without a table of their own)."""
    tables = list(paginate(ec2, "describe_route_tables", "RouteTables",
                           Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]))
    explicit = {a["SubnetId"] for t in tables for a in t.get("Associations") or [] if a.get("SubnetId")}
    vpc_subnets = {s["SubnetId"] for s in paginate(ec2, "describe_subnets", "Subnets",
                                                   Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])}
    routed: dict[str, set[str]] = defaultdict(set)
    for table in tables:
        served = {a["SubnetId"] for a in table.get("Associations") or [] if a.get("SubnetId")}
        if any(a.get("Main") for a in table.get("Associations") or []):
            served |= vpc_subnets - explicit
        for route in table.get("Routes") or []:
            if route.get("NatGatewayId") in gateways:
                routed[route["NatGatewayId"]] |= served
    return routed


def refuse_cut_dependencies(ec2: Any, vpc_id: str, subnet_ids: set[str], runner_subnets: set[str],
                            *, allow_cross_az_nat_gateways: bool,
                            allow_endpoint_interfaces: bool) -> None:
    """Refuse to cut a NAT gateway or an interface endpoint another AZ or the runner depends on
    (the module doc says which), naming them and the argument that accepts it."""
    gateways = {g["NatGatewayId"] for g in paginate(
        ec2, "describe_nat_gateways", "NatGateways",
        Filters=[{"Name": "subnet-id", "Values": sorted(subnet_ids)},
                 {"Name": "state", "Values": ["pending", "available"]}])}
    routed = _routed_subnets(ec2, vpc_id, gateways) if gateways else {}
    runner_routes = {g: sorted(s & runner_subnets) for g, s in routed.items() if s & runner_subnets}
    if runner_routes:
        shown = "; ".join(f"{g} (runner subnet {', '.join(s)})" for g, s in sorted(runner_routes.items()))
        raise ValidationError(f"refusing to cut off NAT gateway {shown}: the runner reaches AWS "
                              "through it and could not roll back; run from another subnet")
    others = {g: sorted(s - subnet_ids) for g, s in routed.items() if s - subnet_ids}
    if others and not allow_cross_az_nat_gateways:
        shown = "; ".join(f"{g} (routes subnets {', '.join(s)})" for g, s in sorted(others.items()))
        raise ValidationError(
            f"refusing to cut off NAT gateway {shown}: subnets outside the cut AZ send their "
            "internet traffic through it and would lose it too; set allow_cross_az_nat_gateways "
            "to true to cut it anyway")
    if not runner_subnets or allow_endpoint_interfaces:
        return
    used = sorted(e["VpcEndpointId"] for e in paginate(
        ec2, "describe_vpc_endpoints", "VpcEndpoints",
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                 {"Name": "vpc-endpoint-type", "Values": ["Interface"]}])
        if e.get("PrivateDnsEnabled") and set(e.get("SubnetIds") or []) & subnet_ids
        and str(e.get("ServiceName", "")).rsplit(".", 1)[-1] in RUNNER_SERVICES)
    if used:
        raise ValidationError(
            f"refusing to cut off interface endpoint {', '.join(used)}: the runner calls AWS "
            "through it (private DNS), and its calls to the cut AZ's address would time out; set "
            "allow_endpoint_interfaces to true to cut it anyway")
