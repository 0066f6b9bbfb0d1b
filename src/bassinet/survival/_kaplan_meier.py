"""The Kaplan–Meier estimator with Greenwood standard errors, R's confidence limits and quantiles.

References
----------
Kaplan EL, Meier P (1958). Nonparametric estimation from incomplete observations.
    J Am Stat Assoc 53:457-481.
Greenwood M (1926). The natural duration of cancer. Reports on Public Health and
    Medical Subjects 33. HMSO, London.
Borgan Ø, Liestøl K (1990). A note on confidence intervals and bands for the survival
    function based on transformations. Scand J Stat 17:35-41 (the log-log limits).
Nelson W (1972). Theory and applications of hazard plotting for censored failure data.
    Technometrics 14:945-966; Aalen O (1978). Nonparametric inference for a family of
    counting processes. Ann Stat 6:701-726 (the cumulative hazard and its variance).
Brookmeyer R, Crowley J (1982). A confidence interval for the median survival time.
    Biometrics 38:29-41 (quantile limits from the pointwise limits of the curve).

Conventions follow R's ``survival::survfit`` so that the numbers agree with it: the
standard error is Greenwood's, reported for S(t) as ``summary.survfit`` prints it; the
confidence limits are computed on the chosen scale from the standard error of log S
(``survfit_confint``); a quantile is the first time the curve reaches 1 - p, or the
midpoint to the next step where the curve is flat at exactly 1 - p
(``quantile.survfit``). With weights, the counts are weighted and Greenwood's formula
is applied to them, which is what R does for whole-number (frequency) weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

from bassinet.survival._results import Grouped, TableResult
from bassinet.survival._risk_sets import at_risk, tabulate
from bassinet.survival._sorted import Sorted, enabled, sort_rows
from bassinet.survival._validate import (
    FloatArray,
    Survival,
    as_float,
    as_labels,
    check_choice,
    check_conf_level,
    drop_missing,
    required,
    same_length,
    survival_data,
)
from bassinet.survival._validate import timefix as fix_noisy_times

if TYPE_CHECKING:
    import pandas as pd

ConfType = Literal["log-log", "log", "plain", "logit", "arcsin"]
CONF_TYPES: tuple[ConfType, ...] = ("log-log", "log", "plain", "logit", "arcsin")
#: R's tolerance for "the curve is at exactly 1 - p" (sqrt of the machine epsilon).
QUANTILE_TOLERANCE = float(np.sqrt(np.finfo(float).eps))


def confidence_limits(
    surv: FloatArray, se_log: FloatArray, conf_level: float, conf_type: ConfType
) -> tuple[FloatArray, FloatArray]:
    """Pointwise limits for S from the standard error of log S, as R's ``survfit_confint``."""
    z = float(norm.ppf(1 - (1 - conf_level) / 2))
    p = surv
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            half = z * se_log * p
            return np.maximum(p - half, 0.0), np.minimum(p + half, 1.0)
        if conf_type == "log":
            x = np.where(p == 0, np.nan, p)
            return np.exp(np.log(x) - z * se_log), np.minimum(np.exp(np.log(x) + z * se_log), 1.0)
        if conf_type == "log-log":
            x = np.where((p == 0) | (p == 1), np.nan, p)
            half = z * se_log / np.log(x)
            centre = np.log(-np.log(x))
            return np.exp(-np.exp(centre - half)), np.exp(-np.exp(centre + half))
        if conf_type == "logit":
            x = np.where(p == 0, np.nan, p)
            half = z * se_log * (1 + x / (1 - x))
            centre = np.log(p / (1 - p))
            return 1 - 1 / (1 + np.exp(centre - half)), 1 - 1 / (1 + np.exp(centre + half))
        x = np.where(p == 0, np.nan, p)
        half = 0.5 * z * se_log * np.sqrt(x / (1 - x))
        angle = np.arcsin(np.sqrt(x))
        return np.sin(np.maximum(0.0, angle - half)) ** 2, np.sin(np.minimum(np.pi / 2, angle + half)) ** 2


