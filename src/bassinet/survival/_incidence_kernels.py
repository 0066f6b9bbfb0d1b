"""Fused loops for the Aalen–Johansen estimate, its variances and Gray's test (Numba).

The NumPy code of ``_competing_risks.py`` and ``_gray.py`` evaluates every formula at
every time at once: about a hundred passes over arrays of one value per distinct time
(Gray's variance per cause, the jackknife variance of the event-free state, Gray's
covariance per pair of groups), each a temporary. These loops make one pass over the
times per estimate (or per cause and stratum for the test), keep the running sums in
scalars and compute the same formulas in the same order, so that they agree with the
NumPy code to rounding (the tests ask 1e-10 relative); R's ``cmprsk`` Fortran
(``cinc.f``, ``crstm.f``) is organised the same way, one loop over the times.

Only the counts by time enter: the per-row sums of the jackknife variance without late
entry depend on a row only through its exit time and its kind (censored, an event of
the cause, an event of another cause), so they are the counts of each kind times the
kind's value. Late entry keeps the NumPy code.

:func:`available` says whether Numba imports (and BASSINET_NO_JIT is unset); the callers
use the loops from ``BASSINET_JIT_MIN_ROWS`` rows, as the Cox kernels do. Each loop is
compiled on its first call and cached on disk.

References
----------
Aalen OO, Johansen S (1978). An empirical transition matrix for non-homogeneous Markov
    chains based on censored observations. Scand J Stat 5:141-150.
Gray RJ (1988). A class of K-sample tests for comparing the cumulative incidence of a
    competing risk. Ann Stat 16:1141-1154.
Efron B (1982). The Jackknife, the Bootstrap and Other Resampling Plans. SIAM.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from bassinet.survival._jit import Jit

FloatArray = NDArray[np.float64]

#: The loops' compiler: ``numba.njit(cache=True, nogil=True)`` with NumPy's error model (a
#: division by zero gives inf or NaN, not an exception), or none (see ``_jit.py``).
_jit = Jit(error_model="numpy")


def available() -> bool:
    """Whether the loops are compiled (Numba installed and BASSINET_NO_JIT unset)."""
    return _jit.available


@_jit
def _tie(deaths: float, n: float) -> float:
    """Gray's correction for tied deaths: 1 - (d - 1) / (n - 1) where d > 1, else 1."""
    if deaths > 1:
        return 1 - (deaths - 1) / (n - 1)
    return 1.0


@_jit
def _gray_variance(
    n: FloatArray,
    d: FloatArray,
    d_k: FloatArray,
    s_left: FloatArray,
    s: FloatArray,
    f: FloatArray,
    out: FloatArray,
) -> None:
    """Gray's delta-method variance of one cause's incidence into ``out``, held between its events.

    As ``_competing_risks._gray_variance``: the terms of deaths of other causes count
    where someone survives the time, those of the cause itself where it has deaths.
    """
    v1 = 0.0
    v2 = 0.0
    v3 = 0.0
    held = 0.0
    for i in range(n.shape[0]):
        own = d_k[i]
        other = d[i] - own
        inv_s = 1 / s[i] if s[i] > 0 else 0.0
        base = s_left[i] ** 2 / n[i] ** 2
        t4_other = f[i] * inv_s
        t4_own = 1 + t4_other
        w_other = base * _tie(other, n[i]) * other if (other > 0 and s[i] > 0) else 0.0
        w_own = base * _tie(own, n[i]) * own if own > 0 else 0.0
        w_other_t4 = w_other * t4_other
        w_own_t4 = w_own * t4_own
        v1 += w_other_t4 * t4_other + w_own_t4 * t4_own
        v2 += (w_other_t4 + w_own_t4) * inv_s
        v3 += (w_other + w_own) * inv_s**2
        if own > 0:
            held = v1 + f[i] ** 2 * v3 - 2 * f[i] * v2
        out[i] = held


