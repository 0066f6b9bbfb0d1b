"""Fine–Gray regression: by hand, against cmprsk::crr and survival::finegray, invariants, bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bassinet.errors import DataError, StatisticalWarning
from bassinet.survival import fine_gray
from tests.survival.r_oracle import assert_close, r_dataset, run_r


def test_null_pseudo_loglik_by_hand() -> None:
    # Times 1 (cause 2), 2 (cause 1), 3 (censored), 4 (cause 1); no censoring before 3,
    # so G(2-) = 1 and G(4-) = 1 - 1/2 = 1/2 (one of two at risk censored at 3).
    # t=2: at risk 2, 3, 4 plus the cause-2 failure at 1 with weight G(2-)/G(1-) = 1: S0 = 4.
    # t=4: at risk 4, plus the cause-2 failure with weight G(4-)/G(1-) = 1/2: S0 = 3/2.
    # At b = 0 the log pseudo-likelihood is -log 4 - log(3/2) = -log 6.
    # Each cause-1 failure has the largest x of its risk set, so the pseudo-likelihood
    # rises for ever in b: the fit says so, naming x1.
    with pytest.warns(StatisticalWarning, match="'x1'.*may be infinite"):
        fit = fine_gray([1, 2, 3, 4], [2, 1, 0, 1], [0.0, 1.0, 0.0, 0.5])
    assert fit.loglik_null == pytest.approx(-math.log(6), rel=1e-14)


CRR_R = """
# crr stops when max|score| * max(|b|, 1) < gtol * max(|loglik|, 1); at 1e-9 its
# coefficients no longer change (it may still flag non-convergence at rounding level).
fit <- crr(d$time, d$cause, as.matrix(d[, c({columns})]), failcode = {failcode}, gtol = 1e-9, maxiter = 100)
p <- predict(fit, rbind({new}))
at <- findInterval(c({times}), p[, 1])
out <- list(coef = fit$coef, se = sqrt(diag(fit$var)), loglik = c(fit$loglik.null, fit$loglik),
            cif = p[at, -1, drop = FALSE])  # times by rows; read column by column: row by row
