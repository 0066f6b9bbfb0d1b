"""The exact (discrete-time) partial likelihood of the Cox model, for ``ties="exact"``.

Kalbfleisch & Prentice (1973; 2002, section 4.2.3) read tied death times as truly
simultaneous events of a discrete-time model: at a time with d deaths D among the risk
set R, the contribution is the conditional probability that exactly the set D fails,
given that d of R fail,

    L_t = exp(sum_{i in D} eta_i) / sum_{S subset R, |S| = d} exp(sum_{j in S} eta_j),

the conditional-logistic likelihood of a matched set. This is R's
``coxph(ties = "exact")``. The denominator sums over C(|R|, d) subsets; it is computed by
the recursion of Gail, Lubin & Rubinstein (1981): with r_j = exp(eta_j) and B(k, m) the
sum over subsets of size k of the first m members of R of the product of their r,

    B(k, m) = B(k, m - 1) + r_m B(k - 1, m - 1),   B(0, m) = 1,   B(k, m) = 0 for k > m,

and its first and second derivatives in beta follow by differentiating the same
recursion (d r_m / d beta = r_m x_m). The cost is O(|R| d p^2) per tied time.

At a time with a single death the exact term is Breslow's (and Efron's), so the
likelihood is computed as Breslow's from the fast engine plus, at each tied time only,
the exact term minus Breslow's.

Scaling every risk of a risk set by c multiplies B(d) by c^d and leaves B'/B and B''/B
unchanged. The risks are scaled so that B(d) is near 1: by Maclaurin's inequality
B(d) <= C(|R|, d) mean(r)^d, so c = 1 / (mean(r) C(|R|, d)^(1/d)). The intermediate sums
B(k), k < d, are then at most about exp(log C(|R|, k) - k/d log C(|R|, d)), which stays in
floating-point range for thousands at risk with hundreds of tied deaths, where the
unscaled C(|R|, d) would overflow; terms that underflow are below 1e-300 of the total.

References
----------
Kalbfleisch JD, Prentice RL (1973). Marginal likelihoods based on Cox's regression and
    life model. Biometrika 60:267-278.
Kalbfleisch JD, Prentice RL (2002). The Statistical Analysis of Failure Time Data,
    2nd ed. Wiley.
Gail MH, Lubin JH, Rubinstein LV (1981). Likelihood calculations for matched case-control
    studies and survival studies with tied death times. Biometrika 68:703-707.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import gammaln

from bassinet.errors import DataError
from bassinet.survival._partial_likelihood import PartialLikelihood, RiskSets

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class ExactEvaluation:
    """The exact log partial likelihood, its score and information at one beta."""

    loglik: float
    score: FloatArray
    information: FloatArray


def subset_sums(r: FloatArray, x: FloatArray, d: int) -> tuple[float, FloatArray, FloatArray]:
    """log B, B'/B and B''/B for B the sum over d-subsets of the product of ``r`` (Gail et al. 1981).

    ``r`` are the risks of the risk set, ``x`` its covariates (rows by p). B' and B'' are
    the gradient and Hessian of B in beta where r = exp(x beta). The risks are first
    scaled so that B is near 1 (see the module's notes), and log B corrected for it.
    """
    n, p = x.shape
    log_choose = float(gammaln(n + 1) - gammaln(d + 1) - gammaln(n - d + 1))
    log_scale = -np.log(r.mean()) - log_choose / d
    r = r * np.exp(log_scale)
    b = np.zeros(d + 1)
    b[0] = 1.0
    db = np.zeros((d + 1, p))
    d2b = np.zeros((d + 1, p, p))
    with np.errstate(over="ignore", invalid="ignore"):  # out of range is refused below
        for m in range(n):
            rm, xm = r[m], x[m]
            top = min(m + 1, d)  # B(k, m) is zero for k > m
            prev_b, prev_db, prev_d2b = b[:top], db[:top], d2b[:top]
            outer_x = np.outer(xm, xm)
            cross = xm[None, :, None] * prev_db[:, None, :]
            new_d2b = rm * (
                outer_x[None] * prev_b[:, None, None] + cross + cross.transpose(0, 2, 1) + prev_d2b
            )
            new_db = rm * (xm[None, :] * prev_b[:, None] + prev_db)
            new_b = rm * prev_b
            b[1 : top + 1] += new_b
            db[1 : top + 1] += new_db
            d2b[1 : top + 1] += new_d2b
    total = b[d]
    if not (np.isfinite(total) and total > 0):
        raise DataError(
            f"a tied time with {d} deaths among {len(r)} at risk is too large for the exact "
            "likelihood (the sum over subsets is out of floating-point range): use ties='efron'"
        )
    return float(np.log(total)) - d * log_scale, db[d] / total, d2b[d] / total


class ExactLikelihood:
    """The exact partial likelihood on checked, sorted data (``CoxData`` of ``_cox.py``)."""

    def __init__(
        self,
        entry: FloatArray | None,
        time: FloatArray,
        event: NDArray[np.bool_],
        stratum: IntArray,
        x: FloatArray,
        offset: FloatArray,
    ) -> None:
        sets = RiskSets.build(entry, time, event, stratum, efron=False)
        self.breslow = PartialLikelihood(sets, x, np.ones(len(time)), offset)
        self.x, self.offset = x, offset
        self.tied: list[tuple[IntArray, int]] = []
        deaths = np.flatnonzero(event)
        keys, counts = np.unique(np.column_stack([stratum[deaths], time[deaths]]), axis=0, return_counts=True)
        for (s, t), count in zip(keys, counts, strict=True):
            if count < 2:
                continue
            at_risk = (stratum == s) & (time >= t)
            if entry is not None:
                at_risk &= entry < t
            self.tied.append((np.flatnonzero(at_risk).astype(np.int64), int(count)))

    def evaluate(self, beta: FloatArray) -> ExactEvaluation:
        """Breslow's likelihood, with each tied time's term replaced by the exact one."""
        ev = self.breslow.evaluate(beta)
        loglik, score, information = float(ev.loglik), ev.score.copy(), ev.information.copy()
        eta = self.x @ beta + self.offset
        for rows, d in self.tied:
            e = eta[rows]
            r = np.exp(e - e.max())
            xr = self.x[rows]
            s0 = r.sum()
            s1 = r @ xr
            s2 = (xr * r[:, None]).T @ xr
            # Breslow's term less its sum of eta over the deaths (the same in the exact one)
            breslow_mean = s1 / s0
            log_b, mean, second = subset_sums(r, xr, d)
            loglik += d * np.log(s0) - log_b
            score += d * breslow_mean - mean
            information += (second - np.outer(mean, mean)) - d * (
                s2 / s0 - np.outer(breslow_mean, breslow_mean)
            )
        return ExactEvaluation(loglik, score, information)
