"""A time-dependent exposure: splitting at it, the Mantel–Byar test, landmark analysis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bassinet.errors import DataError
from bassinet.survival import coxph, landmark, logrank, mantel_byar, split_at_exposure
from tests.survival.r_oracle import assert_close, r_dataset, run_r


def _heart_patients() -> pd.DataFrame:
    """One row per patient of R's heart data: exit, event and transplant day (NaN if none)."""
    heart = r_dataset("heart")
    patients = heart.groupby("id").agg(exit=("stop", "max"), event=("event", "last"))
    patients["transplant"] = heart[heart.transplant == 1].groupby("id").start.min()
    return patients


def test_split_by_hand() -> None:
    # A: never exposed; B: exposed at 2 of (0, 5]; C: exposed at 0; D: exposed at 4, exits at 4.
    rows = split_at_exposure([3, 5, 4, 4], [1, 1, 0, 1], [np.nan, 2, 0, 4])
    table = rows.to_frame()
    assert table.values.tolist() == [
        [0, 0.0, 3.0, True, False],
        [1, 0.0, 2.0, False, False],
        [1, 2.0, 5.0, True, True],
        [2, 0.0, 4.0, False, True],
        [3, 0.0, 4.0, True, False],  # the event on the exposure day counts before it
    ]


@pytest.mark.r
def test_split_rebuilds_r_heart_rows() -> None:
    heart = r_dataset("heart")
    p = _heart_patients()
    rows = split_at_exposure(p.exit, p.event, p.transplant)
    assert len(rows.row) == len(heart)
    np.testing.assert_array_equal(rows.start, heart.start)
    np.testing.assert_array_equal(rows.stop, heart.stop)
    np.testing.assert_array_equal(rows.exposed, heart.transplant == 1)
    np.testing.assert_array_equal(rows.event, heart.event == 1)


@pytest.mark.r
def test_mantel_byar_equals_exact_score_test_of_r() -> None:
    p = _heart_patients()
    ours = mantel_byar(p.exit, p.event, p.transplant)
    r = run_r(
        'out <- list(score = coxph(Surv(start, stop, event) ~ transplant, data = d, ties = "exact")$score)',
        r_dataset("heart"),
    )
    assert_close(ours.chisq, r["score"], what="Mantel-Byar chi-square")


def test_mantel_byar_without_any_exposure_change_is_the_logrank_test() -> None:
    # Exposed from time 0 or never: the groups are fixed and Mantel–Byar is the log-rank test.
    rng = np.random.default_rng(2)
    time = rng.integers(1, 30, 80).astype(float)
    event = rng.binomial(1, 0.7, 80)
    group = rng.binomial(1, 0.5, 80)
    ours = mantel_byar(time, event, np.where(group == 1, 0.0, np.nan))
    assert ours.chisq == pytest.approx(logrank(time, event, group).chisq, rel=1e-12)


@pytest.mark.r
def test_split_rows_give_r_time_dependent_cox() -> None:
    p = _heart_patients()
    rows = split_at_exposure(p.exit, p.event, p.transplant)
    ours = coxph(rows.stop, rows.event, rows.exposed.astype(float), entry=rows.start)
    r = run_r(
        "fit <- coxph(Surv(start, stop, event) ~ transplant, data = d,\n"
        "  control = coxph.control(eps = 1e-12))\n"
        "out <- list(coef = coef(fit))",
        r_dataset("heart"),
    )
    assert_close(ours.coef, r["coef"], what="coef")


def test_landmark_by_hand() -> None:
    # At landmark 2: patient 0 (exit 1) is gone; 1 exposed at 1 counts exposed; 2 exposed
    # at 5 counts unexposed (after the landmark); 3 never exposed. Times restart at 2.
    result = landmark([1, 4, 6, 8], [1, 1, 0, 1], [np.nan, 1, 5, np.nan], [2])
    group = result.landmarks[0]
    assert group.n_at_risk == 3 and group.n_exposed == 1
    assert group.row.tolist() == [1, 2, 3]
    assert group.time.tolist() == [2.0, 4.0, 6.0]
    assert group.exposed.tolist() == [True, False, False]


@pytest.mark.r
def test_landmark_logrank_equals_r_survdiff_on_the_landmark_data() -> None:
    p = _heart_patients()
    result = landmark(p.exit, p.event, p.transplant, [30.0])
    r = run_r(
        """
        L <- 30
        keep <- d$exit > L
        g <- !is.na(d$transplant[keep]) & d$transplant[keep] <= L
        test <- survdiff(Surv(d$exit[keep] - L, d$event[keep]) ~ g)
        out <- list(chisq = test$chisq, n = sum(keep), nexp = sum(g))
        """,
        p.reset_index(),
    )
    group = result.landmarks[0]
    assert [group.n_at_risk, group.n_exposed] == [r["n"][0], r["nexp"][0]]
    assert group.test is not None
    assert_close(group.test.chisq, r["chisq"], what="landmark log-rank")


def test_exposure_before_origin_is_refused() -> None:
    with pytest.raises(DataError, match=r"exposure_time\[1\] is -2.0"):
        split_at_exposure([3, 5], [1, 1], [np.nan, -2])


def test_landmark_after_everyone_left_is_refused() -> None:
    with pytest.raises(DataError, match=r"landmark 50\.0: no patient is still at risk"):
        landmark([1, 4], [1, 1], [np.nan, 1], [50])