"""


def _compare_crr(d: pd.DataFrame, columns: list[str], failcode: int, new: list[list[float]]) -> None:
    times = [float(d.time.quantile(q)) for q in (0.25, 0.5, 0.9)]
    ours = fine_gray(d.time, d.cause, d[columns], cause_of_interest=failcode)
    r = run_r(
        CRR_R.format(
            columns=", ".join(f'"{c}"' for c in columns),
            failcode=failcode,
            new=", ".join("c(" + ", ".join(map(repr, row)) + ")" for row in new),
            times=", ".join(map(repr, times)),
        ),
        d,
    )
    assert_close(ours.coef, r["coef"], what="coef")
    assert_close(ours.se, r["se"], what="se")
    assert_close([ours.loglik_null, ours.loglik], r["loglik"], what="loglik")
    assert_close(ours.predict_cumulative_incidence(new, times).ravel(), r["cif"].ravel(), what="cif")


def _mgus2() -> pd.DataFrame:
    m = r_dataset("mgus2")
    return pd.DataFrame(
        {
            "time": np.where(m.pstat == 0, m.futime, m.ptime),
            "cause": np.where(m.pstat == 0, 2 * m.death, 1),
            "age": m.age,
            "male": (m.sex == "M").astype(float),
            "hgb": m.hgb,
        }
    ).dropna()


@pytest.mark.r
def test_mgus2_progression_with_death_competing_equals_crr() -> None:
    _compare_crr(_mgus2(), ["age", "male", "hgb"], 1, [[60.0, 1.0, 13.0], [75.0, 0.0, 11.0]])


@pytest.mark.r
def test_mgus2_death_as_the_cause_of_interest_equals_crr() -> None:
    _compare_crr(_mgus2(), ["age", "male"], 2, [[70.0, 0.0]])


@pytest.mark.r
def test_transplant_waiting_list_equals_crr() -> None:
    t = r_dataset("transplant")
    codes = {"censored": 0, "ltx": 1, "death": 2, "withdraw": 3}
    d = pd.DataFrame(
        {
            "time": t.futime,
            "cause": t.event.map(codes),
            "age": t.age,
            "male": (t.sex == "m").astype(float),
            "abo_o": (t.abo == "O").astype(float),
        }
    ).dropna()
    d = d[d.time > 0]  # crr reads G at time 0 after its jump there; G(0-) is 1 by definition
    _compare_crr(d, ["age", "male", "abo_o"], 1, [[50.0, 1.0, 1.0]])


@pytest.mark.r
def test_coefficients_agree_with_survival_finegray_and_weighted_coxph() -> None:
    # Therneau's finegray() expands the data so that a weighted Cox model fits the same
    # subdistribution hazard: a second, independent oracle for the estimates. Its weights
    # are summarised per interval of the censoring curve and agree with crr's to about
    # 1e-7 on continuous times (crr is the 1e-6 oracle above), hence rtol 1e-5 here.
    rng = np.random.default_rng(12)
    x = rng.normal(size=300)
    d = pd.DataFrame(
        {"time": rng.exponential(1, 300) * np.exp(-0.3 * x), "cause": rng.integers(0, 3, 300), "x": x}
    )
    r = run_r(
        """
        d$f <- factor(d$cause, 0:2, c("censor", "a", "b"))
        fg <- finegray(Surv(time, f) ~ ., data = d, etype = "a")
        fit <- coxph(Surv(fgstart, fgstop, fgstatus) ~ x, weights = fgwt, data = fg,
                     control = coxph.control(eps = 1e-12))
        out <- list(coef = coef(fit))
        """,
        d,
    )
    assert_close(fine_gray(d.time, d.cause, d[["x"]]).coef, r["coef"], rtol=1e-5, what="coef")


def test_shuffling_rows_changes_nothing() -> None:
    d = _generated(5)
    a = fine_gray(d.time, d.cause, d[["x1", "x2"]])
    s = d.sample(frac=1, random_state=3)
    b = fine_gray(s.time, s.cause, s[["x1", "x2"]])
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-10)
    np.testing.assert_allclose(a.var, b.var, rtol=1e-9)


def test_without_competing_events_it_is_the_breslow_cox_model() -> None:
    from bassinet.survival import coxph

    d = _generated(6).assign(cause=lambda f: np.where(f.cause == 2, 0, f.cause))
    fg = fine_gray(d.time, d.cause, d[["x1", "x2"]])
    cox = coxph(d.time, d.cause == 1, d[["x1", "x2"]], ties="breslow")
    np.testing.assert_allclose(fg.coef, cox.coef, rtol=1e-8)
    np.testing.assert_allclose(fg.loglik, cox.loglik, rtol=1e-12)


def _generated(seed: int, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    return pd.DataFrame(
        {
            "time": np.round(rng.exponential(5, n) * np.exp(-0.3 * x1), 1) + 0.1,
            "cause": rng.choice([0, 1, 2], n, p=[0.3, 0.4, 0.3]),
            "x1": x1,
            "x2": rng.binomial(1, 0.4, n).astype(float),
        }
    )


@pytest.mark.r
def test_heavy_ties_equal_crr() -> None:
    _compare_crr(_generated(8), ["x1", "x2"], 1, [[0.0, 1.0], [1.0, 0.0]])


def test_no_failures_of_the_cause_of_interest_is_refused() -> None:
    with pytest.raises(DataError, match="no failures of cause_of_interest=3"):
        fine_gray([1, 2, 3], [1, 2, 0], [0.1, 0.2, 0.3], cause_of_interest=3)


def test_nan_covariate_names_row_and_column() -> None:
    with pytest.raises(DataError, match=r"x\[row 1, column 'age'\] is nan"):
        fine_gray([1, 2, 3], [1, 2, 0], pd.DataFrame({"age": [1.0, np.nan, 2.0]}))


def test_negative_cause_is_refused() -> None:
    with pytest.raises(DataError, match=r"cause\[2\] is -1.0"):
        fine_gray([1, 2, 3], [1, 2, -1], [0.1, 0.2, 0.3])
