"""The boto3 session the lab itself uses: seeding and its metric publishers.

One session per process, signed with the lab's internal key (never faulted,
never counted as a caller's call). Its loaders keep the service models, so a
lab forked from a prepared one makes its clients without reading them again.
"""

from functools import cache

import boto3

from chaos_sre.lab.core.settings import REGION
from chaos_sre.lab.core.wsgi import INTERNAL_ACCESS_KEY


@cache
def internal_session() -> boto3.session.Session:
    """The lab's own session (created on first use, then shared)."""
    return boto3.session.Session(aws_access_key_id=INTERNAL_ACCESS_KEY,
                                 aws_secret_access_key="lab", region_name=REGION)
