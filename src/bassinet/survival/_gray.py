"""Gray's test comparing the cumulative incidence of a competing cause between groups.

Reference
---------
Gray RJ (1988). A class of K-sample tests for comparing the cumulative incidence of a
competing risk. Ann Stat 16:1141-1154.

The score of group g sums, over the times of events of the cause, the weighted
difference between the group's events and those expected from its share of the
"subdistribution" risk set, R_g(t) = n_g(t) (1 - F_g(t-)) / S_g(t-); its covariance is
Gray's estimator, computed as R's ``cmprsk::crstm`` does (the statistic of ``cuminc``'s
``Tests``). Strata add their scores and covariances. This implementation evaluates
every time at once with cumulative sums and products over the event times (array
shape times x groups x groups), rather than in a loop over times.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import chi2

from bassinet.errors import DataError
from bassinet.survival._competing_risks import compiled_kernels
from bassinet.survival._results import TableResult
from bassinet.survival._risk_sets import split_by_strata, tabulate
from bassinet.survival._sorted import enabled, tables_by_stratum
from bassinet.survival._validate import (
    FloatArray,
    IntArray,
    as_cause,
    as_float,
    as_labels,
    check_times,
    drop_missing,
    required,
    same_length,
)

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class GrayTest(TableResult):
    """Gray's test for each cause: statistic, degrees of freedom and P value."""

    groups: tuple[Any, ...]
    causes: tuple[int, ...]
    statistic: FloatArray
    df: int
    p_value: FloatArray
    scores: tuple[FloatArray, ...]
    variances: tuple[FloatArray, ...]
    rho: float

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            {"cause": list(self.causes), "statistic": self.statistic, "df": self.df, "p_value": self.p_value}
        )


def _pairs(left: FloatArray, right: FloatArray, weight: FloatArray) -> FloatArray:
    """sum over t and k of left[t, i, k] right[t, j, k] weight[t, k], as one matrix product."""
    n_groups = left.shape[1]
    a = left.transpose(0, 2, 1).reshape(-1, n_groups)
    b = (right * weight[:, None, :]).transpose(0, 2, 1).reshape(-1, n_groups)
    product: FloatArray = a.T @ b
    return product


def _stratum(rs: FloatArray, d1: FloatArray, d2: FloatArray, rho: float) -> tuple[FloatArray, FloatArray]:
    """Score (groups) and covariance (groups x groups) within one stratum.

    ``rs``, ``d1`` and ``d2`` hold, at each time with an event of any cause, the numbers
    at risk, with an event of the cause, and with an event of another cause, per group.
    """
    n_groups = rs.shape[1]
    nd1 = d1.sum(axis=1)
    active = rs > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(active, (rs - d1 - d2) / rs, 1.0)
        skm = np.cumprod(step, axis=0)
        skmm = np.vstack([np.ones((1, n_groups)), skm[:-1]])
        f1 = np.cumsum(np.where(active, skmm * d1 / rs, 0.0), axis=0)
        f1m = np.vstack([np.zeros((1, n_groups)), f1[:-1]])
        t1 = np.where(active, rs / skmm, 0.0)
        tr = t1.sum(axis=1)
        tq = np.where(active, rs * (1 - f1m) / skmm, 0.0).sum(axis=1)
        f = np.cumsum(nd1 / tr)
        fm = np.concatenate(([0.0], f[:-1]))
        fb = (1 - fm) ** rho
        a = fb[:, None, None] * (t1[:, :, None] * (np.eye(n_groups) - t1[:, None, :] / tr[:, None, None]))
        c = np.cumsum(a * (nd1 / (tr * (1 - fm)))[:, None, None], axis=0)
        expected = nd1[:, None] * rs * (1 - f1m) / (skmm * tq[:, None])
        score = (fb[:, None] * np.where(active, d1 - expected, 0.0)).sum(axis=0)
        # deaths of the cause itself
        own = (nd1 > 0)[:, None] & active
        t4 = np.where(skm > 0, 1 - (1 - f)[:, None] / skm, 1.0)
        t5 = np.where(nd1[:, None] > 1, 1 - (nd1[:, None] - 1) / (tr[:, None] * skmm - 1), 1.0)
        t3 = np.where(own, t5 * skmm * nd1[:, None] / (tr[:, None] * rs), 0.0)
        term = a - t4[:, None, :] * c  # [time, i, k]
        v3 = (t4**2 * t3).sum(axis=0)
        v2 = (term * (t4 * t3)[:, None, :]).sum(axis=0)
        v = _pairs(term, term, t3)
        # deaths of the other causes
        other = (skm > 0) & (d2 > 0)
        t4o = np.where(other, (1 - f)[:, None] / skm, 0.0)
        t5o = np.where(d2 > 1, 1 - (d2 - 1) / (rs - 1), 1.0)
        w_other = np.where(other, t4o**2 * t5o * skmm**2 * d2 / rs**2, 0.0)
        v3 += w_other.sum(axis=0)
        v2 -= (c * w_other[:, None, :]).sum(axis=0)
        v += _pairs(c, c, w_other)
    final = c[-1]
    v += (final * v3) @ final.T + final @ v2.T + v2 @ final.T
    return score, v


