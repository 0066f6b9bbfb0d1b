"""Cox regression: by hand, against R's coxph / cox.zph / survfit, invariants, bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bassinet.errors import DataError, StatisticalWarning
from bassinet.survival import coxph
from tests.survival.r_oracle import assert_close, r_dataset, run_r

# ---------------------------------------------------------------------------- by hand


def test_score_test_by_hand() -> None:
    # Deaths at 1 (x=1) and 2 (x=0); the third (x=1) is censored at 3. At beta = 0:
    # t=1: all three at risk, mean x 2/3: score 1 - 2/3 = 1/3, variance (2/3)(1/3) = 2/9.
    # t=2: x in {0, 1} at risk, mean 1/2: score -1/2, variance 1/4.
    # U = -1/6, I = 2/9 + 1/4 = 17/36, score test U^2 / I = (1/36) / (17/36) = 1/17.
    fit = coxph([1, 2, 3], [1, 1, 0], [1, 0, 1])
    assert fit.score_test.statistic == pytest.approx(1 / 17, rel=1e-13)
    assert fit.loglik_null == pytest.approx(-math.log(3) - math.log(2), rel=1e-14)


def test_efron_and_breslow_null_loglik_by_hand() -> None:
    # Two deaths tie at 1 among three at risk. At beta = 0 Breslow counts the full risk
    # set twice: -2 log 3. Efron removes half the deaths' risk for the second: 3 - 1 = 2,
    # so -(log 3 + log 2).
    time, event, x = [1, 1, 2], [1, 1, 0], [1, 0, 1]
    assert coxph(time, event, x, ties="breslow").loglik_null == pytest.approx(-2 * math.log(3), rel=1e-14)
    assert coxph(time, event, x, ties="efron").loglik_null == pytest.approx(-math.log(6), rel=1e-14)


def test_monotone_likelihood_by_hand_warns_naming_the_covariate() -> None:
    # Deaths at 1 (x=1) and 2 (x=0), censored at 3 (x=0); r = exp(b).
    # t=1: risk set x = {1, 0, 0}, score term 1 - r/(r+2) = 2/(r+2).
    # t=2: risk set x = {0, 0}, score term 0 - 0 = 0.
    # U(b) = 2/(r+2) > 0 for every b: the likelihood rises for ever; R warns, so do we.
    with pytest.warns(StatisticalWarning, match="'x1'"):
        coxph([1, 2, 3], [1, 1, 0], [1, 0, 0])


# ---------------------------------------------------------------------------- R oracle

COX_R = """
ctl <- coxph.control(eps = 1e-12, toler.chol = 1e-13)
fit <- coxph({formula}, data = d, ties = "{ties}", control = ctl{extra})
s <- summary(fit)
cf <- s$coefficients
out <- list(coef = coef(fit), se = sqrt(diag(fit$var)), z = cf[, "z"], p = cf[, "Pr(>|z|)"],
            loglik = fit$loglik, score = fit$score, wald = fit$wald.test,
            lr = 2 * diff(fit$loglik), conc = fit$concordance[1:5],
            lower = s$conf.int[, "lower .95"], upper = s$conf.int[, "upper .95"])
