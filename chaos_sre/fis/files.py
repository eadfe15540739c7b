"""What ``chaos-sre fis export`` writes beside the template: the FIS role's policy
(``--role-policy``), the SSM Automation documents and their role's policy (``--documents-dir``),
the stop condition's alarms and the SLI dashboard (``--alarms-file``), and what the user still has to create before
the experiment."""

import json
from pathlib import Path

from chaos_sre.fis.accounts import target_trust_policy
from chaos_sre.fis.export import Export
from chaos_sre.fis.role import TRUST_POLICY


def _write(path: Path, content: object) -> None:
    path.write_text(json.dumps(content, indent=2) + "\n")


def write_files(exported: Export, documents_dir: Path | None, alarms_file: Path | None,
                role_policy_file: Path | None = None) -> list[str]:
    """Write what was asked for; return the lines to tell the user (``wrote ...``, ``note: ...``)."""
    lines: list[str] = []
    orchestrator_policy = exported.orchestrator_policy()
    if role_policy_file is not None and orchestrator_policy is not None and exported.accounts is not None:
        role = str(exported.template["roleArn"])
        _write(role_policy_file, {
            "orchestrator_role": {"arn": role, "policy": orchestrator_policy, "trust": TRUST_POLICY},
            "target_role": {"arn": exported.target_role_arn, "policy": exported.role_policy(),
                            "trust": target_trust_policy(role, exported.region, exported.accounts.home)}})
        lines.append(f"wrote {role_policy_file} (the FIS roles {role} and {exported.target_role_arn}: "
                     "their policies and trust policies)")
    elif role_policy_file is not None:
        _write(role_policy_file, {"policy": exported.role_policy(), "trust": TRUST_POLICY})
        lines.append(f"wrote {role_policy_file} (the FIS role {exported.template['roleArn']}: its "
                     "policy and trust policy)")
    for configuration in exported.target_account_configurations():
        lines.append(f"note: after creating the template: aws fis create-target-account-configuration "
                     f"--experiment-template-id ID --account-id {configuration['accountId']} "
                     f"--role-arn {configuration['roleArn']}")
    if exported.documents and documents_dir is not None:
        documents_dir.mkdir(parents=True, exist_ok=True)
        for document in exported.documents:
            _write(documents_dir / f"{document.name}.json", document.content)
            lines.append(f"wrote {documents_dir / document.name}.json (aws ssm create-document "
                         f"--name {document.name} --document-type Automation --document-format "
                         "JSON --content file://...)")
        _write(documents_dir / "automation-role-policy.json", exported.automation_role)
        lines.append(f"wrote {documents_dir / 'automation-role-policy.json'} (the documents' role)")
    elif exported.documents:
        lines.append("note: the template starts SSM Automation document(s) "
                     + ", ".join(d.name for d in exported.documents)
                     + ": write them with --documents-dir and create them before the experiment")
    if alarms_file is not None:
        requests = [{"operation": operation, "input": given}
                    for operation, given in exported.alarm_requests()]
        dashboard = exported.dashboard_request()
        if dashboard is not None:
            requests.append({"operation": "PutDashboard", "input": dashboard})
        _write(alarms_file, requests)
        lines.append(f"wrote {alarms_file} ({len(requests)} CloudWatch calls)")
    elif exported.alarms is not None:
        lines.append(f"note: the stop condition is alarm {exported.alarms.name}: write its alarms "
                     "with --alarms-file and create them before the experiment")
    return lines + [f"note: {note}" for note in exported.notes]