def _dot(*factors: FloatArray) -> float:
    """The sum of the element-wise product, in one pass (einsum; no BLAS threads, no temporary)."""
    letters = ",".join("i" * len(factors))
    return float(np.einsum(f"{letters}->", *factors))


def _ties(pooled: FloatArray | None, deaths: FloatArray, at_risk: FloatArray) -> FloatArray:
    """Gray's correction for tied deaths, 1 - (d - 1) / (n - 1) where d > 1 and 1 elsewhere.

    ``at_risk`` is n; the correction is computed only at the (few) times with tied
    deaths. With ``pooled``, the deaths are those of all groups together (one row,
    the same for every group), so the tied times are found once.
    """
    result = np.ones(at_risk.shape)
    if pooled is not None:
        tied = np.flatnonzero(pooled > 1)
        if len(tied):
            result[:, tied] = 1 - (pooled[tied] - 1) / (at_risk[:, tied] - 1)
        return result
    rows, tied = np.nonzero(deaths > 1)
    if len(tied):
        result[rows, tied] = 1 - (deaths[rows, tied] - 1) / (at_risk[rows, tied] - 1)
    return result


def _where(mask: NDArray[np.bool_], everywhere: bool, value: FloatArray, other: float) -> FloatArray:
    """``np.where(mask, value, other)``, skipped where ``mask`` is known to hold everywhere."""
    if everywhere:
        return value
    result: FloatArray = np.where(mask, value, other)
    return result


@dataclass(frozen=True)
class _Stratum:
    """What Gray's test needs of one stratum whatever the cause: per group (rows), at event times."""

    rs: FloatArray  # at risk
    deaths: FloatArray  # (groups, causes, times)
    active: NDArray[np.bool_]
    all_active: bool
    skm: FloatArray  # the group's all-cause Kaplan–Meier after each time
    skmm: FloatArray  # ... and just before it
    t1: FloatArray  # rs / skmm
    tr: FloatArray  # sum over groups of t1

    @classmethod
    def of(cls, rs: FloatArray, deaths: FloatArray) -> _Stratum:
        active = rs > 0
        everywhere = bool(active.all())
        d_all = deaths.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = _where(active, everywhere, (rs - d_all) / rs, 1.0)
            skm: FloatArray = np.cumprod(step, axis=1, dtype=np.float64)
            skmm = np.empty_like(skm)
            skmm[:, 0] = 1.0
            skmm[:, 1:] = skm[:, :-1]
            t1 = _where(active, everywhere, rs / skmm, 0.0)
        tr: FloatArray = t1.sum(axis=0)
        return cls(rs, deaths, active, everywhere, skm, skmm, t1, tr)


