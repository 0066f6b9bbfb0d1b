"""Restricted mean survival time: the area under the Kaplan–Meier curve up to a horizon tau.

References
----------
Irwin JO (1949). The standard error of an estimate of expectation of life. J Hyg 47:188-189.
Royston P, Parmar MKB (2013). Restricted mean survival time: an alternative to the hazard
    ratio for the design and analysis of randomized trials with a time-to-event outcome.
    BMC Med Res Methodol 13:152.

The estimate is the integral of S(t) from 0 to tau. Its variance is that of R's
``print(survfit, rmean = tau)``: the sum over event times t_j <= tau of
A_j^2 d_j / (n_j (n_j - d_j)), where A_j is the area under the curve from t_j to tau.
The difference between two groups is the difference of their estimates, with standard
error the square root of the sum of their variances (the groups are independent).

With late entry, or a follow-up split into (start, stop] rows (``entry`` the start, ``time``
the stop), the curve is the Kaplan–Meier estimate on the risk sets (entry, time] and the
same formulas apply with its numbers at risk, integrated from 0, as R's
``survfit(Surv(start, stop, event) ~ 1)`` with ``rmean = tau`` does (without ``id``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import norm

from bassinet.errors import DataError
from bassinet.survival._kaplan_meier import KaplanMeier, kaplan_meier
from bassinet.survival._results import TableResult
from bassinet.survival._validate import as_labels, check_conf_level, drop_missing, required, survival_data

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class RMSTDifference:
    """The difference of restricted means, second group minus first, with limits and P value."""

    groups: tuple[Any, Any]
    estimate: float
    std_err: float
    lower: float
    upper: float
    p_value: float


@dataclass(frozen=True)
class RMST(TableResult):
    """Restricted mean survival time up to ``tau``, per group when groups are given."""

    tau: float
    groups: tuple[Any, ...]
    estimate: np.ndarray
    std_err: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    conf_level: float
    difference: RMSTDifference | None

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            {
                "group": list(self.groups),
                "tau": self.tau,
                "rmst": self.estimate,
                "std_err": self.std_err,
                "lower": self.lower,
                "upper": self.upper,
            }
        )


def _area(curve: KaplanMeier, tau: float) -> tuple[float, float]:
    keep = curve.time <= tau
    times = np.concatenate((curve.time[keep], [tau]))
    surv = curve.surv[keep]
    left = np.concatenate(([1.0], surv))
    widths = np.diff(np.concatenate(([0.0], times)))
    rectangles = widths * left
    with np.errstate(divide="ignore", invalid="ignore"):
        remaining = curve.n_risk[keep] - curve.n_event[keep]
        hazard_term = np.where(remaining > 0, curve.n_event[keep] / (curve.n_risk[keep] * remaining), 0.0)
    # area from each event time to tau: the rectangles after it
    after = np.cumsum(rectangles[::-1])[::-1][1:]
    variance = float(np.sum(after**2 * hazard_term))
    return float(rectangles.sum()), float(np.sqrt(variance))


def rmst(
    time: ArrayLike,
    event: ArrayLike,
    *,
    tau: float,
    group: ArrayLike | None = None,
    entry: ArrayLike | None = None,
    conf_level: float = 0.95,
    dropna: bool = False,
) -> RMST:
    """Restricted mean survival time up to ``tau``, with its standard error (R's ``rmean``).

    Parameters
    ----------
    time, event
        Exit times (>= 0) and event indicators (1 event, 0 censored).
    tau : float
        The horizon, > 0, in the unit of ``time``.
    group : array_like, optional
        Group labels: one estimate per group, and with exactly two groups their
        difference (second minus first, in sorted label order) with a Wald interval.
    entry : array_like of float, optional
        Entry times: a row is at risk on (entry, time]. Late entry, or (start, stop]
        rows of a split follow-up (``entry=start``, ``time=stop``), as
        ``Surv(start, stop, event)`` in R.
    conf_level : float
        Level of the intervals.
    dropna : bool
        Remove rows with a missing value instead of refusing them.
    """
    check_conf_level(conf_level)
    if not (isinstance(tau, int | float) and np.isfinite(tau) and tau > 0):
        raise DataError(f"tau is {tau!r}: the horizon must be a finite number > 0")
    columns, _ = drop_missing(dropna, time=time, event=event, group=group, entry=entry)
    data = survival_data(required(columns, "time"), required(columns, "event"), entry=columns["entry"])
    if columns["group"] is None:
        labels: tuple[Any, ...] = ("all",)
        codes = np.zeros(len(data.time), dtype=np.int64)
    else:
        codes, labels = as_labels("group", required(columns, "group"))
        if len(codes) != len(data.time):
            raise DataError(f"group has {len(codes)} values but time has {len(data.time)}")
    z = float(norm.ppf(1 - (1 - conf_level) / 2))
    estimates, errors = [], []
    for index in range(len(labels)):
        rows = codes == index
        curve = kaplan_meier(
            data.time[rows], data.event[rows], entry=None if data.entry is None else data.entry[rows]
        )
        assert isinstance(curve, KaplanMeier)
        area, se = _area(curve, float(tau))
        estimates.append(area)
        errors.append(se)
    estimate, std_err = np.array(estimates), np.array(errors)
    difference = None
    if len(labels) == 2:
        diff = estimate[1] - estimate[0]
        se = float(np.hypot(std_err[0], std_err[1]))
        p = float(2 * norm.sf(abs(diff) / se)) if se > 0 else float("nan")
        difference = RMSTDifference((labels[0], labels[1]), float(diff), se, diff - z * se, diff + z * se, p)
    return RMST(
        float(tau),
        labels,
        estimate,
        std_err,
        estimate - z * std_err,
        estimate + z * std_err,
        conf_level,
        difference,
    )
