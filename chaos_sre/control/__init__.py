"""The chaos-sre Chaos Toolkit control: judge an experiment by its SLO.

Declare it in an experiment's ``controls``; a plain ``chaos run`` then gets
the whole SLO engine::

    "controls": [{
      "name": "chaos-sre",
      "provider": {
        "type": "python", "module": "chaos_sre.control",
        "arguments": {"slo": "probes/web.yaml", "target_url": "${target_url}",
                      "budget_allowance": 0.005, "rto_seconds": 30, "rate": 50}
      }
    }]

What it does, in order:

1. before the steady-state check, start the open-loop sampler
   (:mod:`chaos_sre.slo.sampler`) against ``target_url``;
2. before the method, refuse to inject unless the steady state held over a
   baseline of ``baseline_seconds`` (and, when the SLO names a load balancer
   with CloudWatch metrics, unless the window's remaining budget covers the
   allowance);
3. mark the fault's start at the method's first action and watch the samples:
   when the budget spent exceeds ``budget_allowance`` or the burn rate over
   ``burn_window_seconds`` exceeds ``burn_rate_stop``, interrupt the run so
   the rollbacks play (experiments use rollback strategy ``always``);
4. after the rollbacks, keep sampling until the service has recovered and held
   (at most until fault start + 2 x RTO + recovery window + hold), stop the
   sampler, write the verdict to the journal's ``extensions`` (``name:
   chaos_sre``) and mark the run failed when the verdict fails, so ``chaos
   run`` exits non-zero - also when the steady state failed before the method
   or a method action (or chaos-sre probe) failed;
5. append the run's key figures to the local run history
   (:mod:`chaos_sre.history`, ``chaos-sre history``).

Raw samples are written beside the journal as ``<journal>.samples.jsonl``.

One job per module: :mod:`~chaos_sre.control.settings` (the arguments),
:mod:`~chaos_sre.control.sampling` (sampler process and monitor),
:mod:`~chaos_sre.control.gate` (baseline and budget gate),
:mod:`~chaos_sre.control.activities` (per-activity bookkeeping),
:mod:`~chaos_sre.control.settle` (the wait for recovery),
:mod:`~chaos_sre.control.outcome` (verdict log, targets, history);
:mod:`~chaos_sre.control.hooks` wires them to Chaos Toolkit's hooks.
"""

from chaos_sre.control.hooks import (
    after_activity_control,
    after_experiment_control,
    after_hypothesis_control,
    after_method_control,
    before_activity_control,
    before_experiment_control,
    before_method_control,
    before_rollback_control,
    cleanup_control,
    configure_control,
)
from chaos_sre.control.invocation import samples_path_for

__all__ = [
    "after_activity_control",
    "after_experiment_control",
    "after_hypothesis_control",
    "after_method_control",
    "before_activity_control",
    "before_experiment_control",
    "before_method_control",
    "before_rollback_control",
    "cleanup_control",
    "configure_control",
    "samples_path_for",
]