def _stratum_columns(data: _Stratum, cause: int, rho: float) -> tuple[FloatArray, FloatArray]:
    """:func:`_stratum` on one vector per group (and pair of groups) instead of 3-D arrays.

    The same formulas, term by term, and the quantities that do not depend on the
    cause computed once per stratum (:class:`_Stratum`). With a few groups and a
    million event times, the times x groups x groups temporaries of :func:`_stratum`
    and their matrix products (a BLAS that starts threads on a shared machine) cost
    more than the arithmetic.
    """
    rs, active, everywhere, tr = data.rs, data.active, data.all_active, data.tr
    skm, skmm, t1 = data.skm, data.skmm, data.t1
    d1 = np.ascontiguousarray(data.deaths[:, cause, :])
    d2 = data.deaths.sum(axis=1) - d1
    groups = range(len(rs))
    nd1 = d1.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.cumsum(_where(active, everywhere, skmm * d1 / rs, 0.0), axis=1)
        f1m = np.empty_like(f1)
        f1m[:, 0] = 0.0
        f1m[:, 1:] = f1[:, :-1]
        remaining = _where(active, everywhere, rs * (1 - f1m) / skmm, 0.0)
        tq = remaining.sum(axis=0)
        f = np.cumsum(nd1 / tr)
        fm = np.empty_like(f)
        fm[0] = 0.0
        fm[1:] = f[:-1]
        fb = (1 - fm) ** rho if rho != 0 else None
        growth = nd1 / (tr * (1 - fm))
        if fb is not None:
            growth *= fb
        share = t1 / tr
        # a[i][k] = fb t1_i (delta_ik - t1_k / tr) and c[i][k], its running sum weighted by
        # growth, are symmetric in (i, k) and their rows sum to 0 (the shares sum to 1):
        # only the pairs i < k are computed, the diagonal is minus the rest of the row
        a = [[t1[0]] * len(rs) for _ in groups]
        c = [[t1[0]] * len(rs) for _ in groups]
        for i in groups:
            for k in groups:
                if i < k:
                    a[i][k] = a[k][i] = -t1[i] * share[k]
                    c[i][k] = c[k][i] = np.cumsum(a[i][k] * growth)
        for i in groups:
            a[i][i] = -sum(a[i][k] for k in groups if k != i)
            c[i][i] = -sum(c[i][k] for k in groups if k != i)
        if fb is not None:
            a = [[a[i][k] * fb for k in groups] for i in groups]
        expected = nd1 * remaining / tq
        difference = _where(active, everywhere, d1 - expected, 0.0)
        score = difference.sum(axis=1) if fb is None else np.array([_dot(fb, x) for x in difference])
        # deaths of the cause itself
        # (the masks of Gray's formulas are applied only where they can change a value:
        # a product with no deaths is 0 wherever its other factors are finite)
        one_minus_f = 1 - f
        alive = skm > 0
        alive_everywhere = bool(alive.all())
        t4 = _where(alive, alive_everywhere, 1 - one_minus_f / skm, 1.0)
        t5 = _ties(nd1, np.broadcast_to(nd1, rs.shape), tr * skmm)
        t3 = t5 * skmm * nd1 / (tr * rs)
        if not everywhere:
            t3 = np.where((nd1 > 0) & active, t3, 0.0)
        # deaths of the other causes
        t5o = _ties(None, d2, rs)
        w_other = (one_minus_f / skm) ** 2 * t5o * skmm**2 * d2 / rs**2
        if not (alive_everywhere and everywhere):
            w_other = np.where(alive & (d2 > 0), w_other, 0.0)
        term = [[a[i][k] - t4[k] * c[i][k] for k in groups] for i in groups]
        n_groups = len(rs)
        t4t3 = t4 * t3
        v3 = np.array([_dot(t4[k], t4t3[k]) + float(w_other[k].sum()) for k in groups])
        v2 = np.empty((n_groups, n_groups))
        v = np.empty((n_groups, n_groups))
        for i in groups:
            for k in groups:
                v2[i, k] = _dot(term[i][k], t4t3[k]) - _dot(c[i][k], w_other[k])
            for j in groups:
                if j < i:
                    v[i, j] = v[j, i]
                    continue
                v[i, j] = sum(
                    _dot(term[i][k], term[j][k], t3[k]) + _dot(c[i][k], c[j][k], w_other[k]) for k in groups
                )
    final = np.array([[c[i][k][-1] for k in groups] for i in groups])
    v += (final * v3) @ final.T + final @ v2.T + v2 @ final.T
    return score, v


