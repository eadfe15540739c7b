"""Denied API actions: the lab answers chosen actions as AWS answers a caller whose policy lacks them.

A chaos tool meets AccessDenied in a real account whenever the runner's role
misses a permission; the lab lets tests (and users rehearsing a least-privilege
role) meet it too. ``PUT $CHAOS_SRE_TARGET_URL/__lab/iam/denied?actions=ec2:TerminateInstances,rds:FailoverDBCluster``
denies those IAM actions to every caller but the lab itself, ``GET`` lists them
and ``DELETE`` allows everything again; `/__lab/status` shows them under
``denied_actions``. A denied call never reaches moto, so nothing changes, and
it is answered with the error AWS returns for an action no policy allows.

``PUT $CHAOS_SRE_TARGET_URL/__lab/iam/policy?principal=KEY`` with an IAM policy document as its
body attaches that document to the caller signing with access key id KEY (without ``principal``:
every caller but the lab that has no document of its own): from then on its call is served only
when the document allows it - its action, the ARNs and tags of the resources it acts on, the tags it creates and its
Region (:mod:`chaos_sre.lab.core.iam_evaluation`, :mod:`chaos_sre.lab.core.iam_requests`) - the
way a runner's role with only that policy is treated by AWS. ``GET`` shows the attached documents
by principal and ``DELETE`` (same ``principal``) detaches it. ``GET /__lab/iam/requests`` lists,
by principal, every distinct IAM request evaluated against an attached document (action, Region,
resources with their tags, request tags, context) and whether it was allowed, so a test can
replay a run's requests against a policy with a statement taken out. The errors:

* EC2: HTTP 403 ``UnauthorizedOperation`` ("You are not authorized to perform
  this operation", Amazon EC2 API Reference, *Troubleshooting API request
  errors*, Unauthorized operation);
* the other query services (RDS, Auto Scaling, ELBv2, CloudWatch): HTTP 403
  ``AccessDenied``;
* JSON services (DynamoDB, ECS, Application Auto Scaling): HTTP 400
  ``AccessDeniedException`` (DynamoDB Developer Guide, *Error handling*);
* REST JSON services (Lambda, EKS): HTTP 403 ``AccessDeniedException``; REST XML (S3): HTTP 403
  ``AccessDenied``.

Some calls need a permission beyond their own action, which AWS checks on the caller's behalf
and which fails later, not as an error of the call: StartInstances of an instance whose EBS
volume is encrypted with a customer managed KMS key needs ``kms:CreateGrant``, and without it
the instance goes from ``pending`` to ``stopped``. While a call is served, :func:`caller_may`
tells a service's patches whether its caller holds such a permission.

IAM SimulatePrincipalPolicy is answered here, from the same evaluation
(:mod:`chaos_sre.lab.core.policy_simulation`).
"""

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

from chaos_sre.errors import ValidationError
from chaos_sre.lab.core import policy_simulation
from chaos_sre.lab.core.api_faults import EC2, JSON, REST_JSON, wire_error
from chaos_sre.lab.core.iam_evaluation import ANY_RESOURCE, Request, Resource, allows, validate
from chaos_sre.lab.core.iam_requests import requests_of
from chaos_sre.lab.core.wsgi import ApiRequest, access_key, named, signing_region

LAB_CALLER = "arn:aws:iam::123456789012:user/lab"
EVERY_CALLER = "*"
_serving = threading.local()


def _always(action: str, resource: str = ANY_RESOURCE) -> bool:
    return True


def caller_may(action: str, resource: str = ANY_RESOURCE) -> bool:
    """Whether the caller of the API call being served holds ``action`` on the ``resource`` ARN
    (always, outside one)."""
    may: Callable[[str, str], bool] = getattr(_serving, "may", _always)
    return may(action, resource)


def parse_actions(text: str) -> set[str]:
    """``ec2:TerminateInstances,rds:FailoverDBCluster`` as a set; a malformed name is refused."""
    actions = {a.strip() for a in text.split(",") if a.strip()}
    for action in sorted(actions):
        service, sep, name = action.partition(":")
        if not sep or not service or not name or not name[0].isupper():
            raise ValidationError(f"not an IAM action name (service:Action): {action!r}")
    return actions


