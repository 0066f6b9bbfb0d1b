"""Cumulative incidence of competing risks by Aalen–Johansen, with two variances.

References
----------
Aalen OO, Johansen S (1978). An empirical transition matrix for non-homogeneous Markov
    chains based on censored observations. Scand J Stat 5:141-150.
Gray RJ (1988). A class of K-sample tests for comparing the cumulative incidence of a
    competing risk. Ann Stat 16:1141-1154 (the variance of ``cmprsk::cuminc``).
Efron B (1982). The Jackknife, the Bootstrap and Other Resampling Plans. SIAM
    (the infinitesimal jackknife); Therneau T, Crowson C, Atkinson E (2024),
    "Multi-state models and competing risks", survival package vignette.

With S(t-) the all-cause Kaplan–Meier just before t, n(t) at risk and d_k(t) deaths of
cause k, the cumulative incidence is F_k(t) = sum over s <= t of S(s-) d_k(s) / n(s).

Two variances are offered, named in the result:

``"cuminc"``
    Gray's delta-method variance, as R's ``cmprsk::cuminc`` reports it: it changes only
    at the times of events of the cause itself and is held in between. Not defined
    with late entry.
``"survfit"``
    The infinitesimal-jackknife variance that R's ``survfit`` reports for a multi-state
    fit: the sum over subjects of the squared derivative of F_k(t) with respect to the
    subject's weight. The derivative of subject i splits into a part while i is at risk
    and a part after i's exit, each a linear function of cumulative sums over time, so
    the variance at every time costs O(n log n) overall rather than O(n x times).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

from bassinet.errors import DataError
from bassinet.survival._kaplan_meier import confidence_limits
from bassinet.survival._partial_likelihood import compiled_available
from bassinet.survival._results import Grouped, TableResult
from bassinet.survival._risk_sets import at_risk, sort_rows, tabulate
from bassinet.survival._sorted import Sorted, enabled, split
from bassinet.survival._sorted import sort_rows as packed_rows
from bassinet.survival._validate import (
    FloatArray,
    IntArray,
    as_cause,
    as_float,
    as_labels,
    check_choice,
    check_conf_level,
    check_entry,
    check_times,
    drop_missing,
    required,
    same_length,
)

if TYPE_CHECKING:
    import pandas as pd

VarianceMethod = Literal["cuminc", "survfit"]
LimitScale = Literal["log", "log-log", "plain"]
LIMIT_SCALES: tuple[LimitScale, ...] = ("log", "log-log", "plain")


def _state_limits(
    estimate: FloatArray, variance: FloatArray, conf_level: float, conf_type: LimitScale
) -> tuple[FloatArray, FloatArray]:
    """Limits of a state probability p from its variance, as R's ``survfit_confint(logse=FALSE)``.

    The standard error of log p is se / p (0 where se is 0); on the log scale the limits
    are p exp(-+ z se / p), the upper one at most 1; on the log-log scale
    exp(-exp(log(-log p) -+ z se / (p log p))). Undefined (NaN) where p is 0 (and, for
    log-log, where p is 1), as R gives NA.
    """
    check_choice("conf_type", conf_type, LIMIT_SCALES)
    se = np.sqrt(variance)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_log = np.where(se == 0, 0.0, se / estimate)
    return confidence_limits(estimate, se_log, conf_level, conf_type)


@dataclass(frozen=True)
class IncidenceAt(TableResult):
    """Cumulative incidences read at chosen times (the step function's value at each)."""

    time: FloatArray
    causes: tuple[int, ...]
    estimate: FloatArray
    variance: FloatArray
    conf_level: float
    survival: FloatArray
    survival_variance: FloatArray

    @property
    def std_err(self) -> FloatArray:
        return np.sqrt(self.variance)

    @property
    def survival_std_err(self) -> FloatArray:
        return np.sqrt(self.survival_variance)

    def limits(self, conf_type: LimitScale = "log") -> tuple[FloatArray, FloatArray]:
        """Lower and upper limits of each incidence (by cause), as :meth:`CumulativeIncidence.limits`."""
        return _state_limits(self.estimate, self.variance, self.conf_level, conf_type)

    def survival_limits(self, conf_type: LimitScale = "log") -> tuple[FloatArray, FloatArray]:
        """Lower and upper limits of the probability of no event yet."""
        return _state_limits(self.survival, self.survival_variance, self.conf_level, conf_type)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        rows = []
        z = float(norm.ppf(1 - (1 - self.conf_level) / 2))
        for j, cause in enumerate(self.causes):
            se = np.sqrt(self.variance[:, j])
            rows.append(
                pd.DataFrame(
                    {
                        "cause": cause,
                        "time": self.time,
                        "estimate": self.estimate[:, j],
                        "std_err": se,
                        "lower": np.clip(self.estimate[:, j] - z * se, 0, 1),
                        "upper": np.clip(self.estimate[:, j] + z * se, 0, 1),
                    }
                )
            )
        return pd.concat(rows, ignore_index=True)


@dataclass(frozen=True)
class CumulativeIncidence(TableResult):
    """Aalen–Johansen cumulative incidence of each cause at each distinct exit time.

    ``estimate`` and ``variance`` have one column per cause (in ``causes`` order);
    ``survival`` is the all-cause Kaplan–Meier (probability of no event yet), so that
    ``survival + estimate.sum(axis=1) == 1`` at every time. ``variance_method`` says
    which variance it is: ``"cuminc"`` (cmprsk) or ``"survfit"`` (R's multi-state survfit).
    ``survival_variance`` is the infinitesimal-jackknife variance of ``survival`` (the
    event-free state), whichever ``variance_method``: R's ``fit$std.err[, "(s0)"]``
    squared. :meth:`limits` and :meth:`survival_limits` give log-scale (R's default),
    log-log or plain confidence limits as ``survfit`` gives them.
    """

    time: FloatArray
    causes: tuple[int, ...]
    n_risk: FloatArray
    n_event: FloatArray
    n_censor: FloatArray
    survival: FloatArray
    estimate: FloatArray
    variance: FloatArray
    variance_method: VarianceMethod
    conf_level: float
    survival_variance: FloatArray

    @property
    def std_err(self) -> FloatArray:
        return np.sqrt(self.variance)

    @property
    def survival_std_err(self) -> FloatArray:
        """The standard error of the probability of no event yet (R's ``std.err`` of state ``(s0)``)."""
        return np.sqrt(self.survival_variance)

    def limits(self, conf_type: LimitScale = "log") -> tuple[FloatArray, FloatArray]:
        """Pointwise confidence limits of each incidence at ``conf_level`` (columns by cause).

        ``"log"`` is R's default for a multi-state ``survfit``, ``"log-log"`` its
        ``conf.type = "log-log"``; ``"plain"`` is estimate -+ z se cut to [0, 1]. The
        limits use the variance of ``variance_method``: with ``"survfit"`` they are
        ``fit$lower`` and ``fit$upper`` of R. NaN where R gives NA (an incidence of 0).
        """
        return _state_limits(self.estimate, self.variance, self.conf_level, conf_type)

    def survival_limits(self, conf_type: LimitScale = "log") -> tuple[FloatArray, FloatArray]:
        """Pointwise limits of the probability of no event yet, as R's for state ``(s0)``."""
        return _state_limits(self.survival, self.survival_variance, self.conf_level, conf_type)

    def at(self, times: ArrayLike) -> IncidenceAt:
        """The estimates and variances at ``times``: their values at the last exit time at or before each."""
        query = as_float("times", times)
        if np.isnan(query).any():
            raise DataError("times has a missing value (NaN): ask for the incidence at numbers only")
        last = np.searchsorted(self.time, query, side="right") - 1
        before = (last < 0)[:, None]
        safe = np.maximum(last, 0)
        estimate = np.where(before, 0.0, self.estimate[safe])
        variance = np.where(before, 0.0, self.variance[safe])
        flat = before[:, 0]
        survival = np.where(flat, 1.0, self.survival[safe])
        survival_variance = np.where(flat, 0.0, self.survival_variance[safe])
        return IncidenceAt(
            query, self.causes, estimate, variance, self.conf_level, survival, survival_variance
        )

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        frame = pd.DataFrame(
            {"time": self.time, "n_risk": self.n_risk, "n_censor": self.n_censor, "survival": self.survival}
        )
        for j, cause in enumerate(self.causes):
            frame[f"n_event_{cause}"] = self.n_event[:, j]
            frame[f"incidence_{cause}"] = self.estimate[:, j]
            frame[f"std_err_{cause}"] = np.sqrt(self.variance[:, j])
        return frame


class GroupedCumulativeIncidence(Grouped[CumulativeIncidence]):
    """One :class:`CumulativeIncidence` per group, in the order of the sorted group labels."""


def compiled_kernels(n_rows: int) -> ModuleType | None:
    """The module of fused loops if they are used for ``n_rows`` rows, else None.

    As for the Cox fit: from ``BASSINET_JIT_MIN_ROWS`` rows (20,000 by default), with Numba
    installed and BASSINET_NO_JIT unset; Numba is not imported for smaller data.
    """
    if not compiled_available(n_rows):
        return None
    from bassinet.survival import _incidence_kernels

    return _incidence_kernels if _incidence_kernels.available() else None


def _gray_variance(
    n: FloatArray, d: FloatArray, d_k: FloatArray, s_left: FloatArray, s: FloatArray, f: FloatArray
) -> FloatArray:
    """Gray's (1988) delta-method variance of one cause's incidence, held between its events.

    The masks of the formulas (deaths of other causes only count where someone survives
    the time; the tie correction only where deaths are tied) are applied only where they
    can change a value: a term with no deaths is 0 wherever its other factors are finite.
    """
    other = d - d_k
    with np.errstate(divide="ignore", invalid="ignore"):
        survivors = s > 0
        everywhere = bool(survivors.all()) and bool((n > 0).all())
        inv_s = 1 / s if everywhere else np.where(survivors, 1 / s, 0.0)
        base = s_left**2 / n**2
        # terms from deaths of other causes (only where someone survives the time)
        w_other = base * _tie_shrink(other, n) * other
        if not everywhere:
            w_other = np.where((other > 0) & survivors, w_other, 0.0)
        t4_other = f * inv_s
        # terms from deaths of the cause itself
        use_own = d_k > 0
        w_own = base * _tie_shrink(d_k, n) * d_k
        if not everywhere:
            w_own = np.where(use_own, w_own, 0.0)
        t4_own = 1 + t4_other
        w_other_t4 = w_other * t4_other
        w_own_t4 = w_own * t4_own
    v1 = np.cumsum(w_other_t4 * t4_other + w_own_t4 * t4_own)
    v2 = np.cumsum((w_other_t4 + w_own_t4) * inv_s)
    v3 = np.cumsum((w_other + w_own) * inv_s**2)
    at_events = v1 + f**2 * v3 - 2 * f * v2
    held = np.where(use_own, np.arange(len(n)), -1)
    held = np.maximum.accumulate(held)
    return np.where(held >= 0, at_events[np.maximum(held, 0)], 0.0)


def _tie_shrink(deaths: FloatArray, n: FloatArray) -> FloatArray:
    """1 - (d - 1) / (n - 1) where d > 1 (tied deaths), 1 elsewhere; computed at the tied times only."""
    result = np.ones(len(deaths))
    tied = np.flatnonzero(deaths > 1)
    if len(tied):
        result[tied] = 1 - (deaths[tied] - 1) / (n[tied] - 1)
    return result


def _jackknife_variance(
    times: FloatArray,
    n: FloatArray,
    d: FloatArray,
    d_k: FloatArray,
    s_left: FloatArray,
    exit_index: IntArray,
    cause_of_row: NDArray[np.integer],
    k: int,
    any_event: NDArray[np.bool_],
    entry_index: IntArray | None,
) -> FloatArray:
    """The infinitesimal-jackknife variance of one cause's incidence at every time.

    For subject i, the derivative of F_k(t_m) with respect to its weight is, while i is
    at risk, G_m - gamma_i B_m + delta_i, and after its exit alpha_i + beta_i B_m, where
    B, G are cumulative sums over time and alpha..delta constants of the subject.
    """
    m = len(times)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_nd = np.where(n > d, 1 / (n - d), 0.0)
        a = np.where(d > 0, d * inv_nd / n, 0.0)
        b = np.where(n > 0, s_left * d_k / n, 0.0)
        c = np.where(n > 0, b / n, 0.0)
    a_cum = np.cumsum(a)
    a_before = np.concatenate(([0.0], a_cum[:-1]))
    big_b, big_c = np.cumsum(b), np.cumsum(c)
    big_d = np.cumsum(b * a_before)
    g = big_d - big_c

    if entry_index is None:
        gamma = np.zeros(len(exit_index))
        delta = np.zeros(len(exit_index))
        start = np.zeros(len(exit_index), dtype=np.int64)
    else:
        start = entry_index
        prior = start - 1

        def upto(cumulative: FloatArray) -> FloatArray:
            return np.where(prior >= 0, cumulative[np.maximum(prior, 0)], 0.0)

        gamma = upto(a_cum)
        delta = -upto(big_d) + gamma * upto(big_b) + upto(big_c)

    j = exit_index
    own = (cause_of_row == k).astype(float)
    at_exit = g[j] - gamma * big_b[j] + delta + s_left[j] * own / n[j]
    beta = a_cum[j] - gamma - any_event * inv_nd[j]
    alpha = at_exit - beta * big_b[j]

    def by_time(index: IntArray, values: FloatArray) -> FloatArray:
        return np.cumsum(np.bincount(index, weights=values, minlength=m))

    done = by_time(j, alpha**2) + 2 * big_b * by_time(j, alpha * beta) + big_b**2 * by_time(j, beta**2)
    ones = np.ones(len(j))

    def active(values: FloatArray) -> FloatArray:
        return by_time(start, values) - by_time(j, values)

    if entry_index is None:
        # every subject is at risk from the start: gamma and delta are 0, and so are
        # their sums below; only the count of those still at risk remains
        at_risk_after: FloatArray = np.maximum(done + (len(j) - by_time(j, ones)) * g**2, 0.0)
        return at_risk_after
    count, s_gamma, s_delta = active(ones), active(gamma), active(delta)
    s_gamma2, s_delta2, s_gd = active(gamma**2), active(delta**2), active(gamma * delta)
    running = (
        count * g**2
        + s_gamma2 * big_b**2
        + s_delta2
        - 2 * g * big_b * s_gamma
        + 2 * g * s_delta
        - 2 * big_b * s_gd
    )
    variance: FloatArray = np.maximum(done + running, 0.0)
    return variance


def _fit(
    time: FloatArray,
    cause: IntArray,
    causes: tuple[int, ...],
    entry: FloatArray | None,
    method: VarianceMethod,
    conf_level: float,
) -> CumulativeIncidence:
    index_of = {c: i + 1 for i, c in enumerate(causes)}
    code = np.zeros(len(cause), dtype=np.int64)
    for c, i in index_of.items():
        code[cause == c] = i
    times, counts = tabulate(time, code, len(causes) + 1)
    exit_index = np.searchsorted(times, time)
    return _estimate(times, counts, exit_index, code, entry, causes, method, conf_level)


def _fit_sorted(
    ordered: Sorted, causes: tuple[int, ...], method: VarianceMethod, conf_level: float
) -> CumulativeIncidence:
    """:func:`_fit` of rows in time order (codes 0 censored, i + 1 the i-th cause), counted by run."""
    times, counts, exit_index = ordered.table(len(causes) + 1)
    return _estimate(times, counts, exit_index, ordered.code, None, causes, method, conf_level)


def _estimate(
    times: FloatArray,
    counts: FloatArray,
    exit_index: NDArray[np.intp],
    code: NDArray[np.integer],
    entry: FloatArray | None,
    causes: tuple[int, ...],
    method: VarianceMethod,
    conf_level: float,
) -> CumulativeIncidence:
    """The estimates and variances from the counts by time and code, and each row's exit time and code.

    Without late entry, from ``BASSINET_JIT_MIN_ROWS`` rows and with Numba, the fused loops
    of ``_incidence_kernels.py`` compute the same numbers in one pass over the times.
    """
    n_censor, n_event = counts[:, 0], counts[:, 1:]
    kernels = None if entry is not None else compiled_kernels(len(code))
    if kernels is not None:
        # one pass over the times: at risk, all-cause survival, incidences and both variances
        n_fused, s_fused, f_fused, v_fused, sv_fused = kernels.incidence(
            np.ascontiguousarray(counts, dtype=np.float64), method == "cuminc"
        )
        return CumulativeIncidence(
            times, causes, n_fused, n_event, n_censor, s_fused, f_fused, v_fused, method, conf_level, sv_fused
        )
    exits = counts.sum(axis=1)
    n = at_risk(times, exits[:, None], entry=entry)[:, 0]
    d = n_event.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s: FloatArray = np.cumprod(np.where(n > 0, 1 - d / n, 1.0)).astype(np.float64, copy=False)
        s_left = np.concatenate(([1.0], s[:-1]))
        estimate = np.cumsum(np.where(n[:, None] > 0, s_left[:, None] * n_event / n[:, None], 0.0), axis=0)
    variance = np.zeros_like(estimate)
    entry_index = None if entry is None else np.searchsorted(times, entry, side="right")
    if method == "cuminc":
        for j in range(len(causes)):
            variance[:, j] = _gray_variance(n, d, n_event[:, j], s_left, s, estimate[:, j])
    else:
        for j in range(len(causes)):
            variance[:, j] = _jackknife_variance(
                times, n, d, n_event[:, j], s_left, exit_index, code, j + 1, code > 0, entry_index
            )
    # The event-free state is 1 minus the incidence of any cause: the same derivative, negated.
    any_cause = (code > 0).astype(np.int64)
    survival_variance = _jackknife_variance(
        times, n, d, d, s_left, exit_index, any_cause, 1, code > 0, entry_index
    )
    # Once all at risk have failed, S is 0 whatever the weights: its derivative is exactly 0
    # (the sums above would leave rounding noise of about 1e-16).
    survival_variance[s == 0] = 0.0
    return CumulativeIncidence(
        times, causes, n, n_event, n_censor, s, estimate, variance, method, conf_level, survival_variance
    )


def cumulative_incidence(
    time: ArrayLike,
    cause: ArrayLike,
    *,
    group: ArrayLike | None = None,
    entry: ArrayLike | None = None,
    variance: VarianceMethod | None = None,
    conf_level: float = 0.95,
    dropna: bool = False,
) -> CumulativeIncidence | GroupedCumulativeIncidence:
    """Estimate the cumulative incidence of each competing cause (Aalen & Johansen 1978).

    Parameters
    ----------
    time : array_like of float
        Time of the first event or of censoring, >= 0.
    cause : array_like of int
        0 for censored, 1, 2, ... for the cause of the event.
    group : array_like, optional
        If given, one estimate per group (a :class:`GroupedCumulativeIncidence`).
    entry : array_like of float, optional
        Entry times for late entry; risk sets are (entry, time].
    variance : {"cuminc", "survfit"}, optional
        Gray's variance as ``cmprsk::cuminc`` gives it (the default without late entry),
        or the infinitesimal-jackknife variance of R's multi-state ``survfit`` (the
        default, and the only one, with late entry).
    conf_level : float
        Level of the limits in ``to_frame()`` of :meth:`CumulativeIncidence.at`.
    dropna : bool
        Remove rows with a missing value instead of refusing them.

    Notes
    -----
    Events of different causes at the same time are handled exactly, not broken at
    random: each cause's incidence takes its own deaths at that time against the same
    S(t-) and n(t), so the result does not depend on a seed or on row order.
    """
    check_conf_level(conf_level)
    if variance is not None:
        check_choice("variance", variance, ("cuminc", "survfit"))
    columns, _ = drop_missing(dropna, time=time, cause=cause, group=group, entry=entry)
    t = as_float("time", required(columns, "time"))
    k = as_cause("cause", required(columns, "cause"))
    e = None if columns["entry"] is None else as_float("entry", columns["entry"])
    same_length(time=t, cause=k, entry=e)
    check_times("time", t)
    if e is not None:
        check_entry(e, t)
        if variance == "cuminc":
            raise DataError("variance 'cuminc' (cmprsk) is not defined with late entry: use 'survfit'")
    method: VarianceMethod = variance or ("survfit" if e is not None else "cuminc")
    causes = tuple(int(c) for c in np.unique(k[k > 0]))
    if not causes:
        raise DataError("cause has no event (every value is 0, censored): there is no incidence to estimate")
    fast = e is None and enabled()
    if columns["group"] is None:
        if fast:
            ordered = packed_rows(t, np.searchsorted(np.array((0, *causes)), k), len(causes) + 1)
            if ordered is not None:
                return _fit_sorted(ordered, causes, method, conf_level)
        return _fit(t, k, causes, e, method, conf_level)
    codes, labels = as_labels("group", required(columns, "group"))
    same_length(time=t, group=codes)
    if fast:
        # one sort of packed (time, group, cause) keys for every group
        n_kinds = len(causes) + 1
        kind = np.searchsorted(np.array((0, *causes)), k)
        ordered = packed_rows(t, codes * n_kinds + kind, len(labels) * n_kinds)
        if ordered is not None:
            parts = split(ordered, n_kinds, len(labels))
            return GroupedCumulativeIncidence(
                {
                    label: _fit_sorted(part, causes, method, conf_level)
                    for label, part in zip(labels, parts, strict=True)
                }
            )
    t, k, e, codes = sort_rows(t, k, e, codes)  # type: ignore[assignment]
    curves = {}
    for index, label in enumerate(labels):
        rows = codes == index
        curves[label] = _fit(t[rows], k[rows], causes, None if e is None else e[rows], method, conf_level)
    return GroupedCumulativeIncidence(curves)