@_jit
def _jackknife_variance(
    n: FloatArray,
    d: FloatArray,
    d_k: FloatArray,
    s_left: FloatArray,
    n_censor: FloatArray,
    n_rows: float,
    out: FloatArray,
) -> None:
    """The infinitesimal-jackknife variance of one cause's incidence (no late entry) into ``out``.

    As ``_competing_risks._jackknife_variance`` with every row at risk from the start: a
    row's derivative after its exit is alpha + beta B_m, alpha and beta set by its exit
    time and kind, so the sums over rows are the counts of each kind (censored, the
    cause, another cause: ``d - d_k`` of them) times the kind's value.
    """
    a_cum = 0.0
    big_b = 0.0
    big_c = 0.0
    big_d = 0.0
    s_aa = 0.0
    s_ab = 0.0
    s_bb = 0.0
    exited = 0.0
    for i in range(n.shape[0]):
        inv_nd = 1 / (n[i] - d[i]) if n[i] > d[i] else 0.0
        a = d[i] * inv_nd / n[i] if d[i] > 0 else 0.0
        b = s_left[i] * d_k[i] / n[i] if n[i] > 0 else 0.0
        c = b / n[i] if n[i] > 0 else 0.0
        a_before = a_cum
        a_cum += a
        big_b += b
        big_c += c
        big_d += b * a_before
        g = big_d - big_c
        # censored rows: own 0, no event
        beta = a_cum
        alpha = g - beta * big_b
        count = n_censor[i]
        aa = count * alpha**2
        ab = count * (alpha * beta)
        bb = count * beta**2
        # rows with an event: of the cause (own), of another cause
        beta = a_cum - inv_nd
        count = d_k[i]
        if count > 0:
            alpha = (g + s_left[i] / n[i]) - beta * big_b
            aa += count * alpha**2
            ab += count * (alpha * beta)
            bb += count * beta**2
        count = d[i] - d_k[i]
        if count > 0:
            alpha = g - beta * big_b
            aa += count * alpha**2
            ab += count * (alpha * beta)
            bb += count * beta**2
        s_aa += aa
        s_ab += ab
        s_bb += bb
        exited += n_censor[i] + d[i]
        done = s_aa + 2 * big_b * s_ab + big_b**2 * s_bb
        value = done + (n_rows - exited) * g**2
        out[i] = value if value > 0 else 0.0


