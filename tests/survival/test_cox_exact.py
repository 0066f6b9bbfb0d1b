"""Cox regression with ties="exact" (Kalbfleisch & Prentice): by hand, then against R's coxph."""

from __future__ import annotations

import numpy as np
import pytest

from bassinet.errors import DataError
from bassinet.survival import CoxPH, coxph, logrank
from bassinet.survival._cox_exact import subset_sums
from tests.survival.data import generated
from tests.survival.r_oracle import assert_close, r_dataset, run_r

# -- by hand -------------------------------------------------------------------------------------
# A (x=1) and B (x=0) die at 1; C (x=1) and D (x=0) are censored at 2. At t=1 the risk set
# {A, B, C, D} has risks (e^b, 1, e^b, 1); its six pairs sum to e^2b + 4 e^b + 1, and the pair
# that died has e^b, so L(b) = e^b / (e^2b + 4 e^b + 1). d log L / db = 1 - (2 e^2b + 4 e^b) / N
# is 0 at b = 0: the estimate is 0, with L(0) = 1/6. The information is
# N''/N - (N'/N)^2 = 8/6 - (6/6)^2 = 1/3 at b = 0, so the variance is 3.
TIME, EVENT, X = [1, 1, 2, 2], [1, 1, 0, 0], [1, 0, 1, 0]


def test_hand_computed_exact_likelihood() -> None:
    fit = coxph(TIME, EVENT, X, ties="exact")
    assert fit.coef[0] == pytest.approx(0.0, abs=1e-12)
    assert fit.loglik == pytest.approx(np.log(1 / 6), rel=1e-14)
    assert fit.var[0, 0] == pytest.approx(3.0, rel=1e-12)


def test_breslow_differs_on_the_same_ties() -> None:
    # Breslow's L(b) = e^b / (2 e^b + 2)^2 also peaks at b = 0 (score 1 - 2 * 2/4 = 0), but its
    # information there is 2 * (1/2)(1/2) = 1/2: variance 2, not the exact likelihood's 3
    assert coxph(TIME, EVENT, X, ties="breslow").var[0, 0] == pytest.approx(2.0, rel=1e-12)


def test_subset_sums_by_hand() -> None:
    # r = (2, 3, 5): pairs 6 + 10 + 15 = 31. With x = (1, 0, 0), the gradient of B in beta is
    # the sum over pairs holding the first member: 6 + 10 = 16, and so is the Hessian.
    log_b, mean, second = subset_sums(np.array([2.0, 3.0, 5.0]), np.array([[1.0], [0.0], [0.0]]), 2)
    assert log_b == pytest.approx(np.log(31), rel=1e-15)
    assert mean[0] == pytest.approx(16 / 31, rel=1e-15)
    assert second[0, 0] == pytest.approx(16 / 31, rel=1e-15)


def test_without_ties_exact_is_breslow() -> None:
    rng = np.random.default_rng(3)
    time, event, x = rng.exponential(1, 60), rng.random(60) < 0.7, rng.normal(size=(60, 2))
    exact, breslow = coxph(time, event, x, ties="exact"), coxph(time, event, x, ties="breslow")
    assert exact.coef == pytest.approx(breslow.coef, rel=1e-10)
    assert exact.var == pytest.approx(breslow.var, rel=1e-10)


def test_weights_are_refused_as_in_r() -> None:
    with pytest.raises(
        DataError, match=r"weights\[1\] is not 1: case weights are not supported with ties='exact'"
    ):
        coxph(TIME, EVENT, X, ties="exact", weights=[1, 2, 1, 1])


def test_robust_variance_is_refused_as_in_r() -> None:
    with pytest.raises(DataError, match="robust variance is not available with ties='exact'"):
        coxph(TIME, EVENT, X, ties="exact", cluster=[1, 1, 2, 2])


def test_residuals_are_refused_for_exact_fits() -> None:
    with pytest.raises(DataError, match="score_residuals is not available for ties='exact'"):
        coxph(TIME, EVENT, X, ties="exact").score_residuals()


# -- against R ------------------------------------------------------------------------------------

