"""The ``chaos_sre`` extension of a Chaos Toolkit journal, as typed data: what the control writes
and every consumer reads (docs/slo.md, "The journal"). The names are the contract other tools
rely on (``verdict.passed``, ``recovery.recover_seconds``, ``budget.consumed_fraction`` ...);
mypy checks that the control writes each of them, and readers of journals from disk still check
what they find (:mod:`chaos_sre.verdicts`)."""

from typing import Any, NotRequired, TypedDict

from chaos_sre.safety.ledger import LeftChanged

NAME = "chaos_sre"


class VerdictFields(TypedDict):
    """``verdict``: the one answer (:class:`chaos_sre.verdicts.Verdict`)."""

    version: int
    status: str
    passed: bool
    reasons: list[str]


class SloFields(TypedDict):
    name: str
    source: str
    target: float
    window_seconds: float
    latency_threshold_seconds: float | None


class RecoveryFields(TypedDict):
    """``recovery``: AWS seconds from the fault's start."""

    detect_seconds: float | None
    recover_seconds: float | None
    rto_seconds: float
    window_seconds: float
    hold_seconds: float
    restore_to_healthy_seconds: float | None
    restore_rto_seconds: float | None


class BudgetFields(TypedDict):
    """``budget``: shares of the SLO window's error budget."""

    allowed_fraction: float
    consumed_fraction: float
    model: str
    assumed_fraction: float
    weighted_fraction: float | None
    sampler_fraction: float | None
    window_traffic_rate: float | None
    run_traffic_rate: float | None


class BurnRateFields(TypedDict):
    experiment: float
    worst_short_window: float
    short_window_seconds: float


class SliSummary(TypedDict):
    samples: int
    good: int
    sli: float | None
    outcomes: dict[str, int]
    latency_p50_seconds: float | None
    latency_p99_seconds: float | None


class BaselineSli(TypedDict):
    samples: int
    sli: float | None


class SliFields(TypedDict):
    whole_run: SliSummary
    before_fault: BaselineSli
    after_fault: SliSummary


class SamplingFields(TypedDict):
    """``sampling``: the sampler's run and how well its samples cover the schedule."""

    rate: float
    started_at: float | None
    stopped_at: float | None
    exit_code: int | None
    coverage: dict[str, Any] | None


class FaultEffectFields(TypedDict):
    checked: int | None
    missing: list[str]
    verified: bool


class PhaseFields(TypedDict):
    method_ended_at: float | None
    rollbacks_started_at: float | None
    rollbacks_ended_at: float | None
    ended_at: float | None


class DryRunFields(TypedDict):
    plan: list[dict[str, Any]]


class RunTargets(TypedDict, total=False):
    """The run's ledger and what its faults changed (absent when no fault opened a ledger), and
    the AWS requests it made."""

    ledger_path: str
    targets: list[str]
    left_changed: list[LeftChanged]
    """What the run's restores left changed (a failover's writer in another AZ)."""
    aws_calls: dict[str, int]
    """The AWS API requests the run made, by IAM action (set by the control, ledger or not)."""


class NotJudged(TypedDict):
    """The extension of a run the control refused before it started."""

    name: str
    verdict: VerdictFields
    refused_before_start: str


class Extension(TypedDict):
    """The extension of a judged run."""

    name: str
    verdict: VerdictFields
    slo: SloFields
    recovery: RecoveryFields
    budget: BudgetFields
    burn_rate: BurnRateFields
    worst_error_rate: float
    time_scale: float
    fault_started_at: float | None
    samples_path: str
    sampling: SamplingFields
    adjustments: list[str]
    sli: SliFields
    stopped: dict[str, Any] | None
    fault_effect: FaultEffectFields
    control_errors: list[str]
    dry_run: DryRunFields | None
    phases: PhaseFields
    ledger_path: NotRequired[str]
    targets: NotRequired[list[str]]
    left_changed: NotRequired[list[LeftChanged]]
    aws_calls: NotRequired[dict[str, int]]
    """The AWS API requests the run made (faults, probes, rollbacks, the control; retries
    included), by IAM action."""
