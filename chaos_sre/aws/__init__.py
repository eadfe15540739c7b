"""The only place chaos-sre builds boto3 clients, plus pagination, call and waiter helpers."""

from chaos_sre.aws.client import (
    aws_client,
    call,
    call_on_new,
    call_retrying_transient,
    paginate,
    tag_dict,
    wait,
)

__all__ = ["aws_client", "call", "call_on_new", "call_retrying_transient", "paginate", "tag_dict",
           "wait"]