def first_crossing(
    x: FloatArray, y: FloatArray, probs: FloatArray, tol: float = QUANTILE_TOLERANCE
) -> FloatArray:
    """The time at which a step curve ``y`` reaches each of ``probs``, by R's rule.

    Where ``y`` equals p (within ``tol``) over a flat stretch, the answer is the midpoint
    between the start of that stretch and the next step; where the last step is at
    exactly p, the midpoint to the last time. Missing values (NaN) in ``y`` are passed
    over. This is the rule of R's ``survival:::findq``.
    """
    result = np.full(len(probs), np.nan)
    if np.all(np.isnan(y)) or np.nanmax(y) < probs.min():
        return result
    last_time = x[-1]
    # keep the first time at which each distinct value (NaN counting as one) appears
    key = np.where(np.isnan(y), np.inf, y)
    _, first = np.unique(key, return_index=True)
    first.sort()
    xs, ys = x[first], y[first]
    valid = np.flatnonzero(~np.isnan(ys))
    knots = ys[valid]

    # A confidence limit need not be monotone; R's approx() sorts the knots by value, so
    # the answer is the time of the smallest value at or above p, wherever it lies.
    order = np.argsort(knots, kind="stable")

    def step_index(shift: float) -> NDArray[np.float64]:
        grid = knots[order] + shift
        position = np.searchsorted(grid, probs, side="left")
        inside = (probs >= grid[0]) & (position < len(grid))
        found = np.full(len(probs), np.nan)
        found[inside] = valid[order[position[inside]]]
        return found

    lower_index, upper_index = step_index(tol), step_index(-tol)
    both = ~np.isnan(lower_index) & ~np.isnan(upper_index)
    result[both] = (xs[lower_index[both].astype(int)] + xs[upper_index[both].astype(int)]) / 2
    result[probs == 0] = xs[0]
    if not np.isnan(ys[-1]):
        at_last = (np.abs(probs - ys[-1]) < tol) & ~np.isnan(lower_index)
        result[at_last] = (xs[lower_index[at_last].astype(int)] + last_time) / 2
    return result


@dataclass(frozen=True)
class Quantile(TableResult):
    """Survival quantiles: the time by which a fraction ``p`` has had the event, with limits."""

    p: FloatArray
    time: FloatArray
    lower: FloatArray
    upper: FloatArray
    conf_level: float

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame({"p": self.p, "time": self.time, "lower": self.lower, "upper": self.upper})


@dataclass(frozen=True)
class SurvivalAt(TableResult):
    """A Kaplan–Meier curve read at chosen times, as R's ``summary(fit, times=, extend=TRUE)``."""

    time: FloatArray
    n_risk: FloatArray
    n_event: FloatArray
    n_censor: FloatArray
    surv: FloatArray
    std_err: FloatArray
    lower: FloatArray
    upper: FloatArray
    cumhaz: FloatArray
    std_chaz: FloatArray

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame({name: getattr(self, name) for name in self.__dataclass_fields__})


