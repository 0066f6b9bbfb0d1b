"""The log-rank test and the Fleming–Harrington G-rho family, stratified, with a test for trend.

References
----------
Mantel N (1966). Evaluation of survival data and two new rank order statistics arising
    in its consideration. Cancer Chemother Rep 50:163-170.
Peto R, Peto J (1972). Asymptotically efficient rank invariant test procedures.
    J R Stat Soc A 135:185-207.
Harrington DP, Fleming TR (1982). A class of rank test procedures for censored survival
    data. Biometrika 69:553-566 (the G-rho weights S(t-)^rho).

At each event time t with d deaths among n at risk (n_g in group g) and weight
w = S(t-)^rho (the pooled Kaplan–Meier just before t, within the stratum):
observed O_g += w d_g, expected E_g += w d n_g / n, and the hypergeometric covariance
V_gh += w^2 d (n - d) / (n - 1) * (n_g / n) (delta_gh - n_h / n). Strata add their O, E and
V. The statistic is (O - E)' V^- (O - E) over the groups with E > 0 less the first,
with as many degrees of freedom; this is R's ``survdiff``. Late entry uses the risk
sets (entry, time].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import chi2

from bassinet.errors import DataError
from bassinet.survival._results import TableResult
from bassinet.survival._risk_sets import at_risk, split_by_strata, tabulate
from bassinet.survival._sorted import enabled, tables_by_stratum
from bassinet.survival._validate import (
    FloatArray,
    Survival,
    as_float,
    as_labels,
    drop_missing,
    required,
    same_length,
    survival_data,
    timefix,
)

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class TrendTest(TableResult):
    """A one-degree-of-freedom test for trend over ordered groups."""

    scores: FloatArray
    statistic: float
    variance: float
    chisq: float
    p_value: float

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            {
                "statistic": [self.statistic],
                "variance": [self.variance],
                "chisq": [self.chisq],
                "df": [1],
                "p_value": [self.p_value],
            }
        )


@dataclass(frozen=True)
class LogRankTest(TableResult):
    """The result of :func:`logrank`: per group counts, O, E, V and the chi-square test."""

    groups: tuple[Any, ...]
    n: FloatArray
    observed: FloatArray
    expected: FloatArray
    variance: FloatArray
    chisq: float
    df: int
    p_value: float
    rho: float

    def trend(self, scores: ArrayLike | None = None) -> TrendTest:
        """Test for trend over the groups in the order given (scores 1, 2, ... by default).

        With scores c, U = c'(O - E) and var U = c'Vc; U^2 / var U is chi-square with one
        degree of freedom (Peto & Peto 1972; Collett, Modelling Survival Data, 3rd ed., 2.7).
        """
        c = np.arange(1, len(self.groups) + 1, dtype=float) if scores is None else as_float("scores", scores)
        if len(c) != len(self.groups):
            raise DataError(f"scores has {len(c)} values but there are {len(self.groups)} groups")
        if not np.isfinite(c).all():
            raise DataError("scores must be finite numbers")
        statistic = float(c @ (self.observed - self.expected))
        variance = float(c @ self.variance @ c)
        if variance <= 0:
            raise DataError("the scores give the trend no variance: are they all equal?")
        value = statistic**2 / variance
        return TrendTest(c, statistic, variance, value, float(chi2.sf(value, 1)))

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            {
                "group": list(self.groups),
                "n": self.n,
                "observed": self.observed,
                "expected": self.expected,
                "o_minus_e_squared_over_e": (self.observed - self.expected) ** 2 / self.expected,
                "o_minus_e_squared_over_v": (self.observed - self.expected) ** 2 / np.diag(self.variance),
            }
        )


def _stratum(
    time: FloatArray,
    event: NDArray[np.bool_],
    group: NDArray[np.int64],
    n_groups: int,
    entry: FloatArray | None,
    rho: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    codes = group * 2 + event.astype(np.int64)
    times, counts = tabulate(time, codes, 2 * n_groups)
    return _stratum_sums(times, np.ascontiguousarray(counts.T), n_groups, entry, group, rho)


def _stratum_sums(
    times: FloatArray,
    counts: FloatArray,
    n_groups: int,
    entry: FloatArray | None,
    group: NDArray[np.int64] | None,
    rho: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """O, E and V of one stratum from its rows counted by (group, event) code (rows) and time.

    Written on one column per group (contiguous vectors, element-wise products and sums)
    rather than on times x groups matrices: with a few groups and a million times, the
    matrix products go to a multithreaded BLAS that loses on a shared machine, and sums
    along the short axis of a tall matrix are slow in NumPy.
    """
    groups = range(n_groups)
    deaths_of = [counts[2 * g + 1] for g in groups]
    exits_of = [counts[2 * g] + deaths_of[g] for g in groups]
    deaths_all = deaths_of[0].copy()
    for g in groups[1:]:
        deaths_all += deaths_of[g]
    keep = np.flatnonzero(deaths_all > 0)
    if entry is None:
        risk_of = [np.cumsum(exits[::-1])[::-1][keep] for exits in exits_of]
    else:
        n_at_risk = at_risk(times, np.column_stack(exits_of), entry=entry, group=group, n_groups=n_groups)
        risk_of = [n_at_risk[keep, g] for g in groups]
    d_of = [deaths[keep] for deaths in deaths_of]
    deaths = deaths_all[keep]
    n = risk_of[0].copy()
    for g in groups[1:]:
        n += risk_of[g]
    if rho != 0:
        # the pooled Kaplan–Meier just before each event time (1 - d/n is 1 between them)
        step = 1 - deaths / n
        left_km = np.concatenate(([1.0], np.cumprod(step)[:-1]))
        weight = left_km**rho
        observed = np.array([float((weight * d).sum()) for d in d_of])
        weighted_deaths = weight * deaths
    else:
        weight = np.ones(len(keep))
        observed = np.array([float(d.sum()) for d in d_of])
        weighted_deaths = deaths
    share_of = [risk / n for risk in risk_of]
    expected = np.array([float((weighted_deaths * share).sum()) for share in share_of])
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n > 1, weight**2 * deaths * (n - deaths) / (n - 1), 0.0)
    variance = np.empty((n_groups, n_groups))
    for g in groups:
        scaled = factor * share_of[g]
        variance[g, g] = float(scaled.sum())
        for h in groups:
            variance[g, h] = (variance[g, g] if g == h else 0.0) - float((scaled * share_of[h]).sum())
    return observed, expected, variance


def logrank(
    time: ArrayLike,
    event: ArrayLike,
    group: ArrayLike,
    *,
    strata: ArrayLike | None = None,
    entry: ArrayLike | None = None,
    rho: float = 0.0,
    dropna: bool = False,
) -> LogRankTest:
    """Compare survival between groups by the log-rank test or its G-rho generalisation.

    Parameters
    ----------
    time, event
        Exit times (>= 0) and event indicators (1 event, 0 censored).
    group : array_like
        Group labels; at least two distinct ones.
    strata : array_like, optional
        Stratum labels: O, E and V are summed over strata (R's ``survdiff(... + strata(s))``).
    entry : array_like, optional
        Entry times for late entry; risk sets are (entry, time].
    rho : float
        Fleming–Harrington weight S(t-)^rho: 0 is the log-rank test, 1 the
        Peto–Peto modification of the Gehan–Wilcoxon test.
    dropna : bool
        Remove rows with a missing value instead of refusing them.

    Returns
    -------
    LogRankTest
        With ``chisq``, ``df``, ``p_value`` (upper tail, accurate far below 1e-16) and
        ``trend()`` for ordered groups.
    """
    if not (isinstance(rho, int | float) and np.isfinite(rho)):
        raise DataError(f"rho is {rho!r}: it must be a finite number")
    columns, _ = drop_missing(dropna, time=time, event=event, group=group, strata=strata, entry=entry)
    # without late entry, one sort of packed keys serves timefix and every stratum's counts
    fast = columns["entry"] is None and enabled()
    data = survival_data(
        required(columns, "time"), required(columns, "event"), entry=columns["entry"], fix_times=not fast
    )
    codes, labels = as_labels("group", required(columns, "group"))
    strata_codes, strata_labels = None, ()
    if columns["strata"] is not None:
        strata_codes, strata_labels = as_labels("strata", columns["strata"])
    same_length(time=data.time, group=codes, strata=strata_codes)
    if len(labels) < 2:
        raise DataError(f"group has a single value ({labels[0]!r}): a test compares two or more groups")
    k = len(labels)
    observed, expected, variance = np.zeros(k), np.zeros(k), np.zeros((k, k))
    counts = np.bincount(codes, minlength=k).astype(float)
    tables = None
    if fast:
        tables = tables_by_stratum(
            data.time, codes * 2 + data.event, 2 * k, strata_codes, len(strata_labels), True
        )
        if tables is None:
            data = Survival(timefix(data.time)[0], data.event, None, None)
    if tables is not None:
        for times, table in tables:
            o, e, v = _stratum_sums(times, table, k, None, None, float(rho))
            observed += o
            expected += e
            variance += v
        return _test(labels, counts, observed, expected, variance, float(rho))
    for rows in split_by_strata(strata_codes, len(data.time)):
        o, e, v = _stratum(
            data.time[rows],
            data.event[rows],
            codes[rows],
            k,
            None if data.entry is None else data.entry[rows],
            float(rho),
        )
        observed += o
        expected += e
        variance += v
    return _test(labels, counts, observed, expected, variance, float(rho))


def _test(
    labels: tuple[Any, ...],
    counts: FloatArray,
    observed: FloatArray,
    expected: FloatArray,
    variance: FloatArray,
    rho: float,
) -> LogRankTest:
    chisq, df = _chi_square(observed, expected, variance)
    p_value = float(chi2.sf(chisq, df)) if df > 0 else float("nan")
    return LogRankTest(labels, counts, observed, expected, variance, chisq, df, p_value, rho)


def _chi_square(observed: FloatArray, expected: FloatArray, variance: FloatArray) -> tuple[float, int]:
    used = np.flatnonzero(expected > 0)
    if len(used) < 2:
        return 0.0, max(len(used) - 1, 0)
    kept = used[1:]
    difference = (observed - expected)[kept]
    block = variance[np.ix_(kept, kept)]
    try:
        solved = np.linalg.solve(block, difference)
    except np.linalg.LinAlgError:
        solved = np.linalg.pinv(block) @ difference
    return float(solved @ difference), len(used) - 1
