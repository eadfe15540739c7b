"""The scheduling files (docs/scheduling/, .github/workflows/) are checked against what they drive.

The AWS files are validated against botocore's API models (RegisterTaskDefinition,
CreateSchedule), every IAM action against the service's operations, the runner
image's contents against the plan it runs. The workflow's game-day step itself
runs in tests/e2e/test_gameday.py.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml
from botocore.validate import ParamValidator
from conftest import CLI, ROOT

from chaos_sre import iam
from chaos_sre.aws.iam_names import iam_action

SCHEDULING = ROOT / "docs" / "scheduling"
AWS_FILES = SCHEDULING / "aws"
BOTOCORE_SERVICE = {"elasticloadbalancing": "elbv2"}
PERMISSION_ONLY_ACTIONS = {"iam:PassRole", "elasticfilesystem:ClientMount",
                           "elasticfilesystem:ClientWrite"}
"""IAM actions that authorise part of another call (passing a role, an NFS mount) and are no API
operation themselves."""
ENVIRONMENT_OF_THE_RUNNER = {"CHAOS_SRE_GUARDRAILS", "CHAOS_SRE_HISTORY", "CHAOS_SRE_LEDGER_DIR",
                             "AWS_REGION", "AWS_DEFAULT_REGION"}


def load_json(name: str) -> Any:
    return json.loads((AWS_FILES / name).read_text())


def kubernetes_documents() -> dict[str, Any]:
    """The manifest's objects by ``Kind/name``, and by kind alone for the CronJob."""
    documents = list(yaml.safe_load_all((SCHEDULING / "kubernetes" / "cronjob.yaml").read_text()))
    found = {f"{d['kind']}/{d['metadata']['name']}": d for d in documents}
    found["CronJob"] = next(d for d in documents if d["kind"] == "CronJob")
    return found