@_jit
def incidence(
    counts: FloatArray, gray: bool
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Aalen–Johansen estimates and variances from the counts by distinct time (no late entry).

    ``counts`` has one row per distinct time and columns censored, cause 1, 2, ...
    Returns the numbers at risk, the all-cause Kaplan–Meier, the incidence of each
    cause (columns), its variance (Gray's with ``gray``, else the jackknife) and the
    jackknife variance of the event-free state, as ``_competing_risks._estimate``.
    """
    m, kinds = counts.shape
    n_causes = kinds - 1
    n = np.empty(m)
    d = np.zeros(m)
    remaining = 0.0
    for i in range(m - 1, -1, -1):
        exits = 0.0
        for k in range(kinds):
            exits += counts[i, k]
        remaining += exits
        n[i] = remaining
    s = np.empty(m)
    s_left = np.empty(m)
    estimate = np.empty((m, n_causes))
    survival = 1.0
    running = np.zeros(n_causes)
    for i in range(m):
        total = 0.0
        for k in range(n_causes):
            total += counts[i, k + 1]
        d[i] = total
        s_left[i] = survival
        if n[i] > 0:
            survival *= 1 - total / n[i]
            for k in range(n_causes):
                running[k] += s_left[i] * counts[i, k + 1] / n[i]
        s[i] = survival
        for k in range(n_causes):
            estimate[i, k] = running[k]
    variance = np.empty((m, n_causes))
    column = np.empty(m)
    n_censor = np.ascontiguousarray(counts[:, 0])
    n_rows = n[0] if m > 0 else 0.0
    for k in range(n_causes):
        d_k = np.ascontiguousarray(counts[:, k + 1])
        if gray:
            _gray_variance(n, d, d_k, s_left, s, np.ascontiguousarray(estimate[:, k]), column)
        else:
            _jackknife_variance(n, d, d_k, s_left, n_censor, n_rows, column)
        variance[:, k] = column
    survival_variance = np.empty(m)
    _jackknife_variance(n, d, d, s_left, n_censor, n_rows, survival_variance)
    for i in range(m):
        if s[i] == 0:
            survival_variance[i] = 0.0
    return n, s, estimate, variance, survival_variance


@_jit
def event_tables(counts: FloatArray) -> tuple[FloatArray, FloatArray]:
    """At-risk numbers and deaths by group at the times with an event, from all counts.

    ``counts`` has shape (groups, kinds, times), kind 0 censored; returns at risk
    (groups, event times) and deaths (groups, causes, event times).
    """
    n_groups, kinds, m = counts.shape
    keep = np.zeros(m, dtype=np.bool_)
    n_events = 0
    for i in range(m):
        for g in range(n_groups):
            for k in range(1, kinds):
                if counts[g, k, i] > 0:
                    keep[i] = True
        if keep[i]:
            n_events += 1
    rs = np.empty((n_groups, n_events))
    deaths = np.empty((n_groups, kinds - 1, n_events))
    remaining = np.zeros(n_groups)
    j = n_events
    for i in range(m - 1, -1, -1):
        for g in range(n_groups):
            exits = 0.0
            for k in range(kinds):
                exits += counts[g, k, i]
            remaining[g] += exits
        if keep[i]:
            j -= 1
            for g in range(n_groups):
                rs[g, j] = remaining[g]
                for k in range(1, kinds):
                    deaths[g, k - 1, j] = counts[g, k, i]
    return rs, deaths


@_jit
def gray_stratum(rs: FloatArray, deaths: FloatArray, cause: int, rho: float) -> tuple[FloatArray, FloatArray]:
    """Gray's score (groups) and covariance (groups x groups) of one cause in one stratum.

    ``rs`` (groups, times) and ``deaths`` (groups, causes, times) at the times with an
    event; the formulas of ``_gray._stratum_columns`` (cmprsk's ``crstm``), in one pass
    over the times with the running sums c[i, k] kept per pair of groups.
    """
    n_groups, n_causes, m = deaths.shape
    skm = np.ones(n_groups)
    f1 = np.zeros(n_groups)
    c = np.zeros((n_groups, n_groups))
    a = np.zeros((n_groups, n_groups))
    term = np.zeros((n_groups, n_groups))
    t1 = np.zeros(n_groups)
    remaining = np.zeros(n_groups)
    d1 = np.zeros(n_groups)
    d2 = np.zeros(n_groups)
    skmm = np.zeros(n_groups)
    t4 = np.zeros(n_groups)
    t3 = np.zeros(n_groups)
    w_other = np.zeros(n_groups)
    score = np.zeros(n_groups)
    v = np.zeros((n_groups, n_groups))
    v2 = np.zeros((n_groups, n_groups))
    v3 = np.zeros(n_groups)
    f = 0.0
    for t in range(m):
        tr = 0.0
        nd1 = 0.0
        for g in range(n_groups):
            r = rs[g, t]
            d_all = 0.0
            for k in range(n_causes):
                d_all += deaths[g, k, t]
            d1[g] = deaths[g, cause, t]
            d2[g] = d_all - d1[g]
            skmm[g] = skm[g]
            if r > 0:
                skm[g] = skm[g] * ((r - d_all) / r)
                t1[g] = r / skmm[g]
            else:
                t1[g] = 0.0
            tr += t1[g]
            nd1 += d1[g]
        tq = 0.0
        for g in range(n_groups):
            r = rs[g, t]
            f1m = f1[g]
            if r > 0:
                f1[g] = f1m + skmm[g] * d1[g] / r
                remaining[g] = r * (1 - f1m) / skmm[g]
            else:
                remaining[g] = 0.0
            tq += remaining[g]
        fm = f
        f = fm + nd1 / tr
        fb = (1 - fm) ** rho if rho != 0 else 1.0
        growth = nd1 / (tr * (1 - fm))
        if rho != 0:
            growth *= fb
        for i in range(n_groups):
            a[i, i] = 0.0
            c_diag = 0.0
            for k in range(n_groups):
                if k != i:
                    a[i, k] = -t1[min(i, k)] * (t1[max(i, k)] / tr)
                    if i < k:
                        c[i, k] += a[i, k] * growth
                    else:
                        c[i, k] = c[k, i]
            for k in range(n_groups):
                if k != i:
                    a[i, i] = a[i, i] + a[i, k]
                    c_diag = c_diag + c[i, k]
            a[i, i] = -a[i, i]
            c[i, i] = -c_diag
        for g in range(n_groups):
            if rs[g, t] > 0:
                difference = d1[g] - nd1 * remaining[g] / tq
                score[g] += difference if rho == 0 else fb * difference
        one_minus_f = 1 - f
        for g in range(n_groups):
            r = rs[g, t]
            alive = skm[g] > 0
            t4[g] = 1 - one_minus_f / skm[g] if alive else 1.0
            if nd1 > 0 and r > 0:
                t3[g] = _tie(nd1, tr * skmm[g]) * skmm[g] * nd1 / (tr * r)
            else:
                t3[g] = 0.0
            if alive and d2[g] > 0:
                w_other[g] = (one_minus_f / skm[g]) ** 2 * _tie(d2[g], r) * skmm[g] ** 2 * d2[g] / r**2
            else:
                w_other[g] = 0.0
            v3[g] += t4[g] * (t4[g] * t3[g]) + w_other[g]
        for i in range(n_groups):
            for k in range(n_groups):
                a_ik = a[i, k] if rho == 0 else a[i, k] * fb
                term[i, k] = a_ik - t4[k] * c[i, k]
                v2[i, k] += term[i, k] * (t4[k] * t3[k]) - c[i, k] * w_other[k]
        for i in range(n_groups):
            for j in range(i, n_groups):
                total = 0.0
                for k in range(n_groups):
                    total += term[i, k] * term[j, k] * t3[k] + c[i, k] * c[j, k] * w_other[k]
                v[i, j] += total
    for i in range(n_groups):
        for j in range(i):
            v[i, j] = v[j, i]
    # the final running sums close the covariance: (c v3) c' + c v2' + v2 c'
    for i in range(n_groups):
        for j in range(n_groups):
            first = 0.0
            second = 0.0
            third = 0.0
            for k in range(n_groups):
                first += c[i, k] * v3[k] * c[j, k]
                second += c[i, k] * v2[j, k]
                third += v2[i, k] * c[j, k]
            v[i, j] += (first + second) + third
    return score, v