def gray_test(
    time: ArrayLike,
    cause: ArrayLike,
    group: ArrayLike,
    *,
    strata: ArrayLike | None = None,
    rho: float = 0.0,
    dropna: bool = False,
) -> GrayTest:
    """Test, for each cause, whether its cumulative incidence differs between groups (Gray 1988).

    Parameters
    ----------
    time, cause
        Exit times (>= 0) and causes (0 censored, 1, 2, ... the competing causes).
    group : array_like
        Group labels; at least two distinct ones.
    strata : array_like, optional
        Stratum labels: scores and covariances are summed over strata.
    rho : float
        Power of the weight (1 - F(t-))^rho; 0, the default, is cmprsk's default.
    dropna : bool
        Remove rows with a missing value instead of refusing them.

    Returns
    -------
    GrayTest
        For each cause in ascending order: the statistic (chi-square with groups - 1
        degrees of freedom) and its upper-tail P value. Where the covariance is
        singular the statistic is NaN (cmprsk reports -1 there).

    Raises
    ------
    DataError
        Where a covariance is not finite: the pooled incidence of the cause reaches 1
        before its last event time (Gray's covariance divides by 1 - F(t-)).
        R's ``cmprsk::cuminc`` stops with an error on such data.
    """
    if not (isinstance(rho, int | float) and np.isfinite(rho)):
        raise DataError(f"rho is {rho!r}: it must be a finite number")
    columns, _ = drop_missing(dropna, time=time, cause=cause, group=group, strata=strata)
    t = as_float("time", required(columns, "time"))
    k = as_cause("cause", required(columns, "cause"))
    codes, labels = as_labels("group", required(columns, "group"))
    strata_codes = None if columns["strata"] is None else as_labels("strata", columns["strata"])[0]
    same_length(time=t, cause=k, group=codes, strata=strata_codes)
    check_times("time", t)
    if len(labels) < 2:
        raise DataError(f"group has a single value ({labels[0]!r}): a test compares two or more groups")
    causes = tuple(int(c) for c in np.unique(k[k > 0]))
    if not causes:
        raise DataError("cause has no event (every value is 0, censored): there is nothing to compare")
    n_groups, n_kinds = len(labels), len(causes) + 1
    cause_index = np.searchsorted(np.array((0, *causes)), k)
    fast = enabled()
    kernels = compiled_kernels(len(t))
    if kernels is not None:
        compiled = _compiled(
            kernels, t, codes, cause_index, (n_groups, n_kinds, len(causes)), strata_codes, rho
        )
        return _result(labels, causes, *compiled, float(rho))
    shared = _fast_tables(t, codes * n_kinds + cause_index, n_groups, n_kinds, strata_codes) if fast else None
    tables = []
    if shared is None:
        for rows in split_by_strata(strata_codes, len(t)):
            # one sort per stratum serves every cause: counts by time, group and cause
            _, counts = tabulate(t[rows], codes[rows] * n_kinds + cause_index[rows], n_groups * n_kinds)
            counts = counts.reshape(-1, n_groups, n_kinds)
            at_risk_all = np.cumsum(counts.sum(axis=2)[::-1], axis=0)[::-1]
            deaths = counts[:, :, 1:]
            events = deaths.sum(axis=(1, 2)) > 0
            if events.any():  # a stratum without events adds nothing
                tables.append((at_risk_all[events], deaths[events]))
        if fast:  # whole-number times, counted without a sort: the per-group vectors all the same
            shared = [
                _Stratum.of(np.ascontiguousarray(rs.T), np.ascontiguousarray(deaths.transpose(1, 2, 0)))
                for rs, deaths in tables
            ]
            tables = []
    scores, variances = [], []
    for j in range(len(causes)):
        score, variance = np.zeros(n_groups), np.zeros((n_groups, n_groups))
        if shared is not None:
            for stratum in shared:
                s, v = _stratum_columns(stratum, j, float(rho))
                score += s
                variance += v
        for rs, deaths in tables:
            own = deaths[:, :, j]
            s, v = _stratum(rs, own, deaths.sum(axis=2) - own, float(rho))
            score += s
            variance += v
        scores.append(score)
        variances.append(variance)
    return _result(labels, causes, scores, variances, float(rho))


