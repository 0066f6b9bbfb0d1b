"""A time-dependent exposure (a transplant): counting-process rows, Mantel–Byar, landmarks.

A patient transplanted at month 5 was alive and event-free until month 5; comparing
"transplanted" with "not transplanted" as fixed groups from diagnosis credits those
months to the transplant (immortal-time bias; Anderson, Cain & Gelber 1983). The right
comparisons are:

- :func:`split_at_exposure`: each patient's follow-up cut at the exposure into
  (start, stop] rows, unexposed before and exposed after, for :func:`coxph` with the
  exposure as a time-varying covariate;
- :func:`mantel_byar`: the Mantel–Byar test (Mantel & Byar 1974), the score test of
  that model at zero with exact ties: at each event time the exposed and unexposed
  at risk then are compared, as the log-rank test compares fixed groups;
- :func:`landmark`: at each landmark time L, the patients alive and event-free at L,
  grouped by exposure by L and followed from L (Anderson, Cain & Gelber 1983).

References
----------
Mantel N, Byar DP (1974). Evaluation of response-time data involving transient states:
    an illustration using heart-transplant data. J Am Stat Assoc 69:81-86.
Anderson JR, Cain KC, Gelber RD (1983). Analysis of survival by tumor response.
    J Clin Oncol 1:710-719.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import chi2

from bassinet.errors import DataError
from bassinet.survival._logrank import LogRankTest, logrank
from bassinet.survival._partial_likelihood import RiskSets, exact_score_at_zero
from bassinet.survival._results import TableResult
from bassinet.survival._validate import FloatArray, IntArray, as_float, survival_data

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class CountingProcess(TableResult):
    """(start, stop] rows: ``row`` is the index of the patient in the input."""

    row: IntArray
    start: FloatArray
    stop: FloatArray
    event: NDArray[np.bool_]
    exposed: NDArray[np.bool_]

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            {
                "row": self.row,
                "start": self.start,
                "stop": self.stop,
                "event": self.event,
                "exposed": self.exposed,
            }
        )


def _exposure_times(exposure_time: ArrayLike, n: int) -> FloatArray:
    exposure = as_float("exposure_time", exposure_time)
    if len(exposure) != n:
        raise DataError(f"exposure_time has {len(exposure)} values but time has {n}")
    negative = exposure < 0
    if negative.any():
        index = int(np.flatnonzero(negative)[0])
        raise DataError(
            f"exposure_time[{index}] is {exposure[index]}: exposure is a time since the origin, >= 0 "
            "(NaN for never exposed)"
        )
    return exposure


def split_at_exposure(
    time: ArrayLike,
    event: ArrayLike,
    exposure_time: ArrayLike,
    *,
    entry: ArrayLike | None = None,
) -> CountingProcess:
    """Cut each row's follow-up (entry, time] at its exposure time (NaN: never exposed).

    Exposure at or before entry makes one exposed row; exposure at or after the exit
    time never happened during follow-up (an event on the day of the transplant counts
    before it), so the row stays unexposed; otherwise two rows, (entry, e] unexposed
    without the event and (e, time] exposed with it.
    """
    data = survival_data(time, event, entry=entry, fix_times=False)  # split the times as given
    n = len(data.time)
    exposure = _exposure_times(exposure_time, n)
    start = np.zeros(n) if data.entry is None else data.entry
    never = np.isnan(exposure) | (exposure >= data.time)
    from_start = ~never & (exposure <= start)
    split = ~never & ~from_start
    index = np.arange(n, dtype=np.int64)
    rows = np.concatenate([index[~split], index[split], index[split]])
    starts = np.concatenate([start[~split], start[split], exposure[split]])
    stops = np.concatenate([data.time[~split], exposure[split], data.time[split]])
    n_split = int(split.sum())
    events = np.concatenate([data.event[~split], np.zeros(n_split, bool), data.event[split]])
    exposed = np.concatenate([from_start[~split], np.zeros(n_split, bool), np.ones(n_split, bool)])
    order = np.lexsort((starts, rows))
    return CountingProcess(rows[order], starts[order], stops[order], events[order], exposed[order])


@dataclass(frozen=True)
class MantelByarTest(TableResult):
    """The Mantel–Byar test: observed and expected events among the exposed, and chi-square."""

    observed: float
    expected: float
    variance: float
    chisq: float
    p_value: float
    n: int
    n_exposed: int

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "observed": self.observed,
                    "expected": self.expected,
                    "variance": self.variance,
                    "chisq": self.chisq,
                    "df": 1,
                    "p": self.p_value,
                }
            ]
        )


def mantel_byar(
    time: ArrayLike,
    event: ArrayLike,
    exposure_time: ArrayLike,
    *,
    entry: ArrayLike | None = None,
) -> MantelByarTest:
    """Test whether the hazard differs after exposure, comparing at each event time those
    exposed and not exposed by then (the score test of the time-dependent Cox model at
    zero with exact ties; R: ``coxph(Surv(start, stop, event) ~ exposed, ties = "exact")$score``).
    """
    rows = split_at_exposure(time, event, exposure_time, entry=entry)
    if not rows.event.any():
        raise DataError("event has no events: there is nothing to test")
    n = int(rows.row.max()) + 1
    sets = RiskSets.build(rows.start, rows.stop, rows.event, np.zeros(len(rows.row), np.int64), efron=False)
    x = rows.exposed.astype(np.float64)[:, None]
    score, info = exact_score_at_zero(sets, x)
    observed = float(x[sets.death_rows, 0].sum())
    variance = float(info[0, 0])
    if variance <= 0:
        raise DataError(
            "no event time has both exposed and unexposed patients at risk: the test is undefined"
        )
    statistic = float(score[0] ** 2 / variance)
    return MantelByarTest(
        observed,
        observed - float(score[0]),
        variance,
        statistic,
        float(chi2.sf(statistic, 1)),
        n,
        int(np.unique(rows.row[rows.exposed]).size),
    )


@dataclass(frozen=True)
class LandmarkGroup:
    """At one landmark: who is still at risk, by exposure, and the log-rank test from there."""

    landmark: float
    n_at_risk: int
    n_exposed: int
    row: IntArray
    time: FloatArray  # time since the landmark
    event: NDArray[np.bool_]
    exposed: NDArray[np.bool_]
    test: LogRankTest | None


@dataclass(frozen=True)
class LandmarkAnalysis(TableResult):
    """One :class:`LandmarkGroup` per landmark time."""

    landmarks: tuple[LandmarkGroup, ...]

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "landmark": g.landmark,
                    "n_at_risk": g.n_at_risk,
                    "n_exposed": g.n_exposed,
                    "n_unexposed": g.n_at_risk - g.n_exposed,
                    "events_exposed": int(g.event[g.exposed].sum()),
                    "events_unexposed": int(g.event[~g.exposed].sum()),
                    "chisq": np.nan if g.test is None else g.test.chisq,
                    "p": np.nan if g.test is None else g.test.p_value,
                }
                for g in self.landmarks
            ]
        )


def landmark(
    time: ArrayLike,
    event: ArrayLike,
    exposure_time: ArrayLike,
    landmarks: ArrayLike,
) -> LandmarkAnalysis:
    """Landmark analysis: at each time L, those with time > L, exposed if exposure <= L, followed from L.

    A patient whose event or censoring falls at or before L is not at risk at L and
    leaves the analysis; one exposed after L counts as unexposed (the landmark's rule:
    the groups are fixed at L). The test is the log-rank test of time since L.
    """
    data = survival_data(time, event, fix_times=False)  # the analysis it returns fixes them
    n = len(data.time)
    exposure = _exposure_times(exposure_time, n)
    points = as_float("landmarks", landmarks)
    if (points < 0).any() or not np.isfinite(points).all():
        raise DataError(f"landmarks are {points.tolist()}: each must be a finite time >= 0")
    groups = []
    for point in points:
        keep = data.time > point
        if not keep.any():
            raise DataError(f"landmark {point}: no patient is still at risk then")
        exposed = (exposure[keep] <= point) & ~np.isnan(exposure[keep])
        follow = data.time[keep] - point
        events = data.event[keep]
        test = None
        if exposed.any() and (~exposed).any() and events.any():
            test = logrank(follow, events, exposed)
        groups.append(
            LandmarkGroup(
                float(point),
                int(keep.sum()),
                int(exposed.sum()),
                np.flatnonzero(keep),
                follow,
                events,
                exposed,
                test,
            )
        )
    return LandmarkAnalysis(tuple(groups))