EXACT = """
fit <- coxph({formula}, data = d, ties = "exact")
out <- list(coef = coef(fit), var = fit$var, loglik = fit$loglik, score = fit$score, wald = fit$wald.test)
"""


def _compare(fit: object, r: dict[str, np.ndarray]) -> None:
    assert_close(fit.coef, r["coef"], what="coef")  # type: ignore[attr-defined]
    assert_close(fit.var.ravel(), r["var"], what="variance")  # type: ignore[attr-defined]
    assert_close([fit.loglik_null, fit.loglik], r["loglik"], what="log-likelihoods")  # type: ignore[attr-defined]
    assert_close(fit.score_test.statistic, r["score"], what="score test")  # type: ignore[attr-defined]
    assert_close(fit.wald_test.statistic, r["wald"], what="Wald test")  # type: ignore[attr-defined]


@pytest.mark.r
def test_lung_with_its_tied_days_equals_r() -> None:
    lung = r_dataset("lung")[["time", "status", "age", "sex", "inst"]].dropna().reset_index(drop=True)
    r = run_r(EXACT.format(formula="Surv(time, status) ~ age + sex"), lung)
    _compare(coxph(lung.time, lung.status == 2, lung[["age", "sex"]], ties="exact"), r)


@pytest.mark.r
def test_heavy_ties_with_strata_and_offset_equal_r() -> None:
    f = generated("ties", 200, 31, ties=6, groups=2).frame
    rng = np.random.default_rng(31)
    f = f.assign(
        x1=rng.normal(size=len(f)),
        x2=f.group.astype(float),
        s=np.arange(len(f)) % 2,
        o=rng.normal(0, 0.3, len(f)),
    )
    r = run_r(EXACT.format(formula="Surv(time, event) ~ x1 + x2 + strata(s) + offset(o)"), f)
    fit = coxph(f.time, f.event, f[["x1", "x2"]], ties="exact", strata=f.s, offset=f.o)
    _compare(fit, r)


@pytest.mark.r
def test_start_stop_rows_equal_r() -> None:
    # R's agexact enumerates the subsets: keep the tied sets small
    f = generated("late entry", 80, 32, ties=12, groups=2, entry=True).frame
    f = f.assign(x=np.random.default_rng(32).normal(size=len(f)))
    r = run_r(EXACT.format(formula="Surv(entry, time, event) ~ x + group"), f)
    _compare(coxph(f.time, f.event, f[["x", "group"]].astype(float), entry=f.entry, ties="exact"), r)


@pytest.mark.r
def test_mantel_byar_data_give_rs_exact_time_dependent_fit() -> None:
    heart = r_dataset("heart")
    r = run_r(EXACT.format(formula="Surv(start, stop, event) ~ transplant + age"), heart)
    fit = coxph(heart.stop, heart.event, heart[["transplant", "age"]], entry=heart.start, ties="exact")
    _compare(fit, r)


def test_score_test_at_zero_is_the_logrank_test_even_with_hundreds_of_tied_deaths() -> None:
    # At b = 0 the exact likelihood's score and information at a tied time are the
    # hypergeometric mean and variance of the log-rank test (R: survdiff equals
    # coxph(ties = "exact")$score). Here up to ~900 of 2000 die at one time: C(2000, 900)
    # is far beyond floating point, so this also tests the scaling of the subset sums.
    rng = np.random.default_rng(9)
    group = rng.integers(0, 2, 2000)
    time = np.ceil(rng.exponential(1, 2000) * np.exp(-0.3 * group))
    event = rng.random(2000) < 0.8
    fit = coxph(time, event, group.astype(float), ties="exact")
    assert fit.score_test.statistic == pytest.approx(logrank(time, event, group).chisq, rel=1e-9)


@pytest.mark.r
def test_formula_interface_fits_exact_ties_with_a_factor_as_r() -> None:
    veteran = r_dataset("veteran")
    r = run_r(EXACT.format(formula="Surv(time, status) ~ karno + celltype"), veteran)
    model = CoxPH("karno + C(celltype)", time="time", event="status", ties="exact").fit(veteran)
    _compare(model.result_, r)