@dataclass(frozen=True)
class KaplanMeier(TableResult):
    """A Kaplan–Meier curve at each distinct exit time.

    Attributes
    ----------
    time, n_risk, n_event, n_censor
        The distinct exit times and the (weighted) numbers at risk, with an event and
        censored at each.
    surv
        The estimate S(t) just after each time.
    std_err
        Greenwood's standard error of S(t) (as R's ``summary.survfit`` prints it); NaN
        where S(t) = 0.
    std_err_log
        The standard error of log S(t) (R's ``fit$std.err``); infinite once S(t) = 0.
    lower, upper
        Pointwise confidence limits at ``conf_level`` on the ``conf_type`` scale,
        computed when first read (a fit used only for its estimates does not pay
        for them at a million distinct times).
    cumhaz, std_chaz
        The Nelson–Aalen cumulative hazard, the sum of d_j / n_j over times t_j <= t,
        and its standard error, the square root of the sum of d_j / n_j^2 (Nelson 1972;
        Aalen 1978): R's ``fit$cumhaz`` and ``fit$std.chaz`` (``ctype = 1``), on
        weighted counts as R computes them.
    n
        The number of rows of the curve, as R's ``survfit(...)$n`` (with late entry and
        with weights too: R counts rows, not weights).
    """

    time: FloatArray
    n_risk: FloatArray
    n_event: FloatArray
    n_censor: FloatArray
    surv: FloatArray
    std_err_log: FloatArray
    conf_level: float
    conf_type: ConfType
    n: float = field(default=0.0)

    @cached_property
    def std_err(self) -> FloatArray:
        with np.errstate(invalid="ignore"):
            product: FloatArray = self.surv * self.std_err_log
        return product

    @cached_property
    def cumhaz(self) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            increment = np.where(self.n_event > 0, self.n_event / self.n_risk, 0.0)
        result: FloatArray = np.cumsum(increment)
        return result

    @cached_property
    def std_chaz(self) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            increment = np.where(self.n_event > 0, self.n_event / self.n_risk**2, 0.0)
        result: FloatArray = np.sqrt(np.cumsum(increment))
        return result

    @cached_property
    def _limits(self) -> tuple[FloatArray, FloatArray]:
        return confidence_limits(self.surv, self.std_err_log, self.conf_level, self.conf_type)

    @property
    def lower(self) -> FloatArray:
        return self._limits[0]

    @property
    def upper(self) -> FloatArray:
        return self._limits[1]

    def before(self, times: FloatArray) -> FloatArray:
        """S(t-), the curve just before each time (1 before the first step)."""
        index = np.searchsorted(self.time, times, side="left")
        result: FloatArray = np.concatenate([[1.0], self.surv])[index]
        return result

    def at(self, times: ArrayLike) -> SurvivalAt:
        """The curve at ``times`` (sorted ascending), as R's ``summary(fit, times=, extend=TRUE)``.

        S, its standard error and limits are those of the last exit time at or before
        each time; before the first, S = 1 with standard error 0 and limits 1 (R puts a
        row at time 0 before the curve, ``survfit0``). The number at risk is the
        one at the first exit time at or after it (0 after the last). Events and
        censorings are counted since the previous requested time.
        """
        query = np.sort(as_float("times", times))
        if np.isnan(query).any():
            raise_missing_times()
        last = np.searchsorted(self.time, query, side="right") - 1
        before_first = last < 0
        safe = np.maximum(last, 0)
        surv = np.where(before_first, 1.0, self.surv[safe])
        se_log = np.where(before_first, 0.0, self.std_err_log[safe])
        # R reads the curve with a row (0, S=1, limits 1) put before it (survfit0)
        lower = np.where(before_first, 1.0, self.lower[safe])
        upper = np.where(before_first, 1.0, self.upper[safe])
        next_index = np.searchsorted(self.time, query, side="left")
        n_risk = np.where(
            next_index < len(self.time), self.n_risk[np.minimum(next_index, len(self.time) - 1)], 0.0
        )
        cumulative_events = np.concatenate(([0.0], np.cumsum(self.n_event)))
        cumulative_censored = np.concatenate(([0.0], np.cumsum(self.n_censor)))
        upto = last + 1
        events = np.diff(np.concatenate(([0.0], cumulative_events[upto])))
        censored = np.diff(np.concatenate(([0.0], cumulative_censored[upto])))
        cumhaz = np.where(before_first, 0.0, self.cumhaz[safe])
        std_chaz = np.where(before_first, 0.0, self.std_chaz[safe])
        with np.errstate(invalid="ignore"):
            std_err = surv * se_log
        return SurvivalAt(query, n_risk, events, censored, surv, std_err, lower, upper, cumhaz, std_chaz)

    def quantile(self, p: ArrayLike) -> Quantile:
        """Times by which a fraction ``p`` has had the event, with limits, as R's ``quantile.survfit``."""
        probs = as_float("p", p)
        outside = (probs < 0) | (probs > 1) | np.isnan(probs)
        if outside.any():
            index = int(np.flatnonzero(outside)[0])
            from bassinet.errors import DataError

            raise DataError(f"p[{index}] is {probs[index]}: a probability lies in [0, 1]")
        x = np.concatenate(([0.0], self.time))
        with np.errstate(invalid="ignore"):
            estimate = first_crossing(x, np.concatenate(([0.0], 1 - self.surv)), probs)
            lower = first_crossing(x, np.concatenate(([0.0], 1 - self.lower)), probs)
            upper = first_crossing(x, np.concatenate(([0.0], 1 - self.upper)), probs)
        return Quantile(probs, estimate, lower, upper, self.conf_level)

    def median(self) -> Quantile:
        """The median survival time with its confidence limits."""
        return self.quantile([0.5])

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        names = [
            "time",
            "n_risk",
            "n_event",
            "n_censor",
            "surv",
            "std_err",
            "lower",
            "upper",
            "cumhaz",
            "std_chaz",
        ]
        return pd.DataFrame({name: getattr(self, name) for name in names})


