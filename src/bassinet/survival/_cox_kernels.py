"""Fused loops for the Cox fit and its concordance, compiled by Numba when it is installed.

The NumPy engine of ``_partial_likelihood.py`` makes about 30 passes over the rows per
Newton step (each a temporary of n or n x p values) and its tall-skinny products go
through BLAS, whose threads lose on a shared machine. These loops make four passes a
step, allocate nothing of size n x p and call no BLAS, so their speed does not depend
on the BLAS threads. They compute the same sums in the same way, with the same
exactness (see ``_partial_likelihood.py``):

- right-censored risk sets (nested) are accumulated backwards in time within each
  stratum with additions only, as ``survival``'s ``coxfit6.c`` does;
- (start, stop] risk sets keep their running totals in twice the working precision:
  every row joining or leaving is one error-free TwoSum (Knuth) into a (high, low)
  pair, so the error is about eps |sum| + n eps^2 max|value|, the bound of the NumPy
  engine's split-and-scan (Ogita, Rump & Oishi 2005), without its 4K x p temporaries;
- sums over the death times a row is at risk at are differences of a prefix sum kept
  as a (high, low) pair.

The concordance is counted with a Fenwick tree (a binary indexed tree; Fenwick 1994)
over the ranks of the risk score: rows enter at their first death time at risk and
leave after their last, so every comparison costs O(log n) and the whole count
O(n log n), as ``survival``'s ``concordancefit`` does with its balanced tree.

:func:`available` says whether the loops can run (Numba imports); without Numba the
NumPy engine is used. Each loop is compiled on its first call and cached on disk
(``cache=True``), so later processes load it in a fraction of a second.

References
----------
Knuth DE (1997). The Art of Computer Programming 2, 3rd ed. Addison-Wesley (4.2.2).
Fenwick PM (1994). A new data structure for cumulative frequency tables. Software:
    Practice and Experience 24:327-336.
Ogita T, Rump SM, Oishi S (2005). Accurate sum and dot product. SIAM J Sci Comput
    26:1955-1988.
Therneau TM, Grambsch PM (2000). Modeling Survival Data. Springer (section 3.3).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from bassinet.survival._jit import Jit

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: The loops' compiler: ``numba.njit(cache=True, nogil=True)``, or none (see ``_jit.py``).
_jit = Jit()


@_jit
def bucket_order(keys: IntArray, size: int) -> IntArray:
    """Row indices ordered by ``keys`` (0..size), stably: a counting sort, O(n + size)."""
    count = np.zeros(size + 2, dtype=np.int64)
    for i in range(keys.shape[0]):
        count[keys[i] + 1] += 1
    for k in range(1, size + 2):
        count[k] += count[k - 1]
    order = np.empty(keys.shape[0], dtype=np.int64)
    for i in range(keys.shape[0]):
        order[count[keys[i]]] = i
        count[keys[i]] += 1
    return order


@_jit
def _linear_predictor(x: FloatArray, beta: FloatArray, offset: FloatArray) -> tuple[FloatArray, float]:
    """eta = x beta + offset and the shift to take from it before exp() (``safe_shift``)."""
    n, p = x.shape
    eta = np.empty(n)
    top = -np.inf
    for i in range(n):
        value = offset[i]
        for j in range(p):
            value += x[i, j] * beta[j]
        eta[i] = value
        top = max(top, value)
    return eta, (top - 300.0 if top > 300.0 else 0.0)


@_jit
def _risk_set_sums(
    eta: FloatArray,
    shift: float,
    weights: FloatArray,
    x: FloatArray,
    lo: IntArray,
    hi: IntArray,
    time_stratum: IntArray,
    nested: bool,
    by_lo: IntArray,
    by_hi: IntArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The risks w exp(eta - shift), and S0 and S1 per death time: sums of risk and risk x."""
    n, p = x.shape
    size = time_stratum.shape[0]
    risk = np.empty(n)
    for i in range(n):
        risk[i] = weights[i] * math.exp(eta[i] - shift)
    s0 = np.zeros(size)
    s1 = np.zeros((size, p))
    if nested:
        # a row joins at its last death time and stays: backward sums, additions only
        for i in range(n):
            if hi[i] > lo[i]:
                k = hi[i] - 1
                s0[k] += risk[i]
                for j in range(p):
                    s1[k, j] += risk[i] * x[i, j]
        for k in range(size - 2, -1, -1):
            if time_stratum[k] == time_stratum[k + 1]:
                s0[k] += s0[k + 1]
                for j in range(p):
                    s1[k, j] += s1[k + 1, j]
        return risk, s0, s1
    # (start, stop]: running totals as (high, low) pairs, each join or leave a TwoSum
    high = np.zeros(p + 1)
    low = np.zeros(p + 1)
    value = np.empty(p + 1)
    a_next = 0
    b_next = 0
    for k in range(size):
        for leaving in range(2):
            while True:
                if leaving == 0:
                    if a_next >= n or lo[by_lo[a_next]] != k:
                        break
                    i = by_lo[a_next]
                    a_next += 1
                    sign = 1.0
                else:
                    if b_next >= n or hi[by_hi[b_next]] != k:
                        break
                    i = by_hi[b_next]
                    b_next += 1
                    sign = -1.0
                if hi[i] <= lo[i]:
                    continue
                value[0] = sign * risk[i]
                for j in range(p):
                    value[j + 1] = value[0] * x[i, j]
                for j in range(p + 1):
                    a = high[j]
                    b = value[j]
                    total = a + b
                    back = total - a
                    low[j] += (a - (total - back)) + (b - back)
                    high[j] = total
        # rows with hi < k were all taken away at hi; skip any key below k left behind
        while b_next < n and hi[by_hi[b_next]] < k:
            b_next += 1
        while a_next < n and lo[by_lo[a_next]] < k:
            a_next += 1
        s0[k] = high[0] + low[0]
        for j in range(p):
            s1[k, j] = high[j + 1] + low[j + 1]
    return risk, s0, s1


