"""The log-rank and Mantel–Byar tests time by time: observed, expected and variance at each event time.

:func:`logrank` and :func:`mantel_byar` report sums over the event times; a reader who
wants to see where a difference arises, or to check the sums by hand, needs the terms.
At each event time t (within a stratum) with n at risk (n_g in group g), d deaths (d_g
in group g) and weight w = S(t-)^rho (the pooled Kaplan–Meier just before t):

- observed O_g(t) = w d_g,
- expected E_g(t) = w d n_g / n,
- covariance V_gh(t) = w^2 d (n - d) / (n - 1) (n_g / n) (delta_gh - n_h / n)

(Mantel 1966; Harrington & Fleming 1982), the terms that R's ``survdiff`` accumulates in
its C loop (``survdiff2.c``) and that :func:`logrank` sums. The Mantel–Byar table is
the log-rank table of the exposed against the not yet exposed, with each patient's
follow-up cut at the exposure into (start, stop] rows (Mantel & Byar 1974).

References
----------
Mantel N (1966). Evaluation of survival data and two new rank order statistics arising
    in its consideration. Cancer Chemother Rep 50:163-170.
Harrington DP, Fleming TR (1982). A class of rank test procedures for censored survival
    data. Biometrika 69:553-566.
Mantel N, Byar DP (1974). Evaluation of response-time data involving transient states:
    an illustration using heart-transplant data. J Am Stat Assoc 69:81-86.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bassinet.errors import DataError
from bassinet.survival._exposure import split_at_exposure
from bassinet.survival._results import TableResult
from bassinet.survival._risk_sets import at_risk, split_by_strata, tabulate
from bassinet.survival._validate import (
    FloatArray,
    as_labels,
    drop_missing,
    required,
    same_length,
    survival_data,
)

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class LogRankTable(TableResult):
    """The terms of a log-rank (or G-rho, or Mantel–Byar) test at each event time.

    Attributes
    ----------
    groups
        The group labels, in the order of the columns.
    stratum
        The stratum label of each row (None without strata).
    time
        The event times (deaths > 0), ascending within each stratum.
    n_risk, n_event
        Numbers at risk and events per time (rows) and group (columns).
    weight
        The G-rho weight S(t-)^rho of each time (1 for the log-rank test).
    expected, variance
        E_g(t), and the covariance V(t) per time (shape times x groups x groups).
    """

    groups: tuple[Any, ...]
    stratum: NDArray[Any]
    time: FloatArray
    n_risk: FloatArray
    n_event: FloatArray
    weight: FloatArray
    expected: FloatArray
    variance: FloatArray

    @property
    def observed(self) -> FloatArray:
        """O_g(t): the weighted events of each group at each time."""
        result: FloatArray = self.weight[:, None] * self.n_event
        return result

    def totals(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """The sums over times: O, E (per group) and V (groups x groups), as :func:`logrank` gives them."""
        return self.observed.sum(axis=0), self.expected.sum(axis=0), self.variance.sum(axis=0)

    def to_frame(self) -> pd.DataFrame:
        """One row per event time and group, with the diagonal of the covariance."""
        import pandas as pd

        frames = []
        for g, label in enumerate(self.groups):
            frames.append(
                pd.DataFrame(
                    {
                        "stratum": self.stratum,
                        "time": self.time,
                        "group": [label] * len(self.time),
                        "n_risk": self.n_risk[:, g],
                        "n_event": self.n_event[:, g],
                        "weight": self.weight,
                        "observed": self.observed[:, g],
                        "expected": self.expected[:, g],
                        "variance": self.variance[:, g, g],
                    }
                )
            )
        # time by time, the groups of each time together
        order = np.arange(len(self.time) * len(self.groups)).reshape(len(self.groups), -1).T.ravel()
        return pd.concat(frames, ignore_index=True).iloc[order].reset_index(drop=True)


def _stratum_terms(
    time: FloatArray,
    event: NDArray[np.bool_],
    group: NDArray[np.int64],
    n_groups: int,
    entry: FloatArray | None,
    rho: float,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    codes = group * 2 + event.astype(np.int64)
    times, counts = tabulate(time, codes, 2 * n_groups)
    counts = counts.reshape(len(times), n_groups, 2)
    deaths_by_group = counts[:, :, 1]
    exits = counts[:, :, 0] + deaths_by_group
    n_by_group = at_risk(times, exits, entry=entry, group=group, n_groups=n_groups)
    n = n_by_group.sum(axis=1)
    deaths = deaths_by_group.sum(axis=1)
    keep = deaths > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(n > 0, 1 - deaths / n, 1.0)
    left_km = np.concatenate(([1.0], np.cumprod(step)[:-1]))
    weight = left_km[keep] ** rho if rho != 0 else np.ones(int(keep.sum()))
    n, deaths, n_by_group, deaths_by_group = n[keep], deaths[keep], n_by_group[keep], deaths_by_group[keep]
    share = n_by_group / n[:, None]
    expected = (weight * deaths)[:, None] * share
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n > 1, weight**2 * deaths * (n - deaths) / (n - 1), 0.0)
    eye = np.eye(n_groups)
    variance = factor[:, None, None] * share[:, :, None] * (eye[None] - share[:, None, :])
    return times[keep], n_by_group, deaths_by_group, weight, expected, variance


def logrank_table(
    time: ArrayLike,
    event: ArrayLike,
    group: ArrayLike,
    *,
    strata: ArrayLike | None = None,
    entry: ArrayLike | None = None,
    rho: float = 0.0,
    dropna: bool = False,
) -> LogRankTable:
    """The log-rank (or G-rho) test's observed, expected and variance at each event time.

    Takes the arguments of :func:`logrank`; the sums of the table over its rows are that
    test's O, E and V (R's ``survdiff``: ``obs``, ``exp`` and ``var``).

    Returns
    -------
    LogRankTable
        One row per event time (per stratum), one column per group.
    """
    if not (isinstance(rho, int | float) and np.isfinite(rho)):
        raise DataError(f"rho is {rho!r}: it must be a finite number")
    columns, _ = drop_missing(dropna, time=time, event=event, group=group, strata=strata, entry=entry)
    data = survival_data(required(columns, "time"), required(columns, "event"), entry=columns["entry"])
    codes, labels = as_labels("group", required(columns, "group"))
    strata_codes, strata_labels = None, None
    if columns["strata"] is not None:
        strata_codes, strata_labels = as_labels("strata", columns["strata"])
    same_length(time=data.time, group=codes, strata=strata_codes)
    if len(labels) < 2:
        raise DataError(f"group has a single value ({labels[0]!r}): a test compares two or more groups")
    parts = []
    for rows in split_by_strata(strata_codes, len(data.time)):
        terms = _stratum_terms(
            data.time[rows],
            data.event[rows],
            codes[rows],
            len(labels),
            None if data.entry is None else data.entry[rows],
            float(rho),
        )
        label = (
            None if strata_codes is None or strata_labels is None else strata_labels[strata_codes[rows[0]]]
        )
        parts.append((np.full(len(terms[0]), label, dtype=object), *terms))
    stratum, times, n_risk, n_event, weight, expected, variance = (
        np.concatenate([part[i] for part in parts]) for i in range(7)
    )
    return LogRankTable(labels, stratum, times, n_risk, n_event, weight, expected, variance)


def mantel_byar_table(
    time: ArrayLike,
    event: ArrayLike,
    exposure_time: ArrayLike,
    *,
    entry: ArrayLike | None = None,
) -> LogRankTable:
    """The Mantel–Byar test's terms at each event time: the exposed against those not yet exposed.

    Takes the arguments of :func:`mantel_byar`. The groups are ``(False, True)`` (not
    exposed, exposed by then); the sums of the exposed column are the test's
    ``observed``, ``expected`` and ``variance``.
    """
    rows = split_at_exposure(time, event, exposure_time, entry=entry)
    if not rows.event.any():
        raise DataError("event has no events: there is nothing to test")
    group = rows.exposed.astype(np.int64)
    times, n_risk, n_event, weight, expected, variance = _stratum_terms(
        rows.stop, rows.event, group, 2, rows.start, 0.0
    )
    stratum = np.full(len(times), None, dtype=object)
    return LogRankTable((False, True), stratum, times, n_risk, n_event, weight, expected, variance)