def raise_missing_times() -> None:
    from bassinet.errors import DataError

    raise DataError("times has a missing value (NaN): ask for the curve at numbers only")


class GroupedKaplanMeier(Grouped[KaplanMeier]):
    """One :class:`KaplanMeier` per group, in the order of the sorted group labels."""


def _curve(
    times: FloatArray,
    n_risk: FloatArray,
    n_event: FloatArray,
    n_censor: FloatArray,
    conf_level: float,
    conf_type: ConfType,
    n: float,
) -> KaplanMeier:
    # The formulas of Kaplan & Meier and Greenwood, written with few temporaries (a
    # million distinct times make each pass over the arrays count): the surviving
    # fraction 1 - d/n where someone is at risk (1 elsewhere), its running product,
    # and the sum of d / (n (n - d)), 0 without deaths, infinite once nobody remains.
    with np.errstate(divide="ignore", invalid="ignore"):
        surv: FloatArray = np.divide(n_event, n_risk)
        empty = n_risk <= 0
        if empty.any():
            surv[empty] = 0.0
        np.subtract(1.0, surv, out=surv)
        np.cumprod(surv, out=surv)
        remaining = n_risk - n_event
        se_log: FloatArray = np.multiply(n_risk, remaining)
        np.divide(n_event, se_log, out=se_log)
        exhausted = remaining <= 0
        if exhausted.any():
            se_log[exhausted] = np.where(n_event[exhausted] == 0, 0.0, np.inf)
        np.cumsum(se_log, out=se_log)
        np.sqrt(se_log, out=se_log)
    return KaplanMeier(times, n_risk, n_event, n_censor, surv, se_log, conf_level, conf_type, n)


def kaplan_meier(
    time: ArrayLike,
    event: ArrayLike,
    *,
    group: ArrayLike | None = None,
    entry: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    conf_level: float = 0.95,
    conf_type: ConfType = "log-log",
    dropna: bool = False,
    timefix: bool = True,
) -> KaplanMeier | GroupedKaplanMeier:
    """Estimate the survival function by Kaplan–Meier (Kaplan & Meier 1958).

    Parameters
    ----------
    time : array_like of float
        Time of exit (event or censoring), >= 0, in any unit (days in the registry).
    event : array_like of bool or {0, 1}
        1 (True) for an event, 0 (False) for a censored time.
    group : array_like, optional
        If given, one curve per distinct group label (a :class:`GroupedKaplanMeier`).
    entry : array_like of float, optional
        Time of entry for late entry (left truncation): a row is at risk on
        (entry, time], as in R's ``Surv(entry, time, event)``.
    weights : array_like of float, optional
        Case weights > 0; counts are weighted (Greenwood on weighted counts, as R does
        for whole-number weights).
    conf_level : float
        Confidence level of the pointwise limits, in (0, 1).
    conf_type : {"log-log", "log", "plain", "logit", "arcsin"}
        Scale of the limits (R's ``conf.type``; R's default is "log").
    dropna : bool
        Remove rows with a missing value instead of refusing them.
    timefix : bool
        Treat times that differ by rounding noise as one time, as R's ``survfit`` does
        by default (see :func:`bassinet.survival._validate.timefix`); ``False`` keeps
        every time as given (R's ``timefix = FALSE``).

    Returns
    -------
    KaplanMeier or GroupedKaplanMeier

    Notes
    -----
    S(t) = prod over event times t_j <= t of (1 - d_j / n_j); Greenwood's variance of
    log S(t) is the sum of d_j / (n_j (n_j - d_j)) (Greenwood 1926).
    """
    check_conf_level(conf_level)
    check_choice("conf_type", conf_type, CONF_TYPES)
    columns, _ = drop_missing(dropna, time=time, event=event, group=group, entry=entry, weights=weights)
    # without late entry and weights, one sort of packed keys serves timefix and the counts
    fast = columns["entry"] is None and columns["weights"] is None and enabled()
    data = survival_data(
        required(columns, "time"),
        required(columns, "event"),
        entry=columns["entry"],
        weights=columns["weights"],
        fix_times=timefix and not fast,
    )
    if fast:
        curve = _fit_fast(data, columns["group"], conf_level, conf_type, timefix)
        if curve is not None:
            return curve
        if timefix:
            data = Survival(fix_noisy_times(data.time)[0], data.event, None, None)
    if columns["group"] is None:
        return _fit(data.time, data.event, data.entry, data.weights, conf_level, conf_type)
    codes, labels = as_labels("group", required(columns, "group"))
    same_length(time=data.time, group=codes)
    curves = {}
    for index, label in enumerate(labels):
        rows = codes == index
        curves[label] = _fit(
            data.time[rows],
            data.event[rows],
            None if data.entry is None else data.entry[rows],
            None if data.weights is None else data.weights[rows],
            conf_level,
            conf_type,
        )
    return GroupedKaplanMeier(curves)