def _result(
    labels: tuple[Any, ...],
    causes: tuple[int, ...],
    scores: list[FloatArray],
    variances: list[FloatArray],
    rho: float,
) -> GrayTest:
    """The statistics from each cause's score and covariance over all groups (the last one dropped)."""
    statistics, kept_scores, kept_variances = [], [], []
    for cause, score, variance in zip(causes, scores, variances, strict=True):
        if not (np.isfinite(variance).all() and np.isfinite(score).all()):
            raise DataError(_not_estimable(cause, labels))
        u, w = score[:-1], variance[:-1, :-1]
        if np.linalg.matrix_rank(w) < len(u):
            statistics.append(float("nan"))
        else:
            statistics.append(float(u @ np.linalg.solve(w, u)))
        kept_scores.append(u)
        kept_variances.append(w)
    statistic = np.array(statistics)
    df = len(labels) - 1
    return GrayTest(
        labels, causes, statistic, df, chi2.sf(statistic, df), tuple(kept_scores), tuple(kept_variances), rho
    )


def _not_estimable(cause: int, labels: tuple[Any, ...]) -> str:
    """Why Gray's test of ``cause`` has no finite covariance (one line)."""
    groups = ", ".join(repr(label) for label in labels)
    return (
        f"gray_test: cause {cause} cannot be compared between groups {groups}: Gray's covariance is"
        f" not finite, because the pooled incidence of cause {cause}, F(t-), reaches 1 before the last"
        " event time (the groups' risk sets run out) and the covariance divides by 1 - F(t-);"
        " R's cmprsk::cuminc stops on the same data (NA/NaN/Inf in its qr)"
    )


def _compiled(
    kernels: ModuleType,
    time: FloatArray,
    groups: IntArray,
    kind: IntArray,
    shape: tuple[int, int, int],
    strata: IntArray | None,
    rho: float,
) -> tuple[list[FloatArray], list[FloatArray]]:
    """Scores and covariances of every cause by the fused loops of ``_incidence_kernels.py``.

    The counts by stratum come from the one packed sort of the fast path, or, for
    whole-number times in a narrow range (or with the fast paths off), from
    :func:`tabulate`. ``shape`` is (groups, kinds of exit, causes).
    """
    n_groups, n_kinds, n_causes = shape
    code = groups * n_kinds + kind
    n_codes = n_groups * n_kinds
    n_strata = 1 if strata is None else int(strata.max()) + 1
    counts: list[FloatArray] = []
    tables = tables_by_stratum(time, code, n_codes, strata, n_strata, False) if enabled() else None
    if tables is not None:
        counts = [columns.reshape(n_groups, n_kinds, -1) for _, columns in tables]
    else:
        for rows in split_by_strata(strata, len(time)):
            _, by_time = tabulate(time[rows], code[rows], n_codes)
            counts.append(by_time.reshape(-1, n_groups, n_kinds).transpose(1, 2, 0))
    scores = [np.zeros(n_groups) for _ in range(n_causes)]
    variances = [np.zeros((n_groups, n_groups)) for _ in range(n_causes)]
    for by_kind in counts:
        rs, deaths = kernels.event_tables(np.ascontiguousarray(by_kind, dtype=np.float64))
        if rs.shape[1] == 0:
            continue  # a stratum without events adds nothing
        for j in range(n_causes):
            score, variance = kernels.gray_stratum(rs, deaths, j, rho)
            scores[j] += score
            variances[j] += variance
    return scores, variances


def _fast_tables(
    time: FloatArray, code: IntArray, n_groups: int, n_kinds: int, strata: IntArray | None
) -> list[_Stratum] | None:
    """Per stratum, the at-risk and death counts at event times from one packed sort (None: no fit)."""
    n_strata = 1 if strata is None else int(strata.max()) + 1
    tables = tables_by_stratum(time, code, n_groups * n_kinds, strata, n_strata, False)
    if tables is None:
        return None
    result = []
    for _, columns in tables:
        by_kind = columns.reshape(n_groups, n_kinds, -1)
        exits = by_kind.sum(axis=1)
        at_risk = np.cumsum(exits[:, ::-1], axis=1)[:, ::-1]
        deaths = by_kind[:, 1:, :]
        events = np.flatnonzero(deaths.sum(axis=(0, 1)) > 0)
        if len(events) == 0:
            continue  # a stratum without events adds nothing to the scores or the variances
        result.append(
            _Stratum.of(np.ascontiguousarray(at_risk[:, events]), np.ascontiguousarray(deaths[:, :, events]))
        )
    return result
