"""Blanking secret values wherever an experiment is written out (journals, reports)."""

from typing import Any

REDACTED = "***redacted by chaos-sre***"
SECRET_REFERENCE_TYPES = ("env", "vault")


def redact_secrets(experiment: dict[str, Any] | None) -> None:
    """Blank every inline secret value of an experiment document (in place).

    References (``{"type": "env", "key": ...}``, vault paths) name where a
    secret lives and stay; literal values are replaced, so no journal carries one.
    """
    secrets = (experiment or {}).get("secrets")
    if not isinstance(secrets, dict):
        return
    for scope in secrets.values():
        if not isinstance(scope, dict):
            continue
        for key, value in scope.items():
            if isinstance(value, dict) and value.get("type") in SECRET_REFERENCE_TYPES:
                continue
            scope[key] = REDACTED
