"""Bassinet: a study platform for infant acute leukemia.

The registry of patients (:mod:`bassinet.registry`) is the first piece; the protocol
engine, endpoints, survival statistics and reports build on the frames it gives.
"""

from __future__ import annotations

from bassinet.errors import (
    BassinetError,
    ConfigurationError,
    ConvergenceError,
    DataError,
    RegistryError,
    StatisticalWarning,
)


def __getattr__(name: str) -> str:
    """``__version__``, read from the installed package's metadata when first asked for.

    Lazily, because :mod:`importlib.metadata` costs a noticeable part of the command's
    start-up (``bassinet --help``), which does not need it.
    """
    if name != "__version__":
        raise AttributeError(f"module 'bassinet' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("bassinet")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        found = "0.0.0+unknown"
    globals()["__version__"] = found
    return found

__all__ = [
    "BassinetError",
    "ConfigurationError",
    "ConvergenceError",
    "DataError",
    "RegistryError",
    "StatisticalWarning",
    "__version__",
]
