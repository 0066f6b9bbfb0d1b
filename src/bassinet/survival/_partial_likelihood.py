"""The Cox partial likelihood, its score and information, over risk sets as index ranges.

This is the engine under :func:`bassinet.survival.coxph`; it checks nothing (the gate
in ``_cox.py`` does) and knows no names.

Risk sets as ranges
-------------------
Sort the distinct death times by (stratum, time) and number them 0..K-1. Row i of
(start, stop] data in stratum s is at risk at death time t when s is its stratum and
start < t <= stop; in that numbering these death times are one contiguous range
``[lo[i], hi[i])``, found by two binary searches. Right-censored data are the case
start = -inf. Strata, late entry, counting-process rows and time-varying covariates
all reduce to this one form; each Newton step costs O(n p^2) after one O(n log n) sort
(O(n p^2 log K) with late entry).

Sums without cancellation
-------------------------
Every sum over a risk set (S0, S1) and every sum over the death times a row is at risk
at is built from additions of the terms themselves, never as the difference of two
running totals. Right-censored risk sets are nested: the sums are accumulated
backwards in time within each stratum, as ``survival``'s ``coxfit6.c`` does. (start,
stop] risk sets are not nested; they are summed over a binary tree of the death times
(:func:`range_sum`, :func:`over_range`): each range is at most 2 log2 K tree nodes, so
each sum is a sum of its own terms in another order, with relative error at most
about (n_k + 2 log2 K) eps for positive terms. A running total that adds a row at
entry and subtracts it at exit would leave an error of one ulp of the largest total
reached earlier: at a coefficient of 20, risks of 1e6 beside 1e-3, enough to turn the
score's sign and the information negative.

The information is the weighted covariance of x over each risk set, formed as
sum_k c_k S2_k - sum_k c_k S1_k S1_k' / S0_k with x centred on its mean: both terms are
sums of positive semi-definite pieces computed without cancellation, so their
difference is within eps times sum_k c_k S2_k of the exact one (the centring keeps
that small), which is what ``coxfit6.c`` computes too.

Ties
----
Breslow (1974) treats the d deaths at a time as if each saw the whole risk set. Efron
(1977) removes, for the l-th of them (l = 0..d-1), the fraction l/d of the deaths'
risk. With case weights both follow Therneau & Grambsch (2000), section 3.3, as
``survival``'s ``coxfit6.c`` and ``agfit4.c`` do: the l-th term is weighted by the mean
weight of the tied deaths, and the removed risk is the deaths' weighted risk.
Breslow is Efron with every fraction l/d set to 0, which is how it is computed here.

For the death rows j of death time k (tie ordinal l, fraction f = l/d):

    den_j = S0_k - f D0_k,         num_j = S1_k - f D1_k,      m_k = (sum w over deaths)/d
    loglik = sum_deaths w eta - sum_j m_k log den_j
    score  = sum_deaths w x   - sum_j m_k num_j / den_j
    info   = sum_j m_k [(S2_k - f D2_k) / den_j - num_j num_j' / den_j^2]

where S are sums over the risk set and D over the deaths at k of w exp(eta) (times x,
x x'). The p x p sums S2 are never formed: sum_k c_k S2_k = X' diag(w r C) X, with C
the sum of c over the death times a row is at risk at.

References
----------
Cox DR (1972). Regression models and life-tables. J R Stat Soc B 34:187-220.
Breslow NE (1974). Covariance analysis of censored survival data. Biometrics 30:89-99.
Efron B (1977). The efficiency of Cox's likelihood function for censored data.
    J Am Stat Assoc 72:557-565.
Andersen PK, Gill RD (1982). Cox's regression model for counting processes.
    Ann Stat 10:1100-1120.
Therneau TM, Grambsch PM (2000). Modeling Survival Data. Springer.
Higham NJ (2002). Accuracy and Stability of Numerical Algorithms, 2nd ed. SIAM (ch. 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def safe_shift(eta: FloatArray) -> float:
    """A constant to take from eta before exp(): zero unless exp would overflow.

    Scaling every risk by one constant leaves the partial likelihood unchanged (the d
    deaths' mean weights sum to their total weight). Shifting only above 300 keeps the
    smallest risks of the last risk sets from underflowing to zero, which a shift by
    the maximum would do once a coefficient runs off (monotone likelihood).
    """
    top = float(eta.max()) if eta.size else 0.0
    return top - 300.0 if top > 300.0 else 0.0


def _bincount(index: IntArray, weights: FloatArray, size: int) -> FloatArray:
    """Sums of ``weights`` per ``index`` value, as floats of length ``size``."""
    return np.asarray(np.bincount(index, weights=weights, minlength=size), dtype=np.float64)


#: Up to this many strata, nested risk sets are summed by one cumulative sum per stratum;
#: beyond it (one subject per stratum, say) a Python loop over strata would cost more
#: than the summation tree, which is used instead.
SEGMENT_LOOP_MAX = 64


def _as_columns(values: FloatArray) -> FloatArray:
    return values.reshape(values.shape[0], -1)


def _scatter(node: FloatArray, index: IntArray, values: FloatArray) -> None:
    """``node[index[j]] += values[j]`` (rows of a 2-D ``node``), by one ``np.bincount``."""
    if index.size == 0:
        return
    p = node.shape[1]
    flat = (index[:, None] * p + np.arange(p)).ravel()
    node += np.bincount(flat, weights=values.ravel(), minlength=node.size).reshape(node.shape)


def _tree_width(size: int) -> int:
    width = 1
    while width < size:
        width *= 2
    return width


def _tree_point_sums(lo: IntArray, hi: IntArray, values: FloatArray, size: int) -> FloatArray:
    """For each k < size, the sum of ``values[i]`` over rows with lo[i] <= k < hi[i], by a tree.

    The death times are the leaves of a complete binary tree. Each row's range
    [lo, hi) is the union of at most 2 log2(size) aligned blocks (tree nodes), and the
    row's value is added to those nodes; the sum at a leaf is then the sum of its
    ancestors' totals, pushed down level by level. Every operation is an addition of
    the row values themselves: nothing is ever subtracted, so with values >= 0 (risks)
    the relative error of each sum is at most about (n_k + 2 log2 size) eps, n_k the
    rows at risk, whatever the rows that left before (Higham 2002, section 4.2).
    """
    vals = _as_columns(values)
    width = _tree_width(max(size, 1))
    node = np.zeros((2 * width, vals.shape[1]))
    left, right = lo + width, hi + width
    keep = np.flatnonzero(left < right)
    left, right, vals = left[keep], right[keep], vals[keep]
    while left.size:
        odd = (left & 1) == 1
        _scatter(node, left[odd], vals[odd])
        left = left + odd
        odd = (right & 1) == 1
        right = right - odd
        _scatter(node, right[odd], vals[odd])
        left, right = left >> 1, right >> 1
        keep = np.flatnonzero(left < right)
        left, right, vals = left[keep], right[keep], vals[keep]
    level = 1
    while level < width:
        node[2 * level : 4 * level] += np.repeat(node[level : 2 * level], 2, axis=0)
        level *= 2
    out = node[width : width + size]
    return out.reshape(size, *values.shape[1:])


def _tree_range_sums(per_time: FloatArray, lo: IntArray, hi: IntArray) -> FloatArray:
    """For each row, the sum of ``per_time[k]`` over lo <= k < hi, by a tree of partial sums.

    The dual of :func:`_tree_point_sums`: the tree holds pairwise sums of the values
    (built upwards, additions only) and each range adds its at most 2 log2 K blocks.
    """
    vals = _as_columns(per_time)
    size = vals.shape[0]
    width = _tree_width(max(size, 1))
    node = np.zeros((2 * width, vals.shape[1]))
    node[width : width + size] = vals
    level = width // 2
    while level >= 1:
        node[level : 2 * level] = node[2 * level : 4 * level : 2] + node[2 * level + 1 : 4 * level : 2]
        level //= 2
    out = np.zeros((lo.shape[0], vals.shape[1]))
    left, right = lo + width, hi + width
    rows = np.flatnonzero(left < right)
    left, right = left[rows], right[rows]
    while rows.size:
        odd = (left & 1) == 1
        out[rows[odd]] += node[left[odd]]
        left = left + odd
        odd = (right & 1) == 1
        right = right - odd
        out[rows[odd]] += node[right[odd]]
        left, right = left >> 1, right >> 1
        keep = np.flatnonzero(left < right)
        rows, left, right = rows[keep], left[keep], right[keep]
    return out.reshape(lo.shape[0], *per_time.shape[1:])


def range_sum(
    lo: IntArray, hi: IntArray, values: FloatArray, size: int, segments: IntArray | None = None
) -> FloatArray:
    """For each k < size, the sum of ``values[i]`` over rows with lo[i] <= k < hi[i].

    With ``segments`` (the first death time of each stratum, ascending), every row's
    ``lo`` is the first death time of its stratum (right-censored data: the risk sets
    are nested). The sums are then accumulated backwards in time within each stratum,
    as ``survival``'s ``coxfit6.c`` does: a row joins at its last death time and stays,
    so nothing is ever subtracted. Without ``segments`` ((start, stop] rows: a row
    leaves the risk set while later rows join) the sums come from the summation tree
    of :func:`_tree_point_sums`, whose error is bounded in the same way. A running
    total that adds a row at entry and subtracts it at exit would not be: its error is
    an ulp of the largest total reached before, which at a large coefficient is many
    orders above the risk sets left after those rows die.
    """
    if segments is None or len(segments) > SEGMENT_LOOP_MAX:
        return _tree_point_sums(lo, hi, values, size)
    vals = _as_columns(values)
    bins = np.zeros((size + 1, vals.shape[1]))
    last = np.where(hi > lo, hi - 1, size)
    _scatter(bins, last, vals)
    out = bins[:size]
    bounds = [*segments.tolist(), size]
    for a, b in pairwise(bounds):
        out[a:b] = np.cumsum(out[a:b][::-1], axis=0)[::-1]
    return out.reshape(size, *values.shape[1:])


def over_range(
    per_time: FloatArray, lo: IntArray, hi: IntArray, segments: IntArray | None = None
) -> FloatArray:
    """For each row, the sum of a per-death-time quantity over its range [lo, hi).

    With nested risk sets (``segments``, as in :func:`range_sum`) it is a cumulative
    sum within the row's stratum read at hi - 1; otherwise the tree of
    :func:`_tree_range_sums`. Neither subtracts one cumulative sum from another.
    """
    if segments is None or len(segments) > SEGMENT_LOOP_MAX:
        return _tree_range_sums(per_time, lo, hi)
    size = per_time.shape[0]
    cum = np.zeros((size + 1, *per_time.shape[1:]))
    bounds = [*segments.tolist(), size]
    for a, b in pairwise(bounds):
        np.cumsum(per_time[a:b], axis=0, out=cum[a:b])
    out: FloatArray = cum[np.where(hi > lo, hi - 1, size)]
    return out


@dataclass(frozen=True)
class RiskSets:
    """Death times, tie structure and each row's range of death times at which it is at risk."""

    n_times: int
    time: FloatArray  # the K death times
    stratum: IntArray  # the stratum of each death time
    lo: IntArray  # per row: first death time at risk
    hi: IntArray  # per row: one past the last
    death_rows: IntArray  # the rows that are deaths, ordered by death time
    death_time: IntArray  # per death row: its death time index k
    fraction: FloatArray  # per death row: Efron's l/d (zero for Breslow)
    n_deaths: FloatArray  # per death time: d
    # first death time of each stratum when every row's range starts there (no late entry)
    segments: IntArray | None = None

    def sums(self, values: FloatArray) -> FloatArray:
        """Per death time, the sum of per-row ``values`` over its risk set (:func:`range_sum`)."""
        return range_sum(self.lo, self.hi, values, self.n_times, self.segments)

    def over(self, per_time: FloatArray) -> FloatArray:
        """Per row, the sum of a per-death-time quantity over the times it is at risk."""
        return over_range(per_time, self.lo, self.hi, self.segments)

    @classmethod
    def build(
        cls,
        start: FloatArray | None,
        stop: FloatArray,
        event: NDArray[np.bool_],
        stratum: IntArray,
        *,
        efron: bool,
    ) -> RiskSets:
        deaths = np.flatnonzero(event)
        order = np.lexsort((stop[deaths], stratum[deaths]))
        death_rows = deaths[order]
        d_stop, d_stratum = stop[death_rows], stratum[death_rows]
        new = np.ones(len(death_rows), dtype=bool)
        new[1:] = (d_stop[1:] != d_stop[:-1]) | (d_stratum[1:] != d_stratum[:-1])
        death_time = (np.cumsum(new) - 1).astype(np.int64)
        firsts = np.flatnonzero(new)
        n_times = len(firsts)
        times, strata = d_stop[firsts], d_stratum[firsts]
        counts = np.diff(np.append(firsts, len(death_rows))).astype(np.float64)
        if efron:
            ordinal = np.arange(len(death_rows)) - firsts[death_time]
            fraction = ordinal / counts[death_time]
        else:
            fraction = np.zeros(len(death_rows))

        # Rank every time on one grid, then search (stratum, rank) keys: floats need no
        # sentinel and strata cannot leak into each other.
        grid = np.unique(stop if start is None else np.concatenate([stop, start]))
        width = len(grid) + 1
        time_keys = strata.astype(np.int64) * width + np.searchsorted(grid, times)
        stop_keys = stratum.astype(np.int64) * width + np.searchsorted(grid, stop)
        hi = np.searchsorted(time_keys, stop_keys, side="right").astype(np.int64)
        if start is None:
            lo = np.searchsorted(time_keys, stratum.astype(np.int64) * width, side="left")
        else:
            start_keys = stratum.astype(np.int64) * width + np.searchsorted(grid, start)
            lo = np.searchsorted(time_keys, start_keys, side="right")
        lo = np.minimum(lo.astype(np.int64), hi)
        segments = None
        if start is None:
            first = np.ones(n_times, dtype=bool)
            first[1:] = strata[1:] != strata[:-1]
            segments = np.flatnonzero(first).astype(np.int64)
        return cls(n_times, times, strata, lo, hi, death_rows, death_time, fraction, counts, segments)


@dataclass(frozen=True)
class Evaluation:
    """The log partial likelihood at beta, with its score and information (if asked)."""

    loglik: float
    score: FloatArray
    information: FloatArray
    risk: FloatArray  # w exp(eta) per row
    s0: FloatArray  # per death time
    s1: FloatArray
    den: FloatArray  # per death row
    num: FloatArray
    mean_weight: FloatArray  # per death time
    shift: float  # risks are w exp(eta - shift)


class PartialLikelihood:
    """The Cox partial likelihood of given data, evaluated at any beta."""

    def __init__(
        self,
        sets: RiskSets,
        x: FloatArray,
        weights: FloatArray,
        offset: FloatArray,
    ) -> None:
        self.sets = sets
        self.x = x
        self.weights = weights
        self.offset = offset
        rows = sets.death_rows
        self.death_weight = weights[rows]
        dead_weight = _bincount(sets.death_time, self.death_weight, sets.n_times)
        self.mean_weight = dead_weight / sets.n_deaths
        self.score_fixed = self.death_weight @ x[rows]

    def evaluate(self, beta: FloatArray, *, information: bool = True) -> Evaluation:
        sets, x = self.sets, self.x
        eta = x @ beta + self.offset
        shift = safe_shift(eta)
        risk = self.weights * np.exp(eta - shift)
        rows, k = sets.death_rows, sets.death_time
        s0 = sets.sums(risk)
        weighted_x = x * risk[:, None]
        s1 = sets.sums(weighted_x)
        d0 = _bincount(k, risk[rows], sets.n_times)
        d1 = np.zeros_like(s1)
        _group_sum(d1, k, weighted_x[rows])
        f = sets.fraction
        den = s0[k] - f * d0[k]
        num = s1[k] - f[:, None] * d1[k]
        m = self.mean_weight[k]
        loglik = float(self.death_weight @ (eta[rows] - shift) - m @ np.log(den))
        score = self.score_fixed - (m / den) @ num
        info = np.zeros((x.shape[1], x.shape[1]))
        if information:
            c = _bincount(k, m / den, sets.n_times)
            e = _bincount(k, m * f / den, sets.n_times)
            g = risk * sets.over(c)
            g[rows] -= risk[rows] * e[k]
            info = (x * g[:, None]).T @ x - (num * (m / den**2)[:, None]).T @ num
        return Evaluation(loglik, score, info, risk, s0, s1, den, num, self.mean_weight, shift)

    def hazard_increments(self, ev: Evaluation) -> FloatArray:
        """Per death time: the baseline hazard jump sum_l m / den_l, at eta = 0."""
        k = self.sets.death_time
        h = ev.mean_weight[k] / ev.den * np.exp(-ev.shift)
        return _bincount(k, h, self.sets.n_times)

    def score_residuals(self, ev: Evaluation) -> FloatArray:
        """Per row, its score residual (summing w times them over rows gives the score).

        A row at risk at death time k and not dying there owes r (x - xbar_l) h_l for each
        tie step l, with h_l = m / den_l; a death at k gains x - mean_l xbar_l and owes
        only (1 - l/d) of its risk at step l, as Efron's approximation removes it. This
        is ``residuals(fit, type = "score")`` of ``survival``.
        """
        sets, x = self.sets, self.x
        k, rows, f = sets.death_time, sets.death_rows, sets.fraction
        risk = ev.risk / self.weights
        h = ev.mean_weight[k] / ev.den
        xbar = ev.num / ev.den[:, None]
        hazard = _bincount(k, h, sets.n_times)
        hazard_x = np.zeros((sets.n_times, x.shape[1]))
        _group_sum(hazard_x, k, xbar * h[:, None])
        cum_h = sets.over(hazard)
        cum_hx = sets.over(hazard_x)
        resid = -risk[:, None] * (x * cum_h[:, None] - cum_hx)
        # the deaths: their own time counts only (1 - f) of each step; add back f h.
        partial_h = _bincount(k, f * h, sets.n_times)
        partial_hx = np.zeros_like(hazard_x)
        _group_sum(partial_hx, k, xbar * (f * h)[:, None])
        mean_xbar = np.zeros_like(hazard_x)
        _group_sum(mean_xbar, k, xbar)
        mean_xbar /= sets.n_deaths[:, None]
        resid[rows] += x[rows] - mean_xbar[k]
        resid[rows] += risk[rows, None] * (x[rows] * partial_h[k, None] - partial_hx[k])
        return resid


def _group_sum(out: FloatArray, index: IntArray, values: FloatArray) -> None:
    """``out[index[j]] += values[j]`` for every j, a column at a time with ``np.bincount``."""
    for column in range(values.shape[1]):
        out[:, column] += np.bincount(index, weights=values[:, column], minlength=out.shape[0])


def exact_score_at_zero(sets: RiskSets, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Score and information at beta = 0 of the exact partial likelihood (unit weights).

    At beta = 0 the d deaths at a time are a sample without replacement from the Y at
    risk, so the score is sum(x of the deaths) - d xbar and the information is the
    hypergeometric d (Y - d) / (Y - 1) times the risk set's population covariance
    (Cox 1972; Kalbfleisch & Prentice 2002, section 4.2.3). With one binary covariate
    this is the Mantel–Haenszel statistic over the risk sets: the log-rank test, and
    with a time-varying covariate, the Mantel–Byar test.
    """
    ones = np.ones(x.shape[0])
    y = sets.sums(ones)
    s1 = sets.sums(x)
    d = sets.n_deaths
    xbar = s1 / y[:, None]
    score = x[sets.death_rows].sum(axis=0) - d @ xbar
    factor = np.where(y > 1, d * (y - d) / np.maximum(y - 1.0, 1.0), 0.0).astype(np.float64)
    c = factor / y
    g = sets.over(c)
    info = (x * g[:, None]).T @ x - (xbar * factor[:, None]).T @ xbar
    return score, info
