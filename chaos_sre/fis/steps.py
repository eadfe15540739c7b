"""The steps ``chaos-sre fis run`` puts in an experiment in place of its faults and rollbacks
(:func:`chaos_sre.fis.run.fis_experiment`); ``chaos-sre iam policy --engine fis`` reads the same."""

ENGINE_MODULE = "chaos_sre.fis.engine"
ENGINE_FUNCTION = "start_experiment"
ROLLBACK = {"type": "action", "name": "end-fis-experiment",
            "provider": {"type": "python", "module": "chaos_sre.safety.rollback",
                         "func": "restore_run"}}
"""Stops the FIS experiment if it still runs (FIS restores what its actions changed)."""


def engine_step(arguments: dict[str, object]) -> dict[str, object]:
    """The action that runs the experiment's faults as one FIS experiment."""
    return {"type": "action", "name": "fis-experiment",
            "provider": {"type": "python", "module": ENGINE_MODULE, "func": ENGINE_FUNCTION,
                         "arguments": arguments}}
