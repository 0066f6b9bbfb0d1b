"""The robust score test of a Cox model (R's ``coxph(..., cluster=)$rscore``): by hand, then against R."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bassinet.survival import coxph
from tests.survival.r_oracle import assert_close, r_dataset, run_r

# -- by hand -------------------------------------------------------------------------------------
# A (x=1), B (x=0), C (x=1) die at 1, 2, 3. At b = 0 the risk-set means of x are 2/3 (A B C),
# 1/2 (B C) and 1 (C). Score residual of a row: sum over the times it is at risk of
# (x - mean)(dN - 1/n):
#   A: (1 - 2/3)(1 - 1/3)                                  =  2/9   =  8/36
#   B: (0 - 2/3)(0 - 1/3) + (0 - 1/2)(1 - 1/2)             =  2/9 - 1/4 = -1/36
#   C: (1 - 2/3)(0 - 1/3) + (1 - 1/2)(0 - 1/2) + 0         = -1/9 - 1/4 = -13/36
# U = -6/36 = -1/6 (the score: (1 - 2/3) + (0 - 1/2) + 0), D'D = (64 + 1 + 169)/1296 = 13/72,
# and the robust score test is U^2 / D'D = (1/36) / (13/72) = 2/13.


def test_hand_computed_robust_score_test() -> None:
    fit = coxph([1, 2, 3], [1, 1, 1], [1, 0, 1], robust=True)
    assert fit.robust_score_test is not None
    assert fit.robust_score_test.statistic == pytest.approx(2 / 13, rel=1e-14)
    assert fit.robust_score_test.df == 1


def test_clusters_of_one_row_each_change_nothing() -> None:
    plain = coxph([1, 2, 3, 4], [1, 1, 0, 1], [1, 0, 1, 0], robust=True).robust_score_test
    clustered = coxph([1, 2, 3, 4], [1, 1, 0, 1], [1, 0, 1, 0], cluster=[7, 8, 9, 10]).robust_score_test
    assert plain is not None and clustered is not None
    assert clustered.statistic == pytest.approx(plain.statistic, rel=1e-14)


def test_there_is_no_robust_score_test_without_the_robust_variance() -> None:
    assert coxph([1, 2, 3], [1, 1, 1], [1, 0, 1]).robust_score_test is None


# -- against R ------------------------------------------------------------------------------------

RSCORE = """
fit <- coxph({formula}, data = d, ties = "{ties}"{extra})
out <- list(rscore = fit$rscore, score = fit$score)
"""


@pytest.mark.r
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_lung_clustered_by_institution_equals_r(ties: str) -> None:
    lung = r_dataset("lung")[["time", "status", "age", "sex", "inst"]].dropna().reset_index(drop=True)
    r = run_r(
        RSCORE.format(formula="Surv(time, status) ~ age + sex", ties=ties, extra=", cluster = inst"), lung
    )
    fit = coxph(lung.time, lung.status == 2, lung[["age", "sex"]], cluster=lung.inst, ties=ties)  # type: ignore[arg-type]
    assert fit.robust_score_test is not None
    assert_close(fit.robust_score_test.statistic, r["rscore"], what="robust score test")
    assert_close(fit.score_test.statistic, r["score"], what="score test")


@pytest.mark.r
def test_start_stop_rows_clustered_by_patient_with_strata_equal_r() -> None:
    heart = r_dataset("heart")
    r = run_r(
        RSCORE.format(
            formula="Surv(start, stop, event) ~ transplant + age + strata(surgery)",
            ties="efron",
            extra=", cluster = id",
        ),
        heart,
    )
    fit = coxph(
        heart.stop,
        heart.event,
        heart[["transplant", "age"]],
        entry=heart.start,
        strata=heart.surgery,
        cluster=heart.id,
    )
    assert fit.robust_score_test is not None
    assert_close(fit.robust_score_test.statistic, r["rscore"], what="robust score test")


@pytest.mark.r
def test_fractional_weights_equal_r() -> None:
    veteran = r_dataset("veteran")
    veteran = veteran.assign(w=np.random.default_rng(5).uniform(0.5, 2.0, len(veteran)))
    r = run_r(
        RSCORE.format(formula="Surv(time, status) ~ karno + trt", ties="efron", extra=", weights = w"),
        veteran,
    )
    fit = coxph(veteran.time, veteran.status, veteran[["karno", "trt"]], weights=veteran.w)
    assert fit.robust and fit.robust_score_test is not None
    assert_close(fit.robust_score_test.statistic, r["rscore"], what="robust score test")


@pytest.mark.r
@pytest.mark.parametrize("clustered", [False, True])
def test_initial_values_and_offset_are_treated_as_r_treats_them(clustered: bool) -> None:
    # R evaluates the residuals for rscore at X init and leaves the offset out
    rng = np.random.default_rng(14)
    d = pd.DataFrame(
        {
            "t": rng.exponential(1, 80),
            "e": (rng.random(80) < 0.7).astype(int),
            "x": rng.normal(size=80),
            "o": rng.normal(0, 0.5, 80),
            "id": np.tile(np.arange(40), 2),
        }
    )
    extra = ", init = 0.3" + (", cluster = id" if clustered else ", robust = TRUE")
    r = run_r(RSCORE.format(formula="Surv(t, e) ~ x + offset(o)", ties="efron", extra=extra), d)
    fit = coxph(d.t, d.e, d.x, offset=d.o, init=[0.3], cluster=d.id if clustered else None, robust=True)
    assert fit.robust_score_test is not None
    assert_close(fit.robust_score_test.statistic, r["rscore"], what="robust score test")
