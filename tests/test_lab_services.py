"""The lab is a core and one folder per AWS service: the core finds each service's modules
(patches, simulation, seed, routes, metrics, settings) by name and names no service itself, so adding a
service (Lambda, S3, EKS) is adding a folder (docs/contributing.md)."""

import ast
from pathlib import Path

from chaos_sre.lab.core.services import service_modules

LAB = Path(__file__).resolve().parent.parent / "chaos_sre" / "lab"
SERVICES = sorted(p.name for p in LAB.iterdir() if (p / "__init__.py").is_file() and p.name != "core")
# The web tier's endpoint is what a lab serves (CHAOS_SRE_TARGET_URL): the runtime starts it.
CORE_MAY_IMPORT = {("runtime.py", "chaos_sre.lab.web.endpoint")}


def test_each_kind_of_service_module_is_found_in_every_folder_that_has_one() -> None:
    for kind in ("patches", "simulation", "seed", "routes", "metrics", "settings"):
        expected = [name for name in SERVICES if (LAB / name / f"{kind}.py").is_file()]
        assert sorted(name for name, _module in service_modules(kind)) == expected, kind
    assert {"web", "rds", "dynamodb", "ecs", "cloudwatch"} <= set(SERVICES)


def test_simulations_and_seeds_run_in_their_declared_order() -> None:
    ticks = [name for name, _ in service_modules("simulation", order="TICK_ORDER")]
    seeds = [name for name, _ in service_modules("seed", order="SEED_ORDER")]
    assert ticks == ["ecs", "web", "rds", "dynamodb"]
    assert seeds[0] == "web"  # the others build on its VPC, subnets and listener


def test_a_profile_has_one_part_per_service_with_settings() -> None:
    from chaos_sre.lab.core.settings import PROFILES, profile_named

    for name in PROFILES:
        profile = profile_named(name)
        assert [service for service, _part in profile.parts] == ["dynamodb", "ecs", "rds", "web"]
    assert profile_named("resilient").with_rds_proxy(True).part("rds").rds_proxy is True
    assert profile_named("resilient").rds_proxy is False


def test_the_lab_core_imports_no_service_package() -> None:
    named = set()
    for path in sorted((LAB / "core").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            modules = [module] if module else [a.name for a in node.names] if isinstance(node, ast.Import) else []
            for name in modules:
                parts = name.split(".")
                if parts[:2] == ["chaos_sre", "lab"] and len(parts) > 2 and parts[2] in SERVICES:
                    named.add((path.name, name))
    assert named == CORE_MAY_IMPORT


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
