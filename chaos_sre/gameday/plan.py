"""Game-day plans: which experiments to run, in what order, and when to stop.

A plan is a YAML (or JSON) file::

    title: Staging game day
    cool_down_seconds: 30          # pause between two experiments (AWS seconds, like every
                                   # time in chaos-sre: played at the lab's time scale)
    stop:
      on_failure: true             # stop at the first failed verdict
      max_budget_spent: 0.02       # stop once the summed budget spent reaches 2 % of the window's
    output: runs/gameday           # journals and the combined report go in a dated folder here
    experiments:
      - path: az-outage.json       # relative to the plan file
        environment: {CHAOS_SRE_AZ: us-east-1b}     # set for this experiment's run
        configuration: {rto_seconds: 60}            # overrides, passed as chaos run --var-file

Every mistake in a plan is one line naming the file and the field.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos_sre import values
from chaos_sre.documents import read_document
from chaos_sre.errors import ValidationError

PLAN_KEYS = {"title", "cool_down_seconds", "stop", "output", "experiments"}
STOP_KEYS = {"on_failure", "max_budget_spent"}
STEP_KEYS = {"path", "name", "environment", "configuration"}


@dataclass(frozen=True)
class Step:
    """One experiment of the plan."""

    name: str
    path: Path
    environment: dict[str, str] = field(default_factory=dict)
    configuration: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """A checked game-day plan."""

    source: Path
    title: str
    steps: list[Step]
    cool_down_seconds: float = 0.0
    stop_on_failure: bool = True
    max_budget_spent: float | None = None
    """Summed fraction of the window's error budget at which the game day stops."""
    output: Path = Path("runs") / "gameday"


def _unknown(where: str, given: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(given) - known)
    if unknown:
        raise ValidationError(f"{where}: unknown key {', '.join(unknown)} "
                              f"(known: {', '.join(sorted(known))})")


def _step(source: Path, index: int, entry: Any) -> Step:
    where = f"{source}: experiments[{index}]"
    if isinstance(entry, str):
        entry = {"path": entry}
    entry = values.mapping(where, entry)
    _unknown(where, entry, STEP_KEYS)
    if not isinstance(entry.get("path"), str) or not entry["path"]:
        raise ValidationError(f"{where}: path (the experiment file) is required")
    path = (source.parent / entry["path"]).resolve()
    if not path.is_file():
        raise ValidationError(f"{where}: no experiment file at {path}")
    environment = values.mapping(f"{where}.environment", entry.get("environment"))
    configuration = values.mapping(f"{where}.configuration", entry.get("configuration"))
    name = entry.get("name") or path.stem
    return Step(str(name), path, {str(k): str(v) for k, v in environment.items()}, configuration)


def parse_plan(source: Path, document: Any) -> Plan:
    """Check a plan document read from ``source``."""
    document = values.mapping(str(source), document)
    _unknown(str(source), document, PLAN_KEYS)
    experiments = document.get("experiments")
    if not isinstance(experiments, list) or not experiments:
        raise ValidationError(f"{source}: experiments must list at least one experiment")
    steps = [_step(source, index, entry) for index, entry in enumerate(experiments)]
    cool_down = values.number(f"{source}: cool_down_seconds", document.get("cool_down_seconds", 0))
    if not 0 <= cool_down <= 3600:
        raise ValidationError(f"{source}: cool_down_seconds must be between 0 and 3600, "
                              f"got {cool_down:g}")
    stop = values.mapping(f"{source}: stop", document.get("stop"))
    _unknown(f"{source}: stop", stop, STOP_KEYS)
    on_failure = stop.get("on_failure", True)
    if not isinstance(on_failure, bool):
        raise ValidationError(f"{source}: stop.on_failure must be true or false, got {on_failure!r}")
    limit = stop.get("max_budget_spent")
    if limit is not None:
        limit = values.number(f"{source}: stop.max_budget_spent", limit)
        if not 0 < limit <= 1:
            raise ValidationError(f"{source}: stop.max_budget_spent is a fraction of the window's "
                                  f"error budget, in (0, 1], got {limit:g}")
    output = document.get("output") or str(Path("runs") / "gameday")
    return Plan(source=source, title=str(document.get("title") or source.stem), steps=steps,
                cool_down_seconds=cool_down, stop_on_failure=on_failure, max_budget_spent=limit,
                output=Path(str(output)))


def load_plan(path: str | Path) -> Plan:
    """Read and check a plan file (one-line ValidationError on any problem)."""
    source = Path(path)
    if not source.is_file():
        raise ValidationError(f"no game-day plan at {source}")
    return parse_plan(source, read_document(source))
