"""Reading the JSON and YAML files users write: experiments, SLOs, guardrails, game-day plans.

One reader, so every file fails the same way: a one-line :class:`ValidationError`
that names the file (and the line of a YAML syntax error), never a traceback.
"""

import json
from pathlib import Path
from typing import Any

import yaml

from chaos_sre.errors import ValidationError

SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""PyYAML's safe loader in C (libyaml; PyYAML's wheels carry it), about ten times faster than the
pure-Python one it falls back to: every run, sampler and report reads an SLO file."""


def read_document(path: str | Path, what: str = "") -> Any:
    """The parsed document at ``path``: JSON for a ``.json`` file, YAML otherwise.

    ``what`` names the kind of file in the errors ("SLO file", "guardrails file"):
    ``SLO file probes/web.yaml not found``, ``guardrails file g.yaml is not YAML at line 3``.
    """
    path = Path(path)
    label = f"{what} {path}" if what else str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(f"{label} not found") from None
    except OSError as exc:
        raise ValidationError(f"cannot read {label}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ValidationError(f"{label} is not a text file (UTF-8)") from None
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{label} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    try:
        return yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValidationError(f"{label} is not YAML{where}") from None


__all__ = ["read_document"]