@_jit
def evaluate(
    x: FloatArray,
    beta: FloatArray,
    offset: FloatArray,
    weights: FloatArray,
    lo: IntArray,
    hi: IntArray,
    time_stratum: IntArray,
    nested: bool,
    by_lo: IntArray,
    by_hi: IntArray,
    death_rows: IntArray,
    death_time: IntArray,
    fraction: FloatArray,
    mean_weight: FloatArray,
    death_weight: FloatArray,
    score_fixed: FloatArray,
    information: bool,
    arrays: bool,
) -> tuple[float, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, float]:
    """The partial likelihood, score and information at beta (see ``PartialLikelihood``).

    Without ``arrays`` the per-row risks and the per-death den and num come back empty
    (a Newton step needs only the derivatives; this saves about 6 n values a step).
    """
    n, p = x.shape
    size = time_stratum.shape[0]
    eta, shift = _linear_predictor(x, beta, offset)
    risk, s0, s1 = _risk_set_sums(eta, shift, weights, x, lo, hi, time_stratum, nested, by_lo, by_hi)
    d0 = np.zeros(size)
    d1 = np.zeros((size, p))
    for r in range(death_rows.shape[0]):
        i = death_rows[r]
        k = death_time[r]
        d0[k] += risk[i]
        for j in range(p):
            d1[k, j] += risk[i] * x[i, j]
    n_dead = death_rows.shape[0]
    den = np.empty(n_dead if arrays else 0)
    num = np.empty((n_dead if arrays else 0, p))
    row = np.empty(p)
    score = score_fixed.copy()
    info = np.zeros((p, p))
    c = np.zeros(size)
    e = np.zeros(size)
    fixed = 0.0
    logs = 0.0
    for r in range(n_dead):
        fixed += death_weight[r] * (eta[death_rows[r]] - shift)
    r = 0
    while r < n_dead:
        k = death_time[r]
        f = fraction[r]
        # tied deaths with no risk removed (all of Breslow's, Efron's first) share den and
        # num: their terms are taken once, times their number
        run = 1
        if f == 0.0:
            while r + run < n_dead and death_time[r + run] == k and fraction[r + run] == 0.0:
                run += 1
        m = mean_weight[k]
        value = s0[k] - f * d0[k]
        logs += run * (m * math.log(value))
        h = m / value
        for j in range(p):
            row[j] = s1[k, j] - f * d1[k, j]
            score[j] -= run * (h * row[j])
        if arrays:
            for t in range(r, r + run):
                den[t] = value
                for j in range(p):
                    num[t, j] = row[j]
        if information:
            c[k] += run * h
            e[k] += h * f
            h2 = run * (h / value)
            for a in range(p):
                for b in range(a + 1):
                    info[a, b] -= h2 * row[a] * row[b]
        r += run
    loglik = fixed - logs
    if information:
        # sum_k c_k S2_k = X' diag(g) X, g = risk times the sum of c over the row's times
        over = np.zeros(size + 1)
        over_low = np.zeros(size + 1)
        if nested:  # per time, the sum of c from its stratum's first time to it
            for k in range(size):
                first = k == 0 or time_stratum[k] != time_stratum[k - 1]
                over[k] = c[k] + (0.0 if first else over[k - 1])
        else:  # prefix sums of c as (high, low) pairs: C[hi] - C[lo] keeps a late range's digits
            for k in range(size):
                a = over[k]
                b = c[k]
                total = a + b
                back = total - a
                over_low[k + 1] = over_low[k] + ((a - (total - back)) + (b - back))
                over[k + 1] = total
        # a death's own time counts its risk only (1 - l/d) of the time: less e per death row
        minus = np.zeros(n)
        for r in range(n_dead):
            minus[death_rows[r]] = e[death_time[r]]
        gram = np.zeros((p, p))
        for i in range(n):
            if hi[i] <= lo[i]:
                continue
            if nested:
                g = risk[i] * (over[hi[i] - 1] - minus[i])
            else:
                g = risk[i] * ((over[hi[i]] - over[lo[i]]) + (over_low[hi[i]] - over_low[lo[i]]) - minus[i])
            for a in range(p):
                ga = g * x[i, a]
                for b in range(a + 1):
                    gram[a, b] += ga * x[i, b]
        for a in range(p):
            for b in range(a + 1):
                info[a, b] += gram[a, b]
                info[b, a] = info[a, b]
    if not arrays:
        risk = np.empty(0)
    return loglik, score, info, risk, s0, s1, den, num, shift


