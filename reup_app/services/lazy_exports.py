"""Re-exports that a domain package loads on first use.

Each domain package's ``__init__`` names its public functions, but importing the package must not
import its modules: the domains call each other (billing reads orders, ordering creates invoices),
so eager re-exports would turn every cross-domain import into an import cycle. A package instead
maps each exported name to its module and installs ``__getattr__ = exports(__name__, _HOME)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def exports(package: str, home: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``package.<home[name]>`` and returns its ``name``."""
    namespace = import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{module}"), name)
        namespace[name] = value  # later lookups skip this function
        return value

    return __getattr__
