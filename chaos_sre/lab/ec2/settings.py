"""EC2's AWS timings in the lab (AWS seconds; docs/lab.md gives each source). No profile changes
EC2 itself: how long the application on an instance boots is the sample application's part."""

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Ec2Timings:
    """AWS-side delays of EC2."""

    ec2_pending_seconds: float = 20.0
    """RunInstances until the instance is ``running``."""
    new_network_acl_not_found_seconds: float = 2.0
    """The longest a network ACL just created answers ``InvalidNetworkAclID.NotFound`` to calls
    naming it (EC2 eventual consistency; a lab assumption for the length)."""
    new_network_acl_lagging_share: float = 0.1
    """The share of new network ACLs that lag at all (sampled mode; a lab assumption: "most
    calls" see a resource at once, EC2 says only that some may not)."""


CALLER_INTERFACE_DESCRIPTION = "chaos-sre runner"
"""The description of the network interface the lab's callers (tests, ``chaos run``) sit behind:
their calls to AWS leave from its subnet, by its route table or the VPC's interface endpoints.
Without one they reach AWS from outside any VPC."""

CONSISTENCY_SETTING = "CHAOS_SRE_LAB_CONSISTENCY"
"""``sampled`` (default): a new resource lags now and then, each for a window drawn per resource,
as on AWS; ``worst-case``: every new resource lags for the longest window (the test suite's
setting for chaos-sre's own faults, which must handle the lag every time)."""
WORST_CASE = "worst-case"


def not_found_window(resource_id: str, timings: "Ec2Timings", mode: str) -> float:
    """AWS seconds that calls naming ``resource_id``, just created, do not find it: in
    ``worst-case`` mode the longest window; else, seeded by the id, 0 for most resources and,
    for ``new_network_acl_lagging_share`` of them, between a fifth of the longest and all of it."""
    longest = timings.new_network_acl_not_found_seconds
    if mode == WORST_CASE:
        return longest
    draw = random.Random(f"eventual-consistency:{resource_id}")
    if draw.random() >= timings.new_network_acl_lagging_share:
        return 0.0
    return draw.uniform(0.2, 1.0) * longest


TIMINGS = Ec2Timings()