@_jit
def _fenwick_add(tree: FloatArray, position: int, value: float) -> None:
    index = position + 1
    while index < tree.shape[0]:
        tree[index] += value
        index += index & -index


@_jit
def _fenwick_below(tree: FloatArray, position: int) -> float:
    """Sum of the values at positions < ``position``."""
    total = 0.0
    index = position
    while index > 0:
        total += tree[index]
        index -= index & -index
    return total


@_jit
def concordance(
    rank: IntArray,
    n_ranks: int,
    weights: FloatArray,
    lo: IntArray,
    hi: IntArray,
    size: int,
    by_lo: IntArray,
    by_hi: IntArray,
    death_rows: IntArray,
    death_time: IntArray,
) -> tuple[float, float, float, float, float]:
    """Weighted concordant, discordant, tied-x, tied-y and tied-xy pairs (``_concordance``)."""
    n = rank.shape[0]
    at_risk = np.zeros(n_ranks + 1)
    dying = np.zeros(n_ranks + 1)
    total = 0.0
    concordant = 0.0
    discordant = 0.0
    tied_x = 0.0
    tied_y = 0.0
    tied_xy = 0.0
    a_next = 0
    b_next = 0
    r = 0
    n_dead = death_rows.shape[0]
    for k in range(size):
        while a_next < n and lo[by_lo[a_next]] <= k:
            i = by_lo[a_next]
            a_next += 1
            if hi[i] > lo[i]:
                _fenwick_add(at_risk, rank[i], weights[i])
                total += weights[i]
        while b_next < n and hi[by_hi[b_next]] <= k:
            i = by_hi[b_next]
            b_next += 1
            if hi[i] > lo[i]:
                _fenwick_add(at_risk, rank[i], -weights[i])
                total -= weights[i]
        first = r
        while r < n_dead and death_time[r] == k:
            i = death_rows[r]
            _fenwick_add(dying, rank[i], weights[i])
            r += 1
        same_total = 0.0
        for t in range(first, r):
            same_total += weights[death_rows[t]]
        for t in range(first, r):
            i = death_rows[t]
            q = rank[i]
            w = weights[i]
            same_below = _fenwick_below(dying, q)
            same_equal = _fenwick_below(dying, q + 1) - same_below
            below = _fenwick_below(at_risk, q)
            equal = _fenwick_below(at_risk, q + 1) - below
            less = below - same_below
            tie = equal - same_equal
            greater = total - same_total - less - tie
            concordant += w * less
            discordant += w * greater
            tied_x += w * tie
            tied_xy += w * (same_equal - w)
            tied_y += w * (same_total - w)
        for t in range(first, r):
            i = death_rows[t]
            _fenwick_add(dying, rank[i], -weights[i])
    tied_xy /= 2.0
    tied_y = tied_y / 2.0 - tied_xy
    return concordant, discordant, tied_x, tied_y, tied_xy


def available() -> bool:
    """Whether the compiled loops can be used (Numba installed and not turned off)."""
    return _jit.available


