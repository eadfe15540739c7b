"""The lab account's Availability Zones: their IDs (``use1-az1``) and names (``us-east-1a``)."""

from chaos_sre.lab.core.backends import moto_backend


def zone_names_by_id() -> dict[str, str]:
    """AZ ID -> AZ name in the lab's account and Region (the mapping is per account on AWS)."""
    return {z.zone_id: z.name for z in moto_backend("ec2").describe_availability_zones()}
