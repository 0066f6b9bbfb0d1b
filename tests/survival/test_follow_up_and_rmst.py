"""Median follow-up and restricted mean survival time: by hand, against R, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from bassinet.errors import DataError
from bassinet.survival import follow_up, rmst
from tests.survival.data import generated, r_cases
from tests.survival.r_oracle import assert_close, run_r


def test_hand_computed_rmst() -> None:
    # 1 2 3 all die: S = 2/3 on [1,2), 1/3 on [2,3), 0 after. Area to tau=4: 1 + 2/3 + 1/3 = 2.
    # Areas after each death: after t=1: 2/3 + 1/3 = 1; after 2: 1/3; after 3: 0.
    # Variance: 1^2 * 1/(3*2) + (1/3)^2 * 1/(2*1) = 1/6 + 1/18 = 2/9.
    result = rmst([1, 2, 3], [1, 1, 1], tau=4)
    assert result.estimate[0] == pytest.approx(2.0, rel=1e-15)
    assert result.std_err[0] == pytest.approx(np.sqrt(2 / 9), rel=1e-15)


def test_hand_computed_follow_up() -> None:
    # Reverse KM of 1* 2 3* 4 5 (* = event, so censored for follow-up): censorings at 2, 4, 5.
    # At 2: 4 at risk -> 3/4; at 4: 2 at risk -> 3/8: the median is 4.
    result = follow_up([1, 2, 3, 4, 5], [1, 0, 1, 0, 0])
    assert result.median == 4
    assert (result.observed_median, result.observed_min, result.observed_max) == (3, 1, 5)


RMEAN = """
f <- survfit(Surv(time, event) ~ group, data = d)
t <- summary(f, rmean = {tau})$table
f1 <- survfit(Surv(time, event) ~ 1, data = d)
t1 <- summary(f1, rmean = {tau})$table
out <- list(rm = t[, "rmean"], se = t[, "se(rmean)"], rm1 = t1["rmean"], se1 = t1["se(rmean)"])
"""


@pytest.mark.r
@pytest.mark.parametrize(
    "case", [*r_cases()[:3], generated("heavy ties", 300, 51, ties=8, groups=2)], ids=lambda c: c.name
)
@pytest.mark.parametrize("horizon", [0.3, 0.8, 1.5])
def test_rmst_equals_survfit_rmean(case: object, horizon: float) -> None:
    f = case.frame  # type: ignore[attr-defined]
    tau = round(float(f["time"].max()) * horizon, 2)
    r = run_r(RMEAN.format(tau=tau), f)
    grouped = rmst(f["time"], f["event"], tau=tau, group=f["group"])
    overall = rmst(f["time"], f["event"], tau=tau)
    assert_close(grouped.estimate, r["rm"], what="rmean by group")
    assert_close(grouped.std_err, r["se"], what="se by group")
    assert_close(overall.estimate, r["rm1"], what="rmean")
    assert_close(overall.std_err, r["se1"], what="se")


def test_rmst_difference_is_second_minus_first_with_independent_errors() -> None:
    result = rmst([1, 2, 3, 1, 4, 6], [1, 1, 1, 1, 0, 1], tau=5, group=["a", "a", "a", "b", "b", "b"])
    assert result.difference is not None
    assert result.difference.groups == ("a", "b")
    assert result.difference.estimate == pytest.approx(result.estimate[1] - result.estimate[0], rel=1e-15)
    assert result.difference.std_err == pytest.approx(np.hypot(*result.std_err), rel=1e-15)
    z = result.difference.estimate / result.difference.std_err
    assert result.difference.lower == pytest.approx(
        result.difference.estimate - 1.959963984540054 * result.difference.std_err, rel=1e-12
    )
    assert 0 < result.difference.p_value < 1 and z > 0


@pytest.mark.r
@pytest.mark.parametrize("conf_type", ["log-log", "log", "plain"])
def test_follow_up_equals_reverse_survfit(conf_type: str) -> None:
    f = r_cases()[1].frame  # lung
    r = run_r(
        f"fr <- survfit(Surv(time, 1 - event) ~ 1, data = d, conf.type = '{conf_type}')\n"
        "q <- quantile(fr, 0.5); out <- list(q = c(q$quantile, q$lower, q$upper))",
        f,
    )
    result = follow_up(f["time"], f["event"], conf_type=conf_type)  # type: ignore[arg-type]
    assert_close([result.median, result.lower, result.upper], r["q"])
    assert result.observed_median == float(np.median(f["time"]))


@pytest.mark.parametrize("tau", [0, -1, float("nan"), float("inf")])
def test_a_bad_horizon_is_refused(tau: float) -> None:
    with pytest.raises(DataError, match=r"tau is .*: the horizon must be a finite number > 0"):
        rmst([1, 2], [1, 1], tau=tau)


def test_follow_up_refuses_bad_times() -> None:
    with pytest.raises(DataError, match=r"time\[1\] is -3.0: times must be >= 0"):
        follow_up([1, -3], [1, 0])