if (!is.null(fit$naive.var)) out$naive_se <- sqrt(diag(fit$naive.var))
z <- cox.zph(fit)
out$zph <- z$table[, "chisq"]
out$zph_p <- z$table[, "p"]
"""


def _compare(ours, r: dict[str, np.ndarray]) -> None:  # type: ignore[no-untyped-def]
    assert_close(ours.coef, r["coef"], what="coef")
    assert_close(ours.se, r["se"], what="se")
    assert_close(ours.z, r["z"], what="z")
    assert_close(ours.p_value, r["p"], what="p")
    assert_close(ours.lower, r["lower"], what="lower")
    assert_close(ours.upper, r["upper"], what="upper")
    assert_close([ours.loglik_null, ours.loglik], r["loglik"], what="loglik")
    assert_close(ours.score_test.statistic, r["score"], what="score test")
    assert_close(ours.wald_test.statistic, r["wald"], what="wald test")
    assert_close(ours.lr_test.statistic, r["lr"], what="lr test")
    c = ours.concordance
    assert_close([c.concordant, c.discordant, c.tied_x, c.tied_y, c.tied_xy], r["conc"], what="concordance")
    if "naive_se" in r:
        assert_close(np.sqrt(np.diag(ours.naive_var)), r["naive_se"], what="naive se")
    zph = ours.zph()
    assert_close(zph.chisq, r["zph"], what="cox.zph chisq")
    assert_close(zph.p_value, r["zph_p"], what="cox.zph p")


def _lung() -> pd.DataFrame:
    lung = r_dataset("na.omit(lung[, c('time', 'status', 'age', 'sex', 'ph.ecog', 'wt.loss', 'inst')])")
    return lung.assign(event=lung.status == 2)


@pytest.mark.r
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_lung_four_covariates_equal_r(ties: str) -> None:
    d = _lung()
    ours = coxph(d.time, d.event, d[["age", "sex", "ph.ecog", "wt.loss"]], ties=ties)  # type: ignore[arg-type]
    r = run_r(
        COX_R.format(formula="Surv(time, status) ~ age + sex + ph.ecog + wt.loss", ties=ties, extra=""), d
    )
    _compare(ours, r)


@pytest.mark.r
def test_lung_robust_variance_clustered_by_institution_equals_r() -> None:
    d = _lung()
    ours = coxph(d.time, d.event, d[["age", "sex", "ph.ecog"]], cluster=d.inst)
    r = run_r(
        COX_R.format(
            formula="Surv(time, status) ~ age + sex + ph.ecog", ties="efron", extra=", cluster = inst"
        ),
        d,
    )
    assert ours.robust
    _compare(ours, r)


@pytest.mark.r
def test_veteran_stratified_by_cell_type_equals_r() -> None:
    d = r_dataset("veteran")
    ours = coxph(d.time, d.status, d[["trt", "karno", "age", "prior"]], strata=d.celltype)
    r = run_r(
        COX_R.format(
            formula="Surv(time, status) ~ trt + karno + age + prior + strata(celltype)",
            ties="efron",
            extra="",
        ),
        d,
    )
    _compare(ours, r)


@pytest.mark.r
def test_pbc_with_case_weights_and_offset_equals_r() -> None:
    d = r_dataset("na.omit(pbc[, c('time', 'status', 'age', 'bili', 'albumin', 'edema')])")
    d = d.assign(
        event=(d.status == 2).astype(int),
        logbili=np.log(d.bili),
        w=1 + (np.arange(len(d)) % 5) / 4,
        off=0.01 * d.age,
    )
    ours = coxph(d.time, d.event, d[["logbili", "albumin", "edema"]], weights=d.w, offset=d.off)
    r = run_r(
        COX_R.format(
            formula="Surv(time, event) ~ logbili + albumin + edema + offset(off)",
            ties="efron",
            extra=", weights = w",
        ),
        d,
    )
    _compare(ours, r)


@pytest.mark.r
def test_colon_two_rows_per_patient_robust_by_id_equals_r() -> None:
    d = r_dataset("na.omit(colon[, c('id', 'time', 'status', 'rx', 'sex', 'age', 'nodes', 'etype')])")
    d = d.assign(lev=(d.rx == "Lev").astype(float), lev5fu=(d.rx == "Lev+5FU").astype(float))
    x = d[["lev", "lev5fu", "sex", "age", "nodes"]]
    ours = coxph(d.time, d.status, x, strata=d.etype, cluster=d.id, ties="breslow")
    r = run_r(
        COX_R.format(
            formula="Surv(time, status) ~ lev + lev5fu + sex + age + nodes + strata(etype)",
            ties="breslow",
            extra=", cluster = id",
        ),
        d,
    )
    _compare(ours, r)


@pytest.mark.r
def test_heart_transplant_as_time_varying_covariate_equals_r() -> None:
    d = r_dataset("heart")
    ours = coxph(d.stop, d.event, d[["age", "year", "surgery", "transplant"]], entry=d.start, cluster=d.id)
    r = run_r(
        COX_R.format(
            formula="Surv(start, stop, event) ~ age + year + surgery + transplant",
            ties="efron",
            extra=", cluster = id",
        ),
        d,
    )
    _compare(ours, r)


def _ties_data(seed: int, n: int = 200) -> pd.DataFrame:
    """Heavy ties (times 1..8), late entry, a singleton stratum, weights."""
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.binomial(1, 0.4, n).astype(float),
            "stop": rng.integers(2, 9, n).astype(float),
            "event": rng.binomial(1, 0.7, n),
            "s": rng.choice(["a", "b", "c"], n),
            "w": rng.integers(1, 4, n) + 0.5,  # not whole: R's cox.zph refuses integer weights
        }
    )
    d["start"] = np.floor(d.stop * rng.random(n) * 0.5)
    d.loc[0, "s"] = "lonely"  # a stratum of one subject
    d.loc[0, "event"] = 1
    return d


@pytest.mark.r
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_heavy_ties_late_entry_strata_weights_equal_r(ties: str) -> None:
    d = _ties_data(7)
    ours = coxph(d.stop, d.event, d[["x1", "x2"]], entry=d.start, strata=d.s, weights=d.w, ties=ties)  # type: ignore[arg-type]
    r = run_r(
        COX_R.format(
            formula="Surv(start, stop, event) ~ x1 + x2 + strata(s)", ties=ties, extra=", weights = w"
        ),
        d,
    )
    _compare(ours, r)


@pytest.mark.r
def test_predicted_survival_and_baseline_hazard_equal_r_survfit() -> None:
    d = _ties_data(11).assign(s=lambda f: np.where(f.s == "lonely", "a", f.s))
    ours = coxph(d.stop, d.event, d[["x1", "x2"]], entry=d.start, strata=d.s)
    new = pd.DataFrame({"x1": [0.5, -1.0], "x2": [1.0, 0.0], "s": ["b", "c"]})
    r = run_r(
        """
        fit <- coxph(Surv(start, stop, event) ~ x1 + x2 + strata(s), data = d,
                     control = coxph.control(eps = 1e-12))
        nd <- data.frame(x1 = c(0.5, -1), x2 = c(1, 0), s = c("b", "c"))
        sf <- survfit(fit, newdata = nd)
        b <- basehaz(fit, centered = FALSE)
        out <- list(surv = t(summary(sf, times = c(2.5, 4, 8), extend = TRUE)$surv),
                    bh = b$hazard[b$strata == "a"])
        """,
        d,
    )
    predicted = ours.predict_survival(new[["x1", "x2"]], [2.5, 4, 8], strata=new.s)
    # R gives one curve per new row; row i of summary(...)$surv is row i here (after t()).
    assert_close(predicted.ravel(), r["surv"].ravel(), what="predicted survival")
    base = ours.baseline_hazard()
    assert_close(base.loc[base.stratum == "a", "cumhaz"], r["bh"], what="basehaz stratum a")


@pytest.mark.r
def test_separating_covariate_warns_as_r_does() -> None:
    # Everyone with x = 1 dies before anyone with x = 0: the likelihood rises for ever.
    time = np.arange(1, 21, dtype=float)
    x = (time <= 8).astype(float)
    z = np.random.default_rng(3).normal(size=20)
    event = np.ones(20)
    r = run_r(
        """
        w <- NULL
        fit <- withCallingHandlers(coxph(Surv(time, event) ~ x + z, data = d),
            warning = function(m) {w <<- conditionMessage(m); invokeRestart("muffleWarning")})
        out <- list(warned_about_x = grepl("variable +1 ;", w))
        """,
        {"time": time, "event": event, "x": x, "z": z},
    )
    assert r["warned_about_x"][0] == 1
    with pytest.warns(StatisticalWarning, match="'x'.*may be infinite"):
        coxph(time, event, pd.DataFrame({"x": x, "z": z}))


@pytest.mark.r
def test_constant_covariate_is_refused_where_r_gives_na() -> None:
    d = _ties_data(5).assign(c=1.0)
    r = run_r("fit <- coxph(Surv(stop, event) ~ x1 + c, data = d); out <- list(c = coef(fit)[['c']])", d)
    assert np.isnan(r["c"][0])  # R cannot estimate it either
    with pytest.raises(DataError, match="'c' is constant"):
        coxph(d.stop, d.event, d[["x1", "c"]])


# ---------------------------------------------------------------------------- invariants


def test_shuffling_rows_changes_nothing() -> None:
    d = _ties_data(2)
    a = coxph(d.stop, d.event, d[["x1", "x2"]], entry=d.start, strata=d.s)
    s = d.sample(frac=1, random_state=1)
    b = coxph(s.stop, s.event, s[["x1", "x2"]], entry=s.start, strata=s.s)
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-10)
    np.testing.assert_allclose(a.var, b.var, rtol=1e-9)


def test_integer_weights_equal_repeated_rows() -> None:
    d = _ties_data(4).assign(w=lambda f: np.floor(f.w))
    weighted = coxph(d.stop, d.event, d[["x1", "x2"]], weights=d.w, ties="breslow")
    repeated = d.loc[d.index.repeat(d.w.astype(int))]
    copies = coxph(repeated.stop, repeated.event, repeated[["x1", "x2"]], ties="breslow")
    np.testing.assert_allclose(weighted.coef, copies.coef, rtol=1e-9)
    np.testing.assert_allclose(weighted.loglik, copies.loglik, rtol=1e-12)


def test_splitting_a_row_at_a_time_without_events_changes_nothing() -> None:
    # (0, 5] is the same data as (0, 2] + (2, 5]: the counting-process form is exact.
    d = _ties_data(9)
    whole = coxph(d.stop, d.event, d[["x1", "x2"]])
    cut = 1.5
    early = d[d.stop > cut].assign(stop=cut, event=0, start=0.0)
    late = d[d.stop > cut].assign(start=cut)
    rest = d[d.stop <= cut].assign(start=0.0)
    rows = pd.concat([early, late, rest])
    split = coxph(rows.stop, rows.event, rows[["x1", "x2"]], entry=rows.start)
    np.testing.assert_allclose(whole.coef, split.coef, rtol=1e-10)
    np.testing.assert_allclose(whole.var, split.var, rtol=1e-9)


# ---------------------------------------------------------------------------- bad input


def test_collinear_covariates_are_named() -> None:
    d = _ties_data(1).assign(x3=lambda f: 2 * f.x1 - f.x2)
    with pytest.raises(DataError, match="'x3' is collinear with 'x1', 'x2'"):
        coxph(d.stop, d.event, d[["x1", "x2", "x3"]])


def test_nan_covariate_names_row_and_column() -> None:
    d = _ties_data(1)
    d.loc[17, "x2"] = np.nan
    with pytest.raises(DataError, match=r"x\[row 17, column 'x2'\] is nan"):
        coxph(d.stop, d.event, d[["x1", "x2"]])


def test_strata_with_one_level_is_refused() -> None:
    with pytest.raises(DataError, match="strata has a single level \\('a'\\)"):
        coxph([1, 2, 3], [1, 0, 1], [0.1, 0.2, 0.4], strata=["a", "a", "a"])


def test_start_not_before_stop_names_the_row() -> None:
    with pytest.raises(DataError, match=r"entry\[1\] is 3.0, not before time\[1\] \(3.0\)"):
        coxph([2, 3, 4], [1, 0, 1], [0.1, 0.2, 0.4], entry=[0, 3, 1])


def test_negative_time_names_the_row() -> None:
    with pytest.raises(DataError, match=r"time\[2\] is -1.0: times must be >= 0"):
        coxph([2, 3, -1], [1, 0, 1], [0.1, 0.2, 0.4])


def test_weight_not_positive_names_the_row() -> None:
    with pytest.raises(DataError, match=r"weights\[0\] is 0.0: weights must be finite and > 0"):
        coxph([2, 3, 1], [1, 0, 1], [0.1, 0.2, 0.4], weights=[0, 1, 1])


def test_unknown_ties_method_is_refused() -> None:
    with pytest.raises(DataError, match="ties is 'discrete'"):
        coxph([2, 3, 1], [1, 0, 1], [0.1, 0.2, 0.4], ties="discrete")  # type: ignore[arg-type]


@pytest.mark.r
def test_score_residuals_and_linear_predictor_equal_r_in_input_row_order() -> None:
    d = _ties_data(13)
    ours = coxph(d.stop, d.event, d[["x1", "x2"]], entry=d.start, strata=d.s)
    r = run_r(
        """
        fit <- coxph(Surv(start, stop, event) ~ x1 + x2 + strata(s), data = d,
                     control = coxph.control(eps = 1e-12))
        out <- list(score = residuals(fit, type = "score"), lp = fit$linear.predictors)
        """,
        d,
    )
    # R returns an n x 2 matrix, read column by column.
    assert_close(ours.score_residuals().ravel(order="F"), r["score"], what="score residuals")
    assert_close(ours.linear_predictor, r["lp"], what="linear predictor")


def test_running_out_of_iterations_raises_convergence_error() -> None:
    from bassinet.errors import ConvergenceError

    d = _ties_data(3)
    with pytest.raises(ConvergenceError, match="did not converge in 1 iterations"):
        coxph(d.stop, d.event, d[["x1", "x2"]], max_iter=1)
