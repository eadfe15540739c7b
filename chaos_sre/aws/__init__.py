"""The only place chaos-sre builds boto3 clients, plus pagination helpers."""

from chaos_sre.aws.client import aws_client, paginate

__all__ = ["aws_client", "paginate"]
