"""EC2's AWS timings in the lab (AWS seconds; docs/lab.md gives each source). No profile changes
EC2 itself: how long the application on an instance boots is the sample application's part."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Ec2Timings:
    """AWS-side delays of EC2."""

    ec2_pending_seconds: float = 20.0
    """RunInstances until the instance is ``running``."""
    new_network_acl_not_found_seconds: float = 2.0
    """A network ACL just created answers ``InvalidNetworkAclID.NotFound`` to calls naming it
    this long (EC2 eventual consistency; a lab assumption for the length)."""


TIMINGS = Ec2Timings()
