"""Survival statistics for time-to-event endpoints, exact against R's ``survival`` and ``cmprsk``.

Pure NumPy and SciPy: the functions take arrays and return frozen dataclasses with
``to_frame()`` (pandas is imported only then). Nothing here imports the rest of
Bassinet (but its exception tree), reads a database or draws a figure.

- :func:`kaplan_meier`: survival curves with Greenwood errors, R's limits and quantiles,
  and the Nelson–Aalen cumulative hazard with its standard error.
- :func:`logrank`: the log-rank and G-rho tests, stratified, with a test for trend;
  :func:`logrank_table` and :func:`mantel_byar_table` give their terms at each event time.
- :func:`cumulative_incidence`: Aalen–Johansen incidence of competing causes, with
  survfit's log and log-log limits and the standard error of the event-free state.
- :func:`gray_test`: Gray's test comparing cumulative incidences.
- :func:`follow_up`: median follow-up by reverse Kaplan–Meier.
- :func:`rmst`: restricted mean survival time and the difference between two groups,
  also with late entry and (start, stop] rows.
- :func:`coxph` and :class:`CoxPH`: Cox regression (arrays, or a DataFrame and a formula),
  with Efron, Breslow or exact ties, strata, (start, stop] rows, weights, robust errors
  and the robust score test, and ``cox.zph``.
- :func:`split_at_exposure`, :func:`mantel_byar`, :func:`landmark`: a time-dependent
  exposure such as a transplant, without immortal-time bias.
- :func:`fine_gray`: Fine–Gray regression on the subdistribution hazard (sandwich and
  model-based variances).
"""

from bassinet.survival._competing_risks import (
    CumulativeIncidence,
    GroupedCumulativeIncidence,
    IncidenceAt,
    cumulative_incidence,
)
from bassinet.survival._concordance import Concordance
from bassinet.survival._cox import ChiSquareTest, CoxFit, ZphTest, coxph
from bassinet.survival._exposure import (
    CountingProcess,
    LandmarkAnalysis,
    LandmarkGroup,
    MantelByarTest,
    landmark,
    mantel_byar,
    split_at_exposure,
)
from bassinet.survival._fine_gray import FineGrayFit, fine_gray
from bassinet.survival._follow_up import FollowUp, follow_up
from bassinet.survival._formula import CoxPH
from bassinet.survival._gray import GrayTest, gray_test
from bassinet.survival._kaplan_meier import (
    GroupedKaplanMeier,
    KaplanMeier,
    Quantile,
    SurvivalAt,
    kaplan_meier,
)
from bassinet.survival._logrank import LogRankTest, TrendTest, logrank
from bassinet.survival._logrank_table import LogRankTable, logrank_table, mantel_byar_table
from bassinet.survival._rmst import RMST, RMSTDifference, rmst

__all__ = [
    "RMST",
    "ChiSquareTest",
    "Concordance",
    "CountingProcess",
    "CoxFit",
    "CoxPH",
    "CumulativeIncidence",
    "FineGrayFit",
    "FollowUp",
    "GrayTest",
    "GroupedCumulativeIncidence",
    "GroupedKaplanMeier",
    "IncidenceAt",
    "KaplanMeier",
    "LandmarkAnalysis",
    "LandmarkGroup",
    "LogRankTable",
    "LogRankTest",
    "MantelByarTest",
    "Quantile",
    "RMSTDifference",
    "SurvivalAt",
    "TrendTest",
    "ZphTest",
    "coxph",
    "cumulative_incidence",
    "fine_gray",
    "follow_up",
    "gray_test",
    "kaplan_meier",
    "landmark",
    "logrank",
    "logrank_table",
    "mantel_byar",
    "mantel_byar_table",
    "rmst",
    "split_at_exposure",
]
