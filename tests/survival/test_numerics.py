"""Numerical robustness of the Cox and Fine–Gray engines: sums, Newton's last step, monotone likelihoods.

These are the defects of issue 14: risk-set sums that lost the small risk sets to
cancellation at a large coefficient (so that the result depended on the BLAS kernel),
Newton stopping one step before R's ``coxfit6``, and separation reported in Cox only.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bassinet.errors import ConvergenceError, StatisticalWarning
from bassinet.survival import coxph, fine_gray
from bassinet.survival._cox import _inverse
from bassinet.survival._partial_likelihood import over_range, range_sum
from tests.survival.r_oracle import assert_close, r_dataset, run_r

# ---------------------------------------------------------------------------- sums


def _brute_sums(lo: np.ndarray, hi: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    return np.array([math.fsum(values[(lo <= k) & (k < hi)]) for k in range(size)])


@pytest.mark.parametrize("nested", [True, False])
def test_risk_set_sums_keep_small_risk_sets_exact_beside_huge_ones(nested: bool) -> None:
    # Rows with risk 1e6 leave at the first death times; the later risk sets hold only
    # risks near 1e-3. A running total that subtracts the leavers keeps an error of an
    # ulp of 1e6 (2e-10), a relative 1e-7 of what is left; the sums must be exact to eps.
    rng = np.random.default_rng(14)
    n, size = 400, 50
    hi = rng.integers(1, size + 1, n)
    lo = np.zeros(n, dtype=np.int64) if nested else rng.integers(0, size, n)
    lo = np.minimum(lo, hi)
    values = np.where(hi <= 5, 1e6, 1e-3 * rng.random(n))
    segments = np.array([0]) if nested else None
    ours = range_sum(lo, hi, values, size, segments)
    np.testing.assert_allclose(ours, _brute_sums(lo, hi, values, size), rtol=1e-14, atol=0)


@pytest.mark.parametrize("segments", [None, np.array([0, 7, 20])])
def test_range_sums_by_scan_and_by_strata_equal_the_sums_by_definition(segments: np.ndarray | None) -> None:
    rng = np.random.default_rng(15)
    size, n = 33, 300
    if segments is None:
        lo = rng.integers(0, size, n)
        hi = np.minimum(lo + rng.integers(0, 12, n), size)
    else:  # right-censored: each row's range starts at its stratum's first death time
        bounds = [*segments.tolist(), size]
        s = rng.integers(0, len(segments), n)
        lo = np.array([bounds[i] for i in s])
        hi = np.array([rng.integers(bounds[i], bounds[i + 1] + 1) for i in s])
    values = rng.normal(size=(n, 2))
    for column in range(2):
        np.testing.assert_allclose(
            range_sum(lo, hi, values, size, segments)[:, column],
            _brute_sums(lo, hi, values[:, column], size),
            rtol=1e-12,
            atol=1e-12,
        )
    per_time = rng.random(size)
    expected = np.array([math.fsum(per_time[a:b]) for a, b in zip(lo, hi, strict=True)])
    np.testing.assert_allclose(over_range(per_time, lo, hi, segments), expected, rtol=1e-14, atol=0)


# ---------------------------------------------------------------------------- separation


def test_separating_covariate_with_late_entry_warns_and_returns_the_fit() -> None:
    # The separating data of test_cox, as (start, stop] rows split at 0.5: the compensated sums.
    time = np.arange(1, 21, dtype=float)
    x = (time <= 8).astype(float)
    z = np.random.default_rng(3).normal(size=20)
    rows = pd.DataFrame({"start": 0.0, "stop": time, "event": 1.0, "x": x, "z": z})
    early = rows.assign(stop=0.5, event=0.0)
    late = rows.assign(start=0.5)
    split = pd.concat([early, late], ignore_index=True)
    with pytest.warns(StatisticalWarning, match="'x'.*may be infinite"):
        fit = coxph(split.stop, split.event, split[["x", "z"]], entry=split.start)
    with pytest.warns(StatisticalWarning, match="'x'.*may be infinite"):
        whole = coxph(time, np.ones(20), pd.DataFrame({"x": x, "z": z}))
    assert fit.coef[0] > 15
    assert fit.coef[1] == pytest.approx(whole.coef[1], rel=1e-6)
    assert np.isfinite(fit.se).all()


@pytest.mark.r
def test_fine_gray_with_a_separating_covariate_warns_naming_it() -> None:
    # Every cause-1 failure before time 9 has x = 1; no one with x = 1 is left after.
    t = np.arange(1, 21, dtype=float)
    x = (t <= 8).astype(float)
    z = np.random.default_rng(3).normal(size=20)
    cause = np.where(np.arange(20) % 3 == 2, 2, 1)
    cause[t <= 8] = 1
    cause[-2:] = 0
    r = run_r(
        "fit <- crr(d$t, d$cause, cbind(d$x, d$z)); out <- list(conv = fit$converged, coef = fit$coef)",
        {"t": t, "cause": cause, "x": x, "z": z},
    )
    assert r["conv"][0] == 0  # crr does not converge: its x coefficient runs off
    with pytest.warns(StatisticalWarning, match="'x'.*may be infinite"):
        fit = fine_gray(t, cause, np.c_[x, z], names=["x", "z"])
    assert fit.coef[0] > 10
    assert_close(fit.coef[1], r["coef"][1:], rtol=1e-4, what="z beside the runaway x")


def test_a_flat_information_is_refused_naming_the_covariate() -> None:
    info = np.array([[2.0, 0.0], [0.0, -1e-14]])
    flat = r"not positive definite at the fit \(its diagonal: 'b' -1e-14\)"
    with pytest.raises(ConvergenceError, match=flat):
        _inverse(info, ("a", "b"))


# ---------------------------------------------------------------------------- Newton's last step

SMALL = {
    "time": [3, 1, 2, 1, 1, 5, 2, 3, 12, 4, 6, 2, 4, 2, 6, 4, 5, 14, 6, 3, 1, 15, 2, 2],
    "event": [1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 1],
    "x": [1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0, 1],
}


@pytest.mark.r
@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_newton_returns_its_last_full_step_as_coxfit6(ties: str) -> None:
    # Breslow: before the fix 0.08514054270 against R's 0.08514063478 (1.1e-6 apart):
    # the last full step lowered the log-likelihood by rounding noise and was dropped.
    r = run_r(
        f"fit <- coxph(Surv(time, event) ~ x, data = d, ties = '{ties}'); "
        "out <- list(coef = coef(fit), iter = fit$iter, loglik = fit$loglik)",
        SMALL,
    )
    fit = coxph(SMALL["time"], SMALL["event"], SMALL["x"], ties=ties)  # type: ignore[arg-type]
    assert_close(fit.coef, r["coef"], rtol=1e-10, what="coef")
    assert_close([fit.loglik_null, fit.loglik], r["loglik"], rtol=1e-12, what="loglik")
    assert fit.iterations == int(r["iter"][0])


@pytest.mark.r
def test_jasa1_breslow_transplant_coefficient_matches_r() -> None:
    # Before the fix 0.12368028658 against R's 0.123680513896 (1.8e-6).
    d = r_dataset("jasa1")
    r = run_r(
        "fit <- coxph(Surv(start, stop, event) ~ transplant, data = d, ties = 'breslow'); "
        "out <- list(coef = coef(fit), se = sqrt(diag(fit$var)))",
        d,
    )
    fit = coxph(d.stop, d.event, d[["transplant"]], entry=d.start, ties="breslow")
    assert_close(fit.coef, r["coef"], rtol=1e-9, what="coef")
    assert_close(fit.se, r["se"], rtol=1e-9, what="se")


def test_a_tight_tol_gives_no_spurious_infinite_warning() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", StatisticalWarning)
        fit = coxph(SMALL["time"], SMALL["event"], SMALL["x"], ties="breslow", tol=1e-14)
    assert fit.coef[0] == pytest.approx(0.08514063478397925, rel=1e-9)
