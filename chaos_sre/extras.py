"""Optional parts of chaos-sre and the extras that install them.

The core install (``pip install chaos-sre``) is what a staging runner needs:
the Chaos Toolkit extension, the faults, probes, SLO engine and CLI. Two parts
are optional, each behind a packaging extra:

* ``lab``    - the local lab (moto in server mode): ``pip install 'chaos-sre[lab]'``
* ``report`` - the plots of the HTML report (matplotlib): ``pip install 'chaos-sre[report]'``

:func:`require` turns a missing extra into one line that says how to install it.
"""

import importlib.util

from chaos_sre.errors import MissingExtra

EXTRAS = {
    "lab": ("moto", "the local lab runs moto in server mode"),
    "report": ("matplotlib", "the HTML report draws its SLI timeline with matplotlib"),
}


def installed(extra: str) -> bool:
    """Whether the module that ``extra`` brings in can be imported."""
    module, _ = EXTRAS[extra]
    return importlib.util.find_spec(module) is not None


def require(extra: str) -> None:
    """Raise :class:`MissingExtra` (one line, with the install command) unless ``extra`` is installed."""
    if not installed(extra):
        module, why = EXTRAS[extra]
        raise MissingExtra(f"{why}, and {module} is not installed: pip install 'chaos-sre[{extra}]'")


__all__ = ["EXTRAS", "installed", "require"]