def denial(protocol: str, action: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) of AWS's answer to ``action`` when no policy allows it."""
    if protocol == EC2:
        return wire_error(protocol, "403 Forbidden", "UnauthorizedOperation",
                          "You are not authorized to perform this operation. User: "
                          f"{LAB_CALLER} is not authorized to perform: {action}", True)
    message = (f"User: {LAB_CALLER} is not authorized to perform: {action} because no "
               "identity-based policy allows the action")
    if protocol == JSON:
        return wire_error(protocol, "400 Bad Request", "AccessDeniedException", message, True)
    if protocol == REST_JSON:
        return wire_error(protocol, "403 Forbidden", "AccessDeniedException", message, True)
    return wire_error(protocol, "403 Forbidden", "AccessDenied", message, True)


class AccessDenials:
    """WSGI middleware: answer denied IAM actions, and calls the attached policy does not allow,
    with AWS's access-denied error."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._denied: set[str] = set()
        self._documents: dict[str, dict[str, Any]] = {}
        self._statements: dict[str, list[dict[str, Any]]] = {}
        self._requests: dict[str, dict[str, bool]] = {}

    def deny(self, actions: set[str]) -> None:
        """Deny exactly ``actions`` from now on (an empty set allows everything)."""
        with self._lock:
            self._denied = set(actions)

    def denied(self) -> list[str]:
        with self._lock:
            return sorted(self._denied)

    def attach(self, document: dict[str, Any] | None, principal: str = EVERY_CALLER) -> None:
        """Evaluate the calls of ``principal`` (an access key id; ``*``: every caller without a
        policy of its own) against ``document`` from now on (None: detach it). A document the
        lab cannot evaluate is refused (ValidationError)."""
        statements = None if document is None else validate(document)
        with self._lock:
            if document is None or statements is None:
                self._documents.pop(principal, None)
                self._statements.pop(principal, None)
                return
            self._documents[principal], self._statements[principal] = document, statements

    def attached(self) -> dict[str, dict[str, Any]]:
        """The attached documents by principal."""
        with self._lock:
            return dict(self._documents)

    def requests(self) -> dict[str, list[dict[str, Any]]]:
        """Every distinct request evaluated for each principal, with ``allowed``."""
        with self._lock:
            return {principal: [{**json.loads(r), "allowed": a} for r, a in sorted(seen.items())]
                    for principal, seen in self._requests.items()}

    def _evaluate(self, principal: str, statements: list[dict[str, Any]], request: Request) -> bool:
        allowed = allows(statements, request)
        with self._lock:
            self._requests.setdefault(principal, {})[
                json.dumps(request.as_json(), sort_keys=True)] = allowed
        return allowed

    def _refused(self, call: ApiRequest, region: str, denied: set[str], principal: str,
                 statements: list[dict[str, Any]] | None,
                 ) -> tuple[str | None, Callable[[str, str], bool]]:
        """The IAM action refused to this call (None: none), and what its caller may do meanwhile."""
        action = call.iam_action
        if action in denied:
            return action, _always
        if statements is None:
            return None, lambda other, _resource=ANY_RESOURCE: other not in denied
        for request in requests_of(action, lambda: call.params, region):
            if not self._evaluate(principal, statements, request):
                return request.action, _always

        def may(other: str, resource: str = ANY_RESOURCE) -> bool:
            """A permission AWS checks for the caller as the call proceeds (kms:CreateGrant for
            an AWS service: kms:GrantIsForAWSResource is true, kms:ViaService the service the
            call went to)."""
            return other not in denied and self._evaluate(principal, statements, Request(
                other, region, (Resource(resource),),
                context={"kms:GrantIsForAWSResource": "true",
                         "kms:ViaService": f"{call.signing_name}.{region}.amazonaws.com"}))
        return None, may

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        call = named(environ)
        if call is None:
            return self._app(environ, start_response)
        key = access_key(environ)
        with self._lock:
            denied = self._denied
            statements = self._statements.get(key, self._statements.get(EVERY_CALLER))
        if not denied and statements is None and call.iam_action != policy_simulation.ACTION:
            return self._app(environ, start_response)
        refused, may = self._refused(call, signing_region(environ), denied, key, statements)
        if refused is None and call.iam_action == policy_simulation.ACTION:
            body = policy_simulation.simulation_body(
                call.params, signing_region(environ),
                policy_simulation.evaluator(denied, None if statements is None else
                                            lambda request: self._evaluate(key, statements, request)))
            start_response("200 OK", [("Content-Type", "text/xml"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        if refused is None:
            _serving.may = may
            try:
                return self._app(environ, start_response)
            finally:
                _serving.may = _always
        status, headers, body = denial(call.protocol, refused)
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]
