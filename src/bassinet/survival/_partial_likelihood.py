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
(plus O(K p log K) for the compensated running totals of (start, stop] data).

Sums without cancellation
-------------------------
No sum over a risk set (S0, S1), and no sum over the death times a row is at risk
at, loses the small risk sets to the large ones. Right-censored risk sets are nested:
the sums are accumulated backwards in time within each stratum, as ``survival``'s
``coxfit6.c`` does, with additions only. (start, stop] risk sets are not nested: a row
is added when it joins and taken away when it leaves. Each value is first split into
an upper part whose sums are exact and a lower part below eps times the largest value
(:func:`_split`), and the running total is kept in twice the working precision (each
addition a TwoSum, in a vectorised prefix scan over the death times,
:func:`_two_sum_scan`), so the error is about eps |sum| + O(n eps^2) times the largest
value. A running total in plain floating point would leave an error of one ulp of the
largest total reached earlier: at a coefficient of 20, risks of 1e6 beside 1e-3,
enough to turn the score's sign and the information negative.

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
Ogita T, Rump SM, Oishi S (2005). Accurate sum and dot product. SIAM J Sci Comput
    26:1955-1988.
Rump SM, Ogita T, Oishi S (2008). Accurate floating-point summation part I: faithful
    rounding. SIAM J Sci Comput 31:189-224.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
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
#: than the compensated running total, which is used instead.
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