def _fit_fast(
    data: Survival,
    group: NDArray[np.generic] | None,
    conf_level: float,
    conf_type: ConfType,
    fix_times: bool,
) -> KaplanMeier | GroupedKaplanMeier | None:
    """The curves from one sort of (time, group, event) keys; None where the keys do not fit."""
    event = data.event.view(np.uint8)
    if group is None:
        ordered = sort_rows(data.time, event, 2)
        return None if ordered is None else _fit_sorted(ordered, conf_level, conf_type, fix_times)
    codes, labels = as_labels("group", group)
    same_length(time=data.time, group=codes)
    ordered = sort_rows(data.time, codes * 2 + event, 2 * len(labels))
    if ordered is None:
        return None
    if len(labels) == 1:
        return GroupedKaplanMeier({labels[0]: _fit_sorted(ordered, conf_level, conf_type, fix_times)})
    ordered = ordered.fixed(fix_times)  # R fixes the times of all groups together
    of_group = ordered.code >> 1
    return GroupedKaplanMeier(
        {
            label: _fit_sorted(ordered.subset(of_group == index), conf_level, conf_type)
            for index, label in enumerate(labels)
        }
    )


def _fit_sorted(
    ordered: Sorted, conf_level: float, conf_type: ConfType, fix_times: bool = False
) -> KaplanMeier:
    """The curve from rows in time order (events in the low bit of the code), counted by run."""
    n = len(ordered.time)
    times, starts = ordered.runs(fix_times)
    # events up to each row, as exact whole numbers in float64: per time, the
    # difference at the ends of its run of rows
    events = np.empty(n + 1)
    events[0] = 0.0
    np.cumsum(ordered.code & 1, out=events[1:])
    cut = events[starts]
    n_event = np.empty(len(starts))
    n_event[:-1] = cut[1:]
    n_event[-1] = events[n]
    n_event -= cut
    n_risk = np.subtract(n, starts, dtype=np.float64)
    n_exit = np.empty(len(starts))
    n_exit[:-1] = n_risk[:-1] - n_risk[1:]
    n_exit[-1] = n_risk[-1]
    n_exit -= n_event
    return _curve(times, n_risk, n_event, n_exit, conf_level, conf_type, float(n))


def _fit(
    time: FloatArray,
    event: NDArray[np.bool_],
    entry: FloatArray | None,
    weights: FloatArray | None,
    conf_level: float,
    conf_type: ConfType,
) -> KaplanMeier:
    times, counts = tabulate(time, event.astype(np.int64), 2, weights)
    n_censor, n_event = counts[:, 0], counts[:, 1]
    exits = (n_censor + n_event)[:, None]
    n_risk = at_risk(times, exits, entry=entry, weights=weights)[:, 0]
    # R's survfit$n: the rows of the curve, whatever their entry times and weights
    # (the largest risk set, which this used to be, is smaller under late entry).
    return _curve(times, n_risk, n_event, n_censor, conf_level, conf_type, float(len(time)))