@_jit
def sorted_risk_sets(
    stop: FloatArray, event: NDArray[np.bool_], stratum: IntArray
) -> tuple[IntArray, IntArray, FloatArray, IntArray, FloatArray, IntArray, IntArray]:
    """``RiskSets.build`` for right-censored rows already sorted by (stratum, stop), in one pass.

    Returns the death rows, each one's death time index, the K death times, their
    strata, the deaths at each, and each row's range [lo, hi) of death times at risk.
    """
    n = stop.shape[0]
    n_dead = 0
    for i in range(n):
        if event[i]:
            n_dead += 1
    death_rows = np.empty(n_dead, dtype=np.int64)
    death_time = np.empty(n_dead, dtype=np.int64)
    times = np.empty(n_dead)
    strata = np.empty(n_dead, dtype=np.int64)
    counts = np.zeros(n_dead)
    size = 0
    r = 0
    for i in range(n):
        if event[i]:
            if size == 0 or strata[size - 1] != stratum[i] or times[size - 1] != stop[i]:
                times[size] = stop[i]
                strata[size] = stratum[i]
                size += 1
            death_rows[r] = i
            death_time[r] = size - 1
            counts[size - 1] += 1.0
            r += 1
    lo = np.empty(n, dtype=np.int64)
    hi = np.empty(n, dtype=np.int64)
    first = 0  # first death time of a stratum >= the row's
    k = 0  # one past the last death time <= the row's (stratum, stop)
    for i in range(n):
        s = stratum[i]
        while first < size and strata[first] < s:
            first += 1
        while k < size and (strata[k] < s or (strata[k] == s and times[k] <= stop[i])):
            k += 1
        lo[i] = min(first, k)
        hi[i] = k
    return death_rows, death_time, times[:size].copy(), strata[:size].copy(), counts[:size].copy(), lo, hi


@_jit
def centred_gram(
    x: FloatArray, weights: FloatArray, stratum: IntArray, n_strata: int
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    """The weighted Gram matrix of x centred within strata, without forming the centred x.

    Returns the Gram matrix, the largest |centred value| of each column and whether
    each column holds only 0 and 1.
    """
    n, p = x.shape
    means = np.zeros((n_strata, p))
    total = np.zeros(n_strata)
    for i in range(n):
        s = stratum[i]
        total[s] += weights[i]
        for j in range(p):
            means[s, j] += weights[i] * x[i, j]
    for s in range(n_strata):
        for j in range(p):
            if total[s] > 0:
                means[s, j] /= total[s]
    gram = np.zeros((p, p))
    top = np.zeros(p)
    binary = np.ones(p, dtype=np.bool_)
    row = np.empty(p)
    for i in range(n):
        s = stratum[i]
        for j in range(p):
            row[j] = x[i, j] - means[s, j]
            top[j] = max(top[j], abs(row[j]))
            if x[i, j] != 0.0 and x[i, j] != 1.0:
                binary[j] = False
        for a in range(p):
            wa = weights[i] * row[a]
            for b in range(a + 1):
                gram[a, b] += wa * row[b]
    for a in range(p):
        for b in range(a):
            gram[b, a] = gram[a, b]
    return gram, top, binary


@_jit
def take_centred(x: FloatArray, order: IntArray, center: FloatArray) -> FloatArray:
    """(x - center)[order] as one new C-ordered array, with no temporary.

    A column at a time: the gather then reads one column (contiguous when x is
    Fortran-ordered, as a DataFrame's values are) rather than p of them at once.
    """
    n, p = x.shape
    out = np.empty((n, p))
    for j in range(p):
        shift = center[j]
        for i in range(n):
            out[i, j] = x[order[i], j] - shift
    return out


@_jit
def is_sorted(stratum: IntArray, stop: FloatArray) -> bool:
    """Whether the rows are in (stratum, stop) order."""
    for i in range(1, stop.shape[0]):
        if stratum[i] < stratum[i - 1] or (stratum[i] == stratum[i - 1] and stop[i] < stop[i - 1]):
            return False
    return True


@_jit
def rows_sum(x: FloatArray, rows: IntArray, weights: FloatArray) -> FloatArray:
    """sum_r weights[r] x[rows[r]] (the score's fixed part), without gathering the rows."""
    out = np.zeros(x.shape[1])
    for r in range(rows.shape[0]):
        for j in range(x.shape[1]):
            out[j] += weights[r] * x[rows[r], j]
    return out
