"""The lab is a core and one folder per service: each service's plugin object is registered by an
entry point and the core finds its modules (patches, simulation, seed, routes, metrics, settings,
calls) through it, and names no service itself - neither by import nor in a string - so adding a
service (Lambda, S3, EKS) is adding a folder (docs/contributing.md; tests/plugins is one)."""

import ast
import re
from pathlib import Path

from chaos_sre.lab.core.services import lab_services, service_modules

LAB = Path(__file__).resolve().parents[2] / "chaos_sre" / "lab"
SERVICES = sorted(p.name for p in LAB.iterdir() if (p / "__init__.py").is_file() and p.name != "core")
WIRE_PROTOCOLS = {("api_faults.py", "ec2"), ("operations.py", "ec2")}
"""Strings the core may hold that are also a service's name: ``ec2`` is the name of a wire
protocol in botocore's models (as ``query`` and ``json`` are)."""


def test_every_folder_is_a_registered_lab_service() -> None:
    registered = {s.package: s for s in lab_services()}
    assert {f"chaos_sre.lab.{name}" for name in SERVICES} <= set(registered)
    for kind in ("patches", "simulation", "seed", "routes", "metrics", "settings"):
        expected = [registered[f"chaos_sre.lab.{name}"].name for name in SERVICES
                    if (LAB / name / f"{kind}.py").is_file()]
        assert sorted(name for name, _module in service_modules(kind)) == sorted(expected), kind
    assert {"web", "ec2", "autoscaling", "elbv2", "rds", "dynamodb", "ecs", "cloudwatch"} <= set(SERVICES)


def test_folders_follow_aws_services() -> None:
    """A folder per AWS service, named as botocore names it (the sample application is the one
    folder that answers none): no service is simulated in two places."""
    answered = [b for s in lab_services() if s.package.startswith("chaos_sre.") for b in s.botocore_services]
    assert len(answered) == len(set(answered))
    for service in lab_services():
        if service.package.startswith("chaos_sre.") and service.botocore_services:
            assert [b.replace("-", "") for b in service.botocore_services] == [service.name]
    assert not next(s for s in lab_services() if s.name == "web").botocore_services
    assert [s.name for s in lab_services() if s.endpoint] == ["web"]


def test_simulations_and_seeds_run_in_their_declared_order() -> None:
    ticks = [name for name, _ in service_modules("simulation", order="TICK_ORDER")]
    seeds = [name for name, _ in service_modules("seed", order="SEED_ORDER")]
    # EC2 says what runs, Auto Scaling heals on it, the load balancer checks what is left;
    # Application Auto Scaling evaluates its policies over the state of the services it scales
    # ARC's shifts before the load balancer that reads them; FIS first, so every other service
    # sees what an experiment's action changed in the same round, after CloudWatch's alarms, so
    # a stop condition is read in the round its alarm changed
    assert ticks == ["cloudwatch", "fis", "ecs", "ec2", "autoscaling", "arczonalshift", "elbv2", "rds", "dynamodb",
                     "applicationautoscaling", "lambda", "s3"]
    assert seeds[0] == "web"  # the others build on its VPC, subnets and listener


def test_a_profile_has_one_part_per_service_with_settings() -> None:
    from chaos_sre.lab.core.settings import PROFILES, profile_named

    for name in PROFILES:
        profile = profile_named(name)
        assert [service for service, _part in profile.parts] == ["dynamodb", "ecs", "lambda", "rds", "s3", "web"]
    assert profile_named("resilient").with_option("rds-proxy").part("rds").rds_proxy is True
    assert profile_named("resilient").with_option("rds-proxy").options() == ("rds-proxy",)
    assert profile_named("resilient").options() == ()


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string constant of a module but its docstrings (prose may give examples)."""
    prose = {id(node.body[0].value) for node in ast.walk(tree)
             if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
             and node.body and isinstance(node.body[0], ast.Expr)}
    prose |= {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    return [(node.lineno, node.value) for node in ast.walk(tree) if isinstance(node, ast.Constant)
            and isinstance(node.value, str) and id(node) not in prose]


def test_the_lab_core_names_no_service() -> None:
    """No import of a service's package and no string that is a service's name, one of the AWS
    services it answers, or an IAM action of one (``ec2:CreateTags``): what is particular to a
    service is in its folder and its plugin object."""
    packages = {s.package for s in lab_services()}
    names = {s.name for s in lab_services()} | {b for s in lab_services() for b in s.botocore_services}
    named = set()
    for path in sorted((LAB / "core").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            modules = [module] if module else [a.name for a in node.names] \
                if isinstance(node, ast.Import) else []
            named |= {(path.name, name) for name in modules
                      if any(name == p or name.startswith(p + ".") for p in packages)}
        for line, text in _strings(tree):
            words = set(re.findall(r"^[a-z0-9-]+(?=:)|^[a-z0-9-]+$", text))
            named |= {(path.name, f"line {line}: {text!r}") for word in words & names
                      if (path.name, text) not in WIRE_PROTOCOLS}
    assert named == set()


def test_a_backend_found_before_is_reused_until_moto_drops_its_account() -> None:
    """moto's ``/moto-api/reset`` drops every account's backends (BackendDict.reset); the
    simulations must then read the new ones, not keep ticking over the old."""
    from moto.backends import get_backend

    from chaos_sre.lab.core.backends import moto_backend

    account = "210987654321"  # an account no other test reads
    first = moto_backend("ec2", account=account)
    assert moto_backend("ec2", account=account) is first
    assert moto_backend("ec2", account=account, region="eu-west-1") is not first
    get_backend("ec2").pop(account)
    second = moto_backend("ec2", account=account)
    assert second is not first
    assert second is get_backend("ec2")[account]["us-east-1"]
