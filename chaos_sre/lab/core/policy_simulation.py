"""IAM SimulatePrincipalPolicy in the lab, answered from the policy the lab enforces on the caller.

A runner asks IAM, before it changes anything, whether its own policy allows each call it plans
("Testing IAM policies with the IAM policy simulator",
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_testing-policies.html). moto
does not answer SimulatePrincipalPolicy; the lab answers it with the same evaluation that serves
or refuses the caller's calls (:mod:`chaos_sre.lab.core.iam_evaluation`), so a pre-flight check
and the calls after it can never disagree. The lab's callers all share moto's one identity
(GetCallerIdentity answers the same ARN for every key), so the policy simulated is the one
attached to the access key that asks, whatever ``PolicySourceArn`` names.

As AWS does, the simulation takes the context entries (``ContextEntries``) as the request's
condition keys: ``aws:ResourceTag/K`` as the resources' tags, ``aws:RequestTag/K`` as the tags
the call creates, ``aws:RequestedRegion`` as its Region, anything else as it is. Each action is
simulated on each resource of ``ResourceArns`` (``*`` without them); a key a condition needs but
the entries lack makes the statement not apply, as it does on AWS.
"""

import uuid
from collections.abc import Callable, Mapping, Sequence
from xml.sax.saxutils import escape

from chaos_sre.lab.core.iam_evaluation import ANY_RESOURCE, Request, Resource

ACTION = "iam:SimulatePrincipalPolicy"
RESOURCE_TAG, REQUEST_TAG, REGION = "aws:ResourceTag/", "aws:RequestTag/", "aws:RequestedRegion"
NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"


def _list(params: Mapping[str, Sequence[str]], name: str) -> list[str]:
    """A query list parameter's values (``ActionNames.member.1``, ``.2``...), in order."""
    found, index = [], 1
    while f"{name}.member.{index}" in params:
        found.append(str(params[f"{name}.member.{index}"][0]))
        index += 1
    return found


def context_entries(params: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """``ContextEntries.member.N.ContextKeyName`` / ``ContextKeyValues.member.1`` as a dict."""
    entries: dict[str, str] = {}
    index = 1
    while f"ContextEntries.member.{index}.ContextKeyName" in params:
        prefix = f"ContextEntries.member.{index}"
        values = params.get(f"{prefix}.ContextKeyValues.member.1") or [""]
        entries[str(params[f"{prefix}.ContextKeyName"][0])] = str(values[0])
        index += 1
    return entries


def simulated_requests(params: Mapping[str, Sequence[str]], region: str
                       ) -> list[tuple[str, str, Request]]:
    """(action, resource ARN, the request as IAM would see it) for each simulated pair."""
    entries = context_entries(params)
    tags = {k.removeprefix(RESOURCE_TAG): v for k, v in entries.items() if k.startswith(RESOURCE_TAG)}
    request_tags = {k.removeprefix(REQUEST_TAG): v for k, v in entries.items()
                    if k.startswith(REQUEST_TAG)}
    context = {k: v for k, v in entries.items()
               if not k.startswith((RESOURCE_TAG, REQUEST_TAG)) and k != REGION}
    where = entries.get(REGION, region)
    resources = _list(params, "ResourceArns") or [ANY_RESOURCE]
    return [(action, arn, Request(action, where, (Resource(arn, tags),), request_tags, context))
            for action in _list(params, "ActionNames") for arn in resources]


def simulation_body(params: Mapping[str, Sequence[str]], region: str,
                    allowed: Callable[[Request], bool]) -> bytes:
    """The SimulatePrincipalPolicy response (query protocol XML): one evaluation result per
    action and resource, ``allowed`` or ``implicitDeny``."""
    results = []
    for action, arn, request in simulated_requests(params, region):
        decision = "allowed" if allowed(request) else "implicitDeny"
        results.append(f"<member><EvalActionName>{escape(action)}</EvalActionName>"
                       f"<EvalResourceName>{escape(arn)}</EvalResourceName>"
                       f"<EvalDecision>{decision}</EvalDecision><MatchedStatements/>"
                       "<MissingContextValues/></member>")
    return (f'<SimulatePrincipalPolicyResponse xmlns="{NAMESPACE}"><SimulatePrincipalPolicyResult>'
            f"<IsTruncated>false</IsTruncated><EvaluationResults>{''.join(results)}"
            "</EvaluationResults></SimulatePrincipalPolicyResult><ResponseMetadata>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            "</SimulatePrincipalPolicyResponse>").encode()


def evaluator(denied: set[str], policy: Callable[[Request], bool] | None
              ) -> Callable[[Request], bool]:
    """Whether a request is allowed: its action not denied to everyone, and allowed by the
    caller's policy (None: no policy attached). The lab records what the policy evaluates
    (``/__lab/iam/requests``), simulated requests as well."""
    return lambda request: request.action not in denied and (policy is None or policy(request))