def dockerfile_instructions() -> list[tuple[str, str]]:
    lines = (SCHEDULING / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    return [tuple(line.split(None, 1)) for line in lines  # type: ignore[misc]
            if line.strip() and not line.lstrip().startswith("#")]


def image_command() -> list[str]:
    instructions = dict(dockerfile_instructions())
    return json.loads(instructions["CMD"])


def policy_actions(name: str) -> set[str]:
    actions: set[str] = set()
    for statement in load_json(name)["Statement"]:
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def variables_the_experiments_read() -> set[str]:
    names = set()
    for path in (ROOT / "experiments").glob("*.json"):
        names.update(re.findall(r'"key": "([A-Z0-9_]+)"', path.read_text()))
    return names


@pytest.mark.parametrize("service, operation, name", [
    ("ecs", "RegisterTaskDefinition", "task-definition.json"),
    ("scheduler", "CreateSchedule", "schedule.json"),
    ("efs", "CreateAccessPoint", "efs-access-point.json"),
    ("ecs", "RunTask", "run-rollback-task.json"),
])
def test_aws_files_are_valid_api_requests(service: str, operation: str, name: str) -> None:
    shape = botocore.session.get_session().get_service_model(service) \
        .operation_model(operation).input_shape
    report = ParamValidator().validate(load_json(name), shape)
    assert not report.has_errors(), report.generate_report()


@pytest.mark.parametrize("name", ["runner-policy.json", "scheduler-policy.json",
                                  "runner-trust-policy.json", "scheduler-trust-policy.json",
                                  "runner-efs-policy.json", "execution-role-policy.json"])
def test_iam_policies_name_real_actions(name: str) -> None:
    document = load_json(name)
    assert document["Version"] == "2012-10-17"
    session = botocore.session.get_session()
    for action in policy_actions(name) - PERMISSION_ONLY_ACTIONS:
        prefix, operation = action.split(":")
        model = session.get_service_model(BOTOCORE_SERVICE.get(prefix, prefix))
        permissions = {iam_action(prefix, name) for name in model.operation_names}
        assert operation in model.operation_names or action in permissions, action


def test_runner_policy_grants_every_permission_docs_safety_lists() -> None:
    page = (ROOT / "docs" / "safety.md").read_text()
    table = page[page.index(iam.TABLE_START):page.index(iam.TABLE_END)]
    documented = set(re.findall(r"`([a-z0-9-]+:[A-Za-z]+)`", table))
    assert len(documented) > 20
    assert documented <= policy_actions("runner-policy.json"), \
        documented - policy_actions("runner-policy.json")


def test_the_fargate_task_can_write_its_logs_and_its_runs_volume_as_the_image_user() -> None:
    """Issue 19 item 11: awslogs-create-group needs logs:CreateLogGroup, which the managed
    AmazonECSTaskExecutionRolePolicy lacks
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html); an EFS
    volume with IAM authorization needs elasticfilesystem:ClientMount and ClientWrite for the
    task role (https://docs.aws.amazon.com/efs/latest/ug/iam-access-control-nfs-efs.html); the
    image runs as uid 10001, which a fresh file system's root does not let write, so the volume
    goes through an access point with that POSIX user; and Fargate's stopTimeout is at most
    120 s, shorter than some restores, so a rollback task finishes what a stop interrupted."""
    task = load_json("task-definition.json")
    container = task["containerDefinitions"][0]
    logs = container["logConfiguration"]["options"]
    execution = load_json("execution-role-policy.json")["Statement"]
    if logs.get("awslogs-create-group") == "true":
        assert any("logs:CreateLogGroup" in s["Action"] and s["Resource"].split(":log-group:")[1]
                   .startswith(logs["awslogs-group"]) for s in execution)
    volume = next(v for v in task["volumes"] if v["name"] == container["mountPoints"][0]["sourceVolume"])
    efs = volume["efsVolumeConfiguration"]
    assert efs["authorizationConfig"]["iam"] == "ENABLED" and efs["transitEncryption"] == "ENABLED"
    access_point = load_json("efs-access-point.json")
    user = dict(dockerfile_instructions())["USER"]
    assert access_point["FileSystemId"] == efs["fileSystemId"]
    assert str(access_point["PosixUser"]["Uid"]) == user
    assert str(access_point["RootDirectory"]["CreationInfo"]["OwnerUid"]) == user
    mount = load_json("runner-efs-policy.json")["Statement"][0]
    assert set(mount["Action"]) == {"elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"}
    assert mount["Resource"].endswith(f"file-system/{efs['fileSystemId']}")
    assert mount["Condition"]["StringEquals"]["elasticfilesystem:AccessPointArn"].endswith(
        f"access-point/{efs['authorizationConfig']['accessPointId']}")
    assert container["stopTimeout"] == 120  # Fargate's maximum
    rollback = load_json("run-rollback-task.json")
    assert rollback["taskDefinition"] == task["family"]
    assert rollback["overrides"]["containerOverrides"] == [
        {"name": container["name"], "command": ["rollback", "--last"]}]


def test_every_scheduler_runs_the_image_default_game_day() -> None:
    command = image_command()
    assert command[:2] == ["gameday", "experiments/gameday-staging.yaml"]
    cronjob = kubernetes_documents()["CronJob"]
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == command
    task = load_json("task-definition.json")["containerDefinitions"][0]
    assert task["command"] == command
    assert dict(dockerfile_instructions())["ENTRYPOINT"] == '["chaos-sre"]'


def test_schedules_never_overlap_or_retry_and_leave_time_to_roll_back() -> None:
    cronjob = kubernetes_documents()["CronJob"]["spec"]
    assert len(cronjob["schedule"].split()) == 5 and cronjob["concurrencyPolicy"] == "Forbid"
    job = cronjob["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0 and job["template"]["spec"]["restartPolicy"] == "Never"
    assert job["template"]["spec"]["terminationGracePeriodSeconds"] >= 120
    schedule = load_json("schedule.json")
    assert re.fullmatch(r"cron\((\S+ ){5}\S+\)", schedule["ScheduleExpression"])
    assert schedule["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 0
    assert schedule["Target"]["EcsParameters"]["TaskDefinitionArn"].endswith(
        "task-definition/" + load_json("task-definition.json")["family"])
    assert load_json("task-definition.json")["containerDefinitions"][0]["stopTimeout"] == 120
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "gameday.yml").read_text())
    assert workflow[True]["schedule"][0]["cron"]  # YAML reads the key `on` as true
    assert workflow["concurrency"]["cancel-in-progress"] is False
    uploads = [s for s in workflow["jobs"]["gameday"]["steps"]
               if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert uploads and uploads[0]["with"]["path"] == "runs/gameday/" and uploads[0]["if"] == "always()"


def test_scheduler_environments_set_only_variables_chaos_sre_reads() -> None:
    known = variables_the_experiments_read() | ENVIRONMENT_OF_THE_RUNNER
    config = kubernetes_documents()["ConfigMap/chaos-sre-staging"]["data"]
    task = load_json("task-definition.json")["containerDefinitions"][0]["environment"]
    for names in (set(config), {entry["name"] for entry in task}):
        assert names <= known, names - known
        assert "CHAOS_SRE_TARGET_URL" in names
        assert not any(name.startswith("AWS_SECRET") or name == "AWS_ACCESS_KEY_ID" for name in names)


def test_runner_image_contents_hold_what_its_game_day_needs(tmp_path: Path) -> None:
    image = tmp_path / "opt-chaos-sre"
    image.mkdir()
    for instruction, argument in dockerfile_instructions():
        if instruction == "COPY":
            *sources, _ = argument.split()
            for source in sources:
                origin = ROOT / source
                target = image / source
                if origin.is_dir():
                    shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy(origin, target)
    command = image_command()
    checked = subprocess.run([*CLI, command[0], "--check", *command[1:]], cwd=image,
                             capture_output=True, text=True, timeout=120, check=False)
    assert checked.returncode == 0, checked.stderr
    assert "valid game-day plan, 8 experiment(s)" in checked.stdout
