"""Survival statistics for time-to-event endpoints, exact against R's ``survival`` and ``cmprsk``.

Pure NumPy and SciPy: the functions take arrays and return frozen dataclasses with
``to_frame()``. Nothing here imports the rest of Bassinet (but its exception tree),
reads a database or draws a figure.
"""

from bassinet.survival._kaplan_meier import (
    GroupedKaplanMeier,
    KaplanMeier,
    Quantile,
    SurvivalAt,
    kaplan_meier,
)
from bassinet.survival._logrank import LogRankTest, TrendTest, logrank

__all__ = [
    "GroupedKaplanMeier",
    "KaplanMeier",
    "LogRankTest",
    "Quantile",
    "SurvivalAt",
    "TrendTest",
    "kaplan_meier",
    "logrank",
]
