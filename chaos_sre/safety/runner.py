"""Where the runner itself sits in the VPC, so a network fault never cuts off the machine that
must roll it back.

A runner's private IPv4 addresses come from two places:

* the ECS task metadata endpoint (version 4), when ``ECS_CONTAINER_METADATA_URI_V4`` is set, as
  ECS sets it in every container of a task (the Fargate runner of docs/scheduling/aws/): the
  container's ``Networks[].IPv4Addresses``
  (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4.html);
* the address the host's routing picks to reach the EC2 API endpoint (a connected UDP socket,
  no packet is sent): on an EC2 instance or in a VPC, its private address.

:func:`runner_network_interfaces` finds the network interfaces of a VPC that hold those
addresses (DescribeNetworkInterfaces, filter ``addresses.private-ip-address``); a fault that
cuts subnets off refuses the subnets they are in.
"""

import ipaddress
import os
import socket
from typing import Any
from urllib.parse import urlsplit

import requests

from chaos_sre.aws import paginate
from chaos_sre.errors import ValidationError

METADATA_ENV = "ECS_CONTAINER_METADATA_URI_V4"
METADATA_TIMEOUT_SECONDS = 2.0


def _metadata_addresses() -> set[str]:
    """The container's IPv4 addresses from the ECS task metadata endpoint, when ECS runs it."""
    url = os.environ.get(METADATA_ENV)
    if not url:
        return set()
    try:
        response = requests.get(url, timeout=METADATA_TIMEOUT_SECONDS)
        response.raise_for_status()
        container = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ValidationError(
            f"cannot tell where the runner runs: the ECS task metadata endpoint {url} "
            f"({METADATA_ENV}) did not answer ({exc}); refusing a network fault that could "
            "cut the runner off") from exc
    networks = container.get("Networks") if isinstance(container, dict) else None
    return {str(address) for network in networks or [] if isinstance(network, dict)
            for address in network.get("IPv4Addresses") or []}


def _routed_address(endpoint_url: str) -> set[str]:
    """The local address the host would send from to reach ``endpoint_url`` (none if loopback)."""
    parts = urlsplit(endpoint_url)
    if not parts.hostname:
        return set()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            parts.hostname, port, socket.AF_INET, socket.SOCK_DGRAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.connect(address)
            local = str(probe.getsockname()[0])
    except OSError:
        return set()
    return set() if ipaddress.ip_address(local).is_loopback else {local}


def runner_addresses(endpoint_url: str) -> set[str]:
    """The runner's private IPv4 addresses (see the module docstring)."""
    return _metadata_addresses() | _routed_address(endpoint_url)


def runner_network_interfaces(ec2: Any, vpc_id: str) -> dict[str, str]:
    """{subnet id: network interface id} of the runner's network interfaces in ``vpc_id``."""
    addresses = sorted(runner_addresses(str(ec2.meta.endpoint_url)))
    if not addresses:
        return {}
    return {eni["SubnetId"]: eni["NetworkInterfaceId"]
            for eni in paginate(ec2, "describe_network_interfaces", "NetworkInterfaces",
                                Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                         {"Name": "addresses.private-ip-address",
                                          "Values": addresses}])}