def _split(values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """values = upper + lower exactly, with every sum of up to n of the uppers exact.

    Rump's ExtractScalar (Rump, Ogita & Oishi 2008): with sigma a power of two at least
    2n times the largest |value| of a column, upper = (sigma + v) - sigma keeps the bits
    of v above ulp(sigma), so the uppers add without rounding, however they are binned;
    the lowers are below ulp(sigma) = eps sigma, so their rounding is of order eps^2
    n max|v|. Binning rows by time then loses nothing of the small risk sets.
    """
    top = np.abs(values).max(axis=0, initial=0.0)
    exponent = np.ceil(np.log2(np.maximum(top, np.finfo(np.float64).tiny))) + np.ceil(
        np.log2(2.0 * values.shape[0] + 2.0)
    )
    sigma = np.where(top > 0, np.exp2(exponent), 0.0)
    upper: FloatArray = (sigma + values) - sigma
    lower: FloatArray = values - upper
    return upper, lower


def _two_sum_scan(terms: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Inclusive prefix sums along axis 0 as unevaluated pairs (high, low), error-free per step.

    A Hillis–Steele scan (log2 m passes of one vectorised addition each) in which every
    addition is Knuth's TwoSum: the rounding error of each partial sum is kept exactly
    and carried in ``low``. high + low is then the sum as if accumulated in twice the
    working precision: its error is at most about eps |sum| + (2 log2 m eps)^2 sum |terms|
    (Ogita, Rump & Oishi 2005, on cascaded summation), so large terms that cancel leave
    no trace beyond eps^2 of their size.
    """
    high = terms.copy()
    low = np.zeros_like(terms)
    shift = 1
    while shift < high.shape[0]:
        a, b = high[:-shift], high[shift:]
        total = a + b
        back = total - a
        error = (a - (total - back)) + (b - back)
        low[shift:] = low[shift:] + low[:-shift] + error
        high[shift:] = total
        shift *= 2
    return high, low


def range_sum(
    lo: IntArray, hi: IntArray, values: FloatArray, size: int, segments: IntArray | None = None
) -> FloatArray:
    """For each k < size, the sum of ``values[i]`` over rows with lo[i] <= k < hi[i].

    With ``segments`` (the first death time of each stratum, ascending), every row's
    ``lo`` is the first death time of its stratum (right-censored data: the risk sets
    are nested). The sums are then accumulated backwards in time within each stratum,
    as ``survival``'s ``coxfit6.c`` does: a row joins at its last death time and stays,
    so nothing is ever subtracted.

    Otherwise ((start, stop] rows: a row leaves the risk set while later rows join),
    each row is added at ``lo`` and taken away at ``hi``, and the running total is kept
    in twice the working precision (:func:`_two_sum_scan`): its error is about
    eps |sum| + (2 log2 K eps)^2 times the total of every value added or taken away so
    far. A running total in plain floating point would keep an error of an ulp of the
    largest total reached before, which at a large coefficient (risks of 1e6 that die
    early beside 1e-3 that remain) is many orders above the risk sets left.
    """
    vals = _as_columns(values)
    p = vals.shape[1]
    if segments is None or len(segments) > SEGMENT_LOOP_MAX:
        at_risk = np.flatnonzero(hi > lo)
        upper, lower = _split(vals[at_risk])
        # rows 4k, 4k + 1: the parts of rows joining at k; 4k + 2, 4k + 3: of those leaving after k
        terms = np.zeros((4 * size, p))
        _scatter(terms, 4 * lo[at_risk], upper)
        _scatter(terms, 4 * lo[at_risk] + 1, lower)
        _scatter(terms, 4 * hi[at_risk] - 2, -upper)
        _scatter(terms, 4 * hi[at_risk] - 1, -lower)
        high, low = _two_sum_scan(terms)
        out = high[1::4] + low[1::4]
        return out.reshape(size, *values.shape[1:])
    bins = np.zeros((size + 1, p))
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
    sum within the row's stratum read at hi - 1. Otherwise it is C[hi] - C[lo], C the
    cumulative sum kept as a (high, low) pair by :func:`_two_sum_scan`: the difference
    of the high parts is exact up to its own rounding, and the low parts carry what the
    high parts lost, so a late range of a large cumulative sum keeps its digits.
    """
    size = per_time.shape[0]
    if segments is None or len(segments) > SEGMENT_LOOP_MAX:
        padded = np.zeros((size + 1, *per_time.shape[1:]))
        padded[1:] = per_time
        high, low = _two_sum_scan(padded)
        result: FloatArray = (high[hi] - high[lo]) + (low[hi] - low[lo])
        return result
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

    @cached_property
    def entering(self) -> IntArray:
        """Rows ordered by ``lo`` (a counting sort), for the compiled loops."""
        from bassinet.survival import _cox_kernels

        order: IntArray = _cox_kernels.bucket_order(self.lo, self.n_times)
        return order

    @cached_property
    def leaving(self) -> IntArray:
        """Rows ordered by ``hi`` (a counting sort), for the compiled loops."""
        from bassinet.survival import _cox_kernels

        order: IntArray = _cox_kernels.bucket_order(self.hi, self.n_times)
        return order

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
        if start is None and compiled_available(len(stop)):
            from bassinet.survival import _cox_kernels

            stratum = np.ascontiguousarray(stratum, dtype=np.int64)
            if _cox_kernels.is_sorted(stratum, stop):
                # one pass, no sort: the same arrays as below (tests check they agree)
                rows, k, times, strata, counts, lo, hi = _cox_kernels.sorted_risk_sets(
                    stop, np.ascontiguousarray(event, dtype=np.bool_), stratum
                )
                return cls._assemble(times, strata, lo, hi, rows, k, counts, efron=efron)
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

    @classmethod
    def _assemble(
        cls,
        times: FloatArray,
        strata: IntArray,
        lo: IntArray,
        hi: IntArray,
        death_rows: IntArray,
        death_time: IntArray,
        counts: FloatArray,
        *,
        efron: bool,
    ) -> RiskSets:
        """Right-censored risk sets from the one-pass arrays of ``_cox_kernels``."""
        n_times = len(times)
        if efron:
            firsts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
            ordinal = np.arange(len(death_rows)) - firsts[death_time]
            fraction = ordinal / counts[death_time]
        else:
            fraction = np.zeros(len(death_rows))
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
    # empty when evaluated with arrays=False by the compiled loops
    risk: FloatArray  # w exp(eta) per row
    s0: FloatArray  # per death time
    s1: FloatArray
    den: FloatArray  # per death row
    num: FloatArray
    mean_weight: FloatArray  # per death time
    shift: float  # risks are w exp(eta - shift)


#: Below this many rows the NumPy engine is used: it takes milliseconds there, while the
#: first compiled call of a process loads Numba and its cached loops (about a second).
#: BASSINET_JIT_MIN_ROWS overrides it (0: the loops for every size, as in a test run).
COMPILED_MIN_ROWS = int(os.environ.get("BASSINET_JIT_MIN_ROWS", "20000"))


def compiled_available(n_rows: int | None = None) -> bool:
    """Whether the compiled loops of ``_cox_kernels.py`` are used for ``n_rows`` rows.

    Only from :data:`COMPILED_MIN_ROWS` rows, and only when Numba is installed (and
    BASSINET_NO_JIT is not set); Numba is not imported for smaller data.
    """
    if n_rows is not None and n_rows < COMPILED_MIN_ROWS:
        return False
    from bassinet.survival import _cox_kernels

    return _cox_kernels.available()


class PartialLikelihood:
    """The Cox partial likelihood of given data, evaluated at any beta.

    With ``fast`` (by default: Numba installed and :data:`COMPILED_MIN_ROWS` rows or
    more) :meth:`evaluate` runs the fused
    loops of ``_cox_kernels.py``; otherwise the NumPy engine here (the plain path). Both
    compute the same sums with the same exactness; tests check they agree.
    """

    def __init__(
        self,
        sets: RiskSets,
        x: FloatArray,
        weights: FloatArray,
        offset: FloatArray,
        *,
        fast: bool | None = None,
    ) -> None:
        self.sets = sets
        self.x = x
        self.weights = weights
        self.offset = offset
        self.fast = compiled_available(len(weights)) if fast is None else fast
        rows = sets.death_rows
        self.death_weight = weights[rows]
        dead_weight = _bincount(sets.death_time, self.death_weight, sets.n_times)
        self.mean_weight = dead_weight / sets.n_deaths
        if self.fast:
            from bassinet.survival import _cox_kernels

            self.score_fixed = _cox_kernels.rows_sum(x, rows, self.death_weight)
        else:
            self.score_fixed = self.death_weight @ x[rows]

    def evaluate(self, beta: FloatArray, *, information: bool = True, arrays: bool = True) -> Evaluation:
        """The log-likelihood, score and information (if asked) at ``beta``.

        With ``arrays=False`` the compiled loops may leave ``risk``, ``den`` and ``num``
        empty (a Newton step needs only the derivatives); the NumPy engine fills them.
        """
        if self.fast:
            return self._evaluate_compiled(beta, information=information, arrays=arrays)
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

    def _evaluate_compiled(self, beta: FloatArray, *, information: bool, arrays: bool) -> Evaluation:
        from bassinet.survival import _cox_kernels

        sets = self.sets
        nested = sets.segments is not None
        empty = np.zeros(0, dtype=np.int64)
        loglik, score, info, risk, s0, s1, den, num, shift = _cox_kernels.evaluate(
            np.ascontiguousarray(self.x, dtype=np.float64),
            np.ascontiguousarray(beta, dtype=np.float64),
            np.ascontiguousarray(self.offset, dtype=np.float64),
            np.ascontiguousarray(self.weights, dtype=np.float64),
            sets.lo,
            sets.hi,
            sets.stratum,
            nested,
            empty if nested else sets.entering,
            empty if nested else sets.leaving,
            sets.death_rows,
            sets.death_time,
            sets.fraction,
            self.mean_weight,
            self.death_weight,
            self.score_fixed,
            information,
            arrays,
        )
        return Evaluation(float(loglik), score, info, risk, s0, s1, den, num, self.mean_weight, float(shift))

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
