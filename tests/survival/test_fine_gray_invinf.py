"""The model-based variance of a Fine–Gray fit (crr's ``invinf``) beside the sandwich."""

from __future__ import annotations

import numpy as np
import pytest

from bassinet.survival import coxph, fine_gray
from tests.survival.r_oracle import assert_close, run_r
from tests.survival.test_fine_gray import _generated, _mgus2

# -- by hand -------------------------------------------------------------------------------------
# A (x=1), B (x=0) fail of cause 1 at 1; C (x=1), D (x=0) at 2; E (x=1) and F (x=0) fail of
# cause 2 at 0.5. Nobody is censored, so G = 1 and E, F stay in every subdistribution risk
# set with weight 1. At t=1: six at risk, mean x 1/2, two cases: score 1 - 2 * 1/2 = 0 and
# information 2 * (1/2)(1/2) = 1/2 (Breslow). At t=2: C, D, E, F, mean 1/2: score 0,
# information 1/2. So b = 0 and the information is 1: invinf = 1.
TIME = [1, 1, 2, 2, 0.5, 0.5]
CAUSE = [1, 1, 1, 1, 2, 2]
X = [1, 0, 1, 0, 1, 0]


def test_hand_computed_model_based_variance() -> None:
    fit = fine_gray(TIME, CAUSE, X)
    assert fit.coef[0] == pytest.approx(0.0, abs=1e-12)
    assert fit.naive_var[0, 0] == pytest.approx(1.0, rel=1e-12)


def test_without_competing_failures_invinf_is_the_breslow_cox_variance() -> None:
    # with no other cause, the subdistribution risk set is the ordinary one (censoring
    # weights apply only to those failed of another cause): Fine–Gray is Cox with Breslow ties
    rng = np.random.default_rng(12)
    time, x = np.ceil(rng.exponential(5, 80)), rng.normal(size=(80, 2))
    cause = (rng.random(80) < 0.7).astype(int)
    cox = coxph(time, cause, x, ties="breslow")
    assert fine_gray(time, cause, x).naive_var == pytest.approx(cox.naive_var, rel=1e-9)


CRR = """
fit <- crr(d$time, d$cause, as.matrix(d[, c({columns})]), failcode = {failcode}, gtol = 1e-9, maxiter = 100)
out <- list(invinf = fit$invinf, var = fit$var)
"""


@pytest.mark.r
@pytest.mark.parametrize(
    ("name", "columns", "failcode"),
    [("mgus2", ["age", "male", "hgb"], 1), ("mgus2", ["age", "male"], 2), ("heavy ties", ["x1", "x2"], 1)],
)
def test_model_based_variance_equals_crr_invinf(name: str, columns: list[str], failcode: int) -> None:
    d = _mgus2() if name == "mgus2" else _generated(8)
    r = run_r(CRR.format(columns=", ".join(f'"{c}"' for c in columns), failcode=failcode), d)
    fit = fine_gray(d.time, d.cause, d[columns], cause_of_interest=failcode)
    assert_close(fit.naive_var.ravel(), r["invinf"], what="invinf")
    assert_close(fit.var.ravel(), r["var"], what="sandwich")
