"""Patch registration: where a lab service takes over behaviour moto's models lack.

Each service package of the lab (``chaos_sre/lab/<service>/``) may have a
``patches`` module. In it, :func:`replaces` declares that a function takes the
place of a moto model (or response handler) method; :func:`original` calls the
method it replaced. :func:`install` imports every service's ``patches`` module
(found by walking the lab's packages, so a new service needs no edit here) and
applies what they declared, once per process. The replacements call back into the
lab's dynamics (:func:`hooks`), which each service's patches describe with a Protocol.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from chaos_sre.lab.core.services import service_modules

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Patch:
    """``owner.attribute`` is replaced by ``replacement``."""

    owner: object
    attribute: str
    replacement: Callable[..., Any]

    @property
    def key(self) -> tuple[object, str]:
        return self.owner, self.attribute


_declared: dict[tuple[object, str], Patch] = {}
_originals: dict[tuple[object, str], Any] = {}
_hooks: Any = None


def replaces(owner: object, attribute: str) -> Callable[[F], F]:
    """Declare that the decorated function replaces ``owner.attribute`` once the lab installs (or
    adds it: a response handler's method for an operation moto does not answer)."""
    def declare(function: F) -> F:
        patch = Patch(owner, attribute, function)
        _declared[patch.key] = patch
        return function
    return declare


def original(owner: object, attribute: str) -> Any:
    """The moto method that a patch replaced (to call it from the replacement)."""
    return _originals[(owner, attribute)]


def hooks() -> Any:
    """The lab's dynamics (:class:`chaos_sre.lab.core.dynamics.Dynamics`): a service's patches
    reach their simulation with ``hooks().service(name)``, described by their own Protocol."""
    if _hooks is None:
        raise RuntimeError("lab moto patches used before install()")
    return _hooks


def install(dynamics: Any) -> None:
    """Route moto's model behaviour through ``dynamics`` (idempotent per process)."""
    global _hooks
    _hooks = dynamics
    service_modules("patches")  # importing each declares its patches
    for key, patch in _declared.items():
        if key not in _originals:
            _originals[key] = getattr(patch.owner, patch.attribute, None)  # None: an addition
            setattr(patch.owner, patch.attribute, patch.replacement)
