"""Patch registration: where a lab service takes over behaviour moto's models lack.

Each service package of the lab (``chaos_sre/lab/<service>/``) may have a
``patches`` module. In it, :func:`replaces` declares that a function takes the
place of a moto model (or response handler) method; :func:`original` calls the
method it replaced. :func:`install` imports every service's ``patches`` module
(found by walking the lab's packages, so a new service needs no edit here) and
applies what they declared, once per process. The replacements call back into the
lab's dynamics (:func:`hooks`), which each service's patches describe with a Protocol.
"""

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Patch:
    """``owner.attribute`` is replaced by ``replacement``."""

    owner: type
    attribute: str
    replacement: Callable[..., Any]

    @property
    def key(self) -> tuple[type, str]:
        return self.owner, self.attribute


_declared: dict[tuple[type, str], Patch] = {}
_originals: dict[tuple[type, str], Any] = {}
_hooks: Any = None


def replaces(owner: type, attribute: str) -> Callable[[F], F]:
    """Declare that the decorated function replaces ``owner.attribute`` once the lab installs."""
    def declare(function: F) -> F:
        patch = Patch(owner, attribute, function)
        _declared[patch.key] = patch
        return function
    return declare


def original(owner: type, attribute: str) -> Any:
    """The moto method that a patch replaced (to call it from the replacement)."""
    return _originals[(owner, attribute)]


def hooks() -> Any:
    """The lab's dynamics; a service's patches read them through their own Protocol."""
    if _hooks is None:
        raise RuntimeError("lab moto patches used before install()")
    return _hooks


def service_patch_modules() -> list[str]:
    """The ``patches`` module of every lab service package."""
    import chaos_sre.lab as lab

    return sorted(f"{lab.__name__}.{info.name}.patches"
                  for info in pkgutil.iter_modules(lab.__path__)
                  if info.ispkg and info.name != "core"
                  and importlib.util.find_spec(f"{lab.__name__}.{info.name}.patches") is not None)


def install(dynamics: Any) -> None:
    """Route moto's model behaviour through ``dynamics`` (idempotent per process)."""
    global _hooks
    _hooks = dynamics
    for module in service_patch_modules():
        importlib.import_module(module)
    for key, patch in _declared.items():
        if key not in _originals:
            _originals[key] = getattr(patch.owner, patch.attribute)
            setattr(patch.owner, patch.attribute, patch.replacement)
