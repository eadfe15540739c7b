"""Game-day plans: which experiments to run, in what order, and when to stop.

A plan is a YAML (or JSON) file::

    title: Staging game day
    cool_down_seconds: 30          # pause between two experiments (AWS seconds, like every
                                   # time in chaos-sre: played at the lab's time scale)
    stop:
      on_failure: true             # stop at the first failed verdict
      max_budget_spent: 0.02       # stop once the summed budget spent reaches 2 % of the window's
    output: runs/gameday           # journals and the combined report go in a dated folder here
    engine: chaos                  # or fis: each experiment through `chaos-sre fis run`
    orchestrator_role_arn: arn:aws:iam::111122223333:role/chaos-sre-runner
                                   # fis only: run multi-account from this role's account
    experiments:
      - path: az-outage.json       # relative to the plan file
        environment: {CHAOS_SRE_AZ: us-east-1b}     # set for this experiment's run
        configuration: {rto_seconds: 60}            # overrides, passed as chaos run --var-file
        engine: fis                                 # this experiment only
        orchestrator_role_arn: ...                  # this experiment only (fis)

Every mistake in a plan is one line naming the file and the field.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic

from chaos_sre.documents import read_document
from chaos_sre.errors import ValidationError
from chaos_sre.fis.accounts import role_account
from chaos_sre.validation import STRICT, Number, checked

Scalar = str | int | float | bool
Engine = Literal["chaos", "fis"]
"""What injects an experiment's faults: ``chaos run`` (the runner), or AWS FIS through
``chaos-sre fis run``; the same control judges both."""


class StepModel(pydantic.BaseModel):
    """One entry of ``experiments`` (a bare string is its ``path``)."""

    model_config = STRICT
    path: Annotated[str, pydantic.Field(min_length=1)]
    name: str | None = None
    environment: dict[str, Scalar] = {}
    configuration: dict[str, Any] = {}
    engine: Engine | None = None
    orchestrator_role_arn: str | None = None


class StopModel(pydantic.BaseModel):
    model_config = STRICT
    on_failure: pydantic.StrictBool = True
    max_budget_spent: Annotated[Number, pydantic.Field(gt=0, le=1)] | None = None


class PlanModel(pydantic.BaseModel):
    """A game-day plan file, as its author writes it."""

    model_config = STRICT
    title: str | None = None
    cool_down_seconds: Annotated[Number, pydantic.Field(ge=0, le=3600)] = 0.0
    stop: StopModel = StopModel()
    output: str | None = None
    engine: Engine = "chaos"
    orchestrator_role_arn: str | None = None
    experiments: Annotated[list[Annotated[StepModel, pydantic.BeforeValidator(
        lambda entry: {"path": entry} if isinstance(entry, str) else entry)]],
        pydantic.Field(min_length=1)]


@dataclass(frozen=True)
class Step:
    """One experiment of the plan."""

    name: str
    path: Path
    environment: dict[str, str] = field(default_factory=dict)
    configuration: dict[str, Any] = field(default_factory=dict)
    engine: str = "chaos"
    """``chaos`` (``chaos run``) or ``fis`` (``chaos-sre fis run``)."""
    orchestrator_role_arn: str | None = None
    """``fis``: the role of the account a multi-account FIS experiment runs from."""


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


def _step(source: Path, index: int, entry: StepModel, plan: PlanModel) -> Step:
    path = (source.parent / entry.path).resolve()
    if not path.is_file():
        raise ValidationError(f"{source}: experiments[{index}].path: no experiment file at {path}")
    engine = entry.engine or plan.engine
    orchestrator = entry.orchestrator_role_arn or plan.orchestrator_role_arn
    if orchestrator:
        role_account(orchestrator, f"{source}: experiments[{index}].orchestrator_role_arn")
        if engine != "fis":
            raise ValidationError(f"{source}: experiments[{index}].orchestrator_role_arn: a "
                                  "multi-account run needs engine fis, not chaos")
    return Step(entry.name or path.stem, path,
                {str(k): str(v) for k, v in entry.environment.items()}, entry.configuration,
                engine, orchestrator)


def parse_plan(source: Path, document: Any) -> Plan:
    """Check a plan document read from ``source``."""
    model = checked(PlanModel, document, str(source))
    return Plan(source=source, title=model.title or source.stem,
                steps=[_step(source, index, entry, model)
                       for index, entry in enumerate(model.experiments)],
                cool_down_seconds=model.cool_down_seconds, stop_on_failure=model.stop.on_failure,
                max_budget_spent=model.stop.max_budget_spent,
                output=Path(model.output or str(Path("runs") / "gameday")))


def load_plan(path: str | Path) -> Plan:
    """Read and check a plan file (one-line ValidationError on any problem)."""
    source = Path(path)
    if not source.is_file():
        raise ValidationError(f"no game-day plan at {source}")
    return parse_plan(source, read_document(source))
