"""Fine–Gray regression on the subdistribution hazard, in O(n log n) per Newton step.

The subdistribution hazard of cause 1 keeps those who failed of another cause in the
risk set after their failure, weighted by the chance of still being uncensored:
subject j, failed of another cause at t_j < t, counts at t with weight G(t-)/G(t_j-),
G the Kaplan–Meier estimate of the censoring distribution (Fine & Gray 1999, inverse
probability of censoring weights). The log pseudo-likelihood (Breslow ties) is

    l(b) = sum_{cause 1} eta_i - sum_k d_k log S0_k,
    S0_k = sum_{t_j >= t_k} r_j + G(t_k-) sum_{t_j < t_k, other cause} r_j / G(t_j-),

with r = exp(eta). Both sums are cumulative sums over the data sorted by time, so each
Newton step is O(n p^2) after one sort, where ``cmprsk::crr`` loops over every pair.

The variance is Fine & Gray's sandwich H^-1 (sum_i (eta_i + psi_i)(eta_i + psi_i)')
H^-1: eta_i is subject i's score residual, psi_i the term for estimating G, the
integral of q(u)/Y(u) against subject i's censoring martingale, with
q(u) = sum_{t_k >= u} d_k G(t_k-)/S0_k sum_{other cause, t_j < u} r_j (x_j - xbar_k)/G(t_j-).
It is the variance ``crr`` reports, computed here with cumulative sums rather than its
triple loop.

Reference: Fine JP, Gray RJ (1999). A proportional hazards model for the subdistribution
of a competing risk. J Am Stat Assoc 94:496-509.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from bassinet.errors import DataError
from bassinet.survival._cox import (
    ChiSquareTest,
    Coefficients,
    _check_collinear,
    _inverse,
    _matrix,
    _names,
    warn_infinite,
)
from bassinet.survival._kaplan_meier import KaplanMeier, kaplan_meier
from bassinet.survival._newton import infinite, maximise
from bassinet.survival._partial_likelihood import safe_shift
from bassinet.survival._results import TableResult
from bassinet.survival._validate import (
    FloatArray,
    IntArray,
    as_cause,
    as_float,
    check_conf_level,
    check_times,
)

if TYPE_CHECKING:
    import pandas as pd


def _rev_cumsum(values: FloatArray) -> FloatArray:
    """out[k] = sum of values[k:], along the first axis."""
    return np.cumsum(values[::-1], axis=0)[::-1]


def _bin(index: IntArray, values: FloatArray, size: int) -> FloatArray:
    if values.ndim == 1:
        return np.bincount(index, weights=values, minlength=size).astype(np.float64)
    out = np.empty((size, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(index, weights=values[:, j], minlength=size)
    return out


@dataclass(frozen=True)
class _Sorted:
    """Data sorted by time, with the failure-time grid and censoring weights."""

    x: FloatArray
    status: IntArray  # 0 censored, 1 cause of interest, 2 another cause
    hi: IntArray  # number of cause-1 failure times <= t_j
    n_times: int
    fail_time: FloatArray
    d: FloatArray  # cause-1 failures per failure time
    g_fail: FloatArray  # G(t_k-)
    g_row: FloatArray  # G(t_j-)
    time: FloatArray


def _sort(time: FloatArray, status: IntArray, x: FloatArray) -> _Sorted:
    order = np.argsort(time, kind="stable")
    time, status, x = time[order], status[order], x[order]
    fail_time, d = np.unique(time[status == 1], return_counts=True)
    hi = np.searchsorted(fail_time, time, side="right").astype(np.int64)
    # G: the Kaplan–Meier curve of censoring (censorings as the events), just before t.
    censoring = kaplan_meier(time, status == 0)
    assert isinstance(censoring, KaplanMeier)  # no groups were given
    g_fail, g_row = censoring.before(fail_time), censoring.before(time)
    return _Sorted(x, status, hi, len(fail_time), fail_time, d.astype(np.float64), g_fail, g_row, time)


@dataclass(frozen=True)
class _Step:
    loglik: float
    score: FloatArray
    information: FloatArray
    risk: FloatArray
    s0: FloatArray
    xbar: FloatArray


def _evaluate(data: _Sorted, beta: FloatArray) -> _Step:
    x, hi, size = data.x, data.hi, data.n_times
    eta = x @ beta
    shift = safe_shift(eta)
    risk = np.exp(eta - shift)
    other = data.status == 2
    full0 = _rev_cumsum(_bin(hi, risk, size + 1))[1:]  # rows with hi > k
    full1 = _rev_cumsum(_bin(hi, x * risk[:, None], size + 1))[1:]
    ratio = np.where(other, risk / data.g_row, 0.0)
    part0 = np.cumsum(_bin(hi, ratio, size + 1))[:size]  # other-cause rows with hi <= k
    part1 = np.cumsum(_bin(hi, x * ratio[:, None], size + 1), axis=0)[:size]
    s0 = full0 + data.g_fail * part0
    s1 = full1 + data.g_fail[:, None] * part1
    xbar = s1 / s0[:, None]
    cases = data.status == 1
    loglik = float((eta[cases] - shift).sum() - data.d @ np.log(s0))
    score = x[cases].sum(axis=0) - data.d @ xbar
    c = data.d / s0
    before = np.concatenate([[0.0], np.cumsum(c)])  # sum of c over k < hi
    after = np.concatenate([_rev_cumsum(c * data.g_fail), [0.0]])  # sum of c G over k >= hi
    g = risk * (before[hi] + np.where(other, after[hi] / data.g_row, 0.0))
    information = (x * g[:, None]).T @ x - (xbar * data.d[:, None]).T @ xbar
    return _Step(loglik, score, information, risk, s0, xbar)


def _sandwich_middle(data: _Sorted, step: _Step) -> FloatArray:
    """sum_i (eta_i + psi_i)(eta_i + psi_i)': Fine & Gray's meat, by cumulative sums."""
    x, hi = data.x, data.hi
    risk, s0, xbar = step.risk, step.s0, step.xbar
    other = data.status == 2
    n, p = x.shape
    # eta_i: the score residual of each subject
    a = data.d / s0  # per failure time
    cum_a = np.concatenate([[0.0], np.cumsum(a)])
    cum_ax = np.concatenate([np.zeros((1, p)), np.cumsum(xbar * a[:, None], axis=0)])
    ag = a * data.g_fail
    tail_ag = np.concatenate([_rev_cumsum(ag), [0.0]])
    tail_agx = np.concatenate([_rev_cumsum(xbar * ag[:, None]), np.zeros((1, p))])
    resid = -risk[:, None] * (x * cum_a[hi][:, None] - cum_ax[hi])
    w_other = np.where(other, risk / data.g_row, 0.0)
    resid -= w_other[:, None] * (x * tail_ag[hi][:, None] - tail_agx[hi])
    cases = data.status == 1
    resid[cases] += x[cases] - xbar[hi[cases] - 1]
    # psi_i: q(u) at each distinct censoring time u, integrated against the martingale
    times, first = np.unique(data.time, return_index=True)
    n_risk = (n - first).astype(np.float64)
    cens = data.status == 0
    group = np.searchsorted(times, data.time)
    n_cens = np.bincount(group[cens], minlength=len(times)).astype(np.float64)
    # over failure times t_k >= u: P(u), Q(u); over other-cause rows t_j < u: a0(u), a1(u)
    k_from = np.searchsorted(data.fail_time, times, side="left")
    p_u = tail_ag[k_from]
    q_u = tail_agx[k_from]
    ratio = np.where(other, 1.0 / data.g_row, 0.0) * risk
    j_before = np.searchsorted(data.time, times, side="left")
    cum_r = np.concatenate([[0.0], np.cumsum(ratio)])
    cum_rx = np.concatenate([np.zeros((1, p)), np.cumsum(x * ratio[:, None], axis=0)])
    q = cum_rx[j_before] * p_u[:, None] - cum_r[j_before][:, None] * q_u
    q = np.where(n_cens[:, None] > 0, q, 0.0)
    compensator = np.cumsum(q * (n_cens / n_risk**2)[:, None], axis=0)
    psi = -compensator[group]
    psi[cens] += q[group[cens]] / n_risk[group[cens], None]
    total = resid + psi
    result: FloatArray = total.T @ total
    return result


@dataclass(frozen=True)
class FineGrayFit(Coefficients, TableResult):
    """A fitted Fine–Gray model; ``hazard_ratio`` is the subdistribution hazard ratio.

    ``to_frame()`` is the table of ``summary(crr(...))``. ``var`` is Fine & Gray's
    sandwich (crr's ``var``); ``naive_var`` is the model-based variance, the inverse of
    the information of the pseudo-likelihood at the estimate (crr's ``invinf``), which
    ignores that the censoring weights were estimated.
    """

    names: tuple[str, ...]
    coef: FloatArray
    var: FloatArray
    loglik_null: float
    loglik: float
    lr_test: ChiSquareTest
    n: int
    n_cases: int
    n_competing: int
    iterations: int
    conf_level: float
    cause_of_interest: object
    fail_time: FloatArray = field(repr=False)
    baseline_jumps: FloatArray = field(repr=False)
    naive_var: FloatArray = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            {
                "coef": self.coef,
                "exp(coef)": self.hazard_ratio,
                "se(coef)": self.se,
                "z": self.z,
                "p": self.p_value,
                "lower": self.lower,
                "upper": self.upper,
            },
            index=list(self.names),
        )

    def predict_cumulative_incidence(self, x: ArrayLike, times: ArrayLike) -> FloatArray:
        """F1(t | x) = 1 - exp(-exp(x b) Lambda1(t)) for each new row at each time (as ``predict.crr``)."""
        new = _matrix(x, len(self.names), self.names)
        at = as_float("times", times)
        cumulative = np.concatenate([[0.0], np.cumsum(self.baseline_jumps)])
        base = cumulative[np.searchsorted(self.fail_time, at, side="right")]
        incidence: FloatArray = 1.0 - np.exp(-np.exp(new @ self.coef)[:, None] * base[None, :])
        return incidence


def fine_gray(
    time: ArrayLike,
    cause: ArrayLike,
    x: ArrayLike,
    *,
    cause_of_interest: int = 1,
    names: Sequence[str] | None = None,
    conf_level: float = 0.95,
    max_iter: int = 50,
    tol: float = 1e-10,
) -> FineGrayFit:
    """Fit the Fine–Gray proportional subdistribution hazards model, as ``cmprsk::crr``.

    ``cause`` is 0 for censored and 1, 2, ... for the causes; failures of any cause but
    ``cause_of_interest`` compete. Newton steps start at zero and are halved while the
    pseudo-likelihood would fall; convergence when its relative change is at most ``tol``.
    """
    check_conf_level(conf_level)
    t = as_float("time", time)
    check_times("time", t)
    codes = as_cause("cause", cause)
    matrix = _matrix(x, None)
    if not (len(t) == len(codes) == matrix.shape[0]):
        raise DataError(
            f"time has {len(t)} values, cause {len(codes)} and x {matrix.shape[0]} rows: "
            "each row needs one of each"
        )
    label = _names(x, matrix.shape[1], names)
    if not np.isfinite(matrix).all():
        row, col = np.argwhere(~np.isfinite(matrix))[0]
        raise DataError(
            f"x[row {row}, column {label[col]!r}] is {matrix[row, col]}: covariates must be finite"
        )
    if not (codes == cause_of_interest).any():
        raise DataError(f"cause has no failures of cause_of_interest={cause_of_interest}")
    status = np.where(codes == 0, 0, np.where(codes == cause_of_interest, 1, 2)).astype(np.int64)
    _check_collinear(matrix - matrix.mean(axis=0), np.ones(len(t)), label)
    # Centred covariates: the same fit, a smaller information to lose digits from (as coxph).
    center = matrix.mean(axis=0)
    data = _sort(t, status, matrix - center)
    p = matrix.shape[1]
    beta = np.zeros(p)
    beta, current, null, iterations = maximise(
        lambda b: _evaluate(data, b),
        beta,
        what="the Fine–Gray model",
        names=label,
        max_iter=max_iter,
        tol=tol,
    )
    bread = _inverse(current.information, label)
    warn_infinite(infinite(beta, bread, current.score, tol), label)
    var = bread @ _sandwich_middle(data, current) @ bread
    jumps = data.d / (current.s0 * np.exp(safe_shift(data.x @ beta) + center @ beta))
    return FineGrayFit(
        names=label,
        coef=beta,
        var=var,
        loglik_null=null.loglik,
        loglik=current.loglik,
        lr_test=ChiSquareTest.of(2 * (current.loglik - null.loglik), p),
        n=len(t),
        n_cases=int((status == 1).sum()),
        n_competing=int((status == 2).sum()),
        iterations=iterations,
        conf_level=conf_level,
        cause_of_interest=cause_of_interest,
        fail_time=data.fail_time,
        baseline_jumps=jumps,
        naive_var=np.asarray(bread, dtype=np.float64),
    )
