"""Bassinet: a study platform for infant acute leukemia.

The registry of patients (:mod:`bassinet.registry`) is the first piece; the protocol
engine, endpoints, survival statistics and reports build on the frames it gives.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from bassinet.errors import (
    BassinetError,
    ConfigurationError,
    ConvergenceError,
    DataError,
    RegistryError,
    StatisticalWarning,
)

try:
    __version__ = version("bassinet")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "BassinetError",
    "ConfigurationError",
    "ConvergenceError",
    "DataError",
    "RegistryError",
    "StatisticalWarning",
    "__version__",
]
