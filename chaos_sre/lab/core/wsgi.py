"""What every layer of the lab's AWS API server reads of a WSGI request: its SigV4 credential,
its body (left readable for the next layer) and the operation it was named as."""

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chaos_sre.aws.iam_names import iam_action

INTERNAL_ACCESS_KEY = "lab-internal"
"""The access key id of the lab's own calls (seeding, metric publishers): never named, logged,
evaluated or faulted."""
NAMED = "chaos_sre.request"
"""The environ key holding the request's :class:`~chaos_sre.lab.core.operations.ApiRequest`."""


@dataclass(frozen=True)
class ApiRequest:
    """One AWS API request, named."""

    service: str
    """botocore's name of the service (``lambda``, ``elbv2``)."""
    signing_name: str
    operation: str
    """The operation (``PutFunctionConcurrency``)."""
    protocol: str
    """``query``, ``ec2``, ``json``, ``rest-json``, ``rest-xml`` or ``smithy-rpc-v2-cbor``."""
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def iam_action(self) -> str:
        """The IAM action the request needs (``lambda:PutFunctionConcurrency``)."""
        return iam_action(self.signing_name, self.operation)


def credential(environ: dict[str, Any]) -> list[str]:
    """The SigV4 credential - key id, date, Region, service, ``aws4_request`` - from the
    ``Authorization`` header, or a presigned URL's ``X-Amz-Credential``."""
    _, _, found = str(environ.get("HTTP_AUTHORIZATION", "")).partition("Credential=")
    if not found:
        query = str(environ.get("QUERY_STRING", ""))
        _, _, found = query.partition("X-Amz-Credential=")
        found = found.split("&", 1)[0].replace("%2F", "/").replace("%2f", "/")
    return found.split(",", 1)[0].split("/")


def signing_region(environ: dict[str, Any]) -> str:
    """The Region from the request's credential scope."""
    parts = credential(environ)
    return parts[2] if len(parts) >= 5 else ""


def access_key(environ: dict[str, Any]) -> str:
    """The access key id the request was signed with."""
    return credential(environ)[0]


def request_body(environ: dict[str, Any]) -> bytes:
    """A request's body, left readable for the next layer."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return bytes(body)


def named(environ: dict[str, Any]) -> ApiRequest | None:
    """The operation the request was named as (None: the lab's own call)."""
    found: ApiRequest | None = environ.get(NAMED)
    return found
