"""Confidence limits of Aalen–Johansen incidences and the SE of the event-free state, as survfit's."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from bassinet.errors import DataError
from bassinet.survival import CumulativeIncidence, cumulative_incidence
from tests.survival.data import generated
from tests.survival.r_oracle import assert_close, run_r
from tests.survival.test_competing_risks import DATA


def _fit(*args: object, **kwargs: object) -> CumulativeIncidence:
    fit = cumulative_incidence(*args, **kwargs)  # type: ignore[arg-type]
    assert isinstance(fit, CumulativeIncidence)
    return fit


# -- by hand -------------------------------------------------------------------------------------
# Four subjects fail at 1, 2, 3, 4 (causes 1, 2, 1, 2), none censored. Then the event-free
# probability is the empirical S(t) = sum_i w_i I(T_i > t) / sum_i w_i, whose derivative in
# w_i (at w = 1) is (I(T_i > t) - S) / n, so its infinitesimal-jackknife variance is
# sum_i (I_i - S)^2 / n^2 = S (1 - S) / n: 3/64, 1/16, 3/64, 0 at t = 1, 2, 3, 4.
# At t = 2, S = 1/2 and se = 1/4, so se(log S) = 1/2 and the 95% log limits are
# S exp(-+ z / 2); the incidence of cause 1 is 1/4 with the same variance as the
# empirical proportion 1/4 (3/64), so se(log F) = sqrt(3)/8 / (1/4) = sqrt(3)/2; the upper
# limit 1/4 exp(z sqrt(3)/2) = 1.36 is capped at 1, as R's pmin(upper, 1).


def test_hand_computed_variance_of_the_event_free_state() -> None:
    fit = _fit([1, 2, 3, 4], [1, 2, 1, 2], variance="survfit")
    assert fit.survival_variance == pytest.approx([3 / 64, 1 / 16, 3 / 64, 0.0], rel=1e-14, abs=1e-16)
    assert fit.survival_std_err[1] == pytest.approx(0.25, rel=1e-14)


def test_hand_computed_log_limits() -> None:
    fit = _fit([1, 2, 3, 4], [1, 2, 1, 2], variance="survfit")
    z = norm.ppf(0.975)
    lower, upper = fit.survival_limits("log")
    assert (lower[1], upper[1]) == pytest.approx(
        (0.5 * np.exp(-z / 2), min(0.5 * np.exp(z / 2), 1.0)), rel=1e-14
    )
    lower, upper = fit.limits("log")
    half = z * np.sqrt(3) / 2
    assert (lower[1, 0], upper[1, 0]) == pytest.approx(
        (0.25 * np.exp(-half), 1.0), rel=1e-14
    )  # the upper one capped at 1


def test_limits_of_an_incidence_of_zero_are_undefined_as_in_r() -> None:
    fit = _fit([1, 2, 3, 4], [1, 2, 1, 2], variance="survfit")
    lower, upper = fit.limits("log")
    assert np.isnan(lower[0, 1]) and np.isnan(upper[0, 1])  # no cause 2 by t = 1


def test_limits_contain_the_estimate() -> None:
    frame = generated("tied causes", 300, 7, ties=6, causes=2, groups=1).frame
    fit = _fit(frame["time"], frame["cause"], variance="survfit")
    for scale in ("log", "log-log", "plain"):
        lower, upper = fit.limits(scale)  # type: ignore[arg-type]
        ok = ~np.isnan(lower)
        assert (lower[ok] <= fit.estimate[ok] + 1e-15).all() and (fit.estimate[ok] <= upper[ok] + 1e-15).all()


def test_an_unknown_scale_is_refused() -> None:
    with pytest.raises(DataError, match="conf_type is 'logit'"):
        _fit([1, 2, 3, 4], [1, 2, 1, 2]).limits("logit")  # type: ignore[arg-type]


# -- against R ------------------------------------------------------------------------------------

LIMITS = """
fit <- survfit(Surv({start}time, factor(cause)) ~ 1, data = d{extra})
ll <- survfit(Surv({start}time, factor(cause)) ~ 1, data = d{extra}, conf.type = "log-log")
s <- summary(fit, times = c({grid}))
out <- list(std = fit$std.err, lower = fit$lower, upper = fit$upper,
            ll_lower = ll$lower, ll_upper = ll$upper,
            at_p = s$pstate, at_std = s$std.err, at_lower = s$lower, at_upper = s$upper)
"""


@pytest.mark.r
@pytest.mark.parametrize("name", [*DATA, "late entry"])
def test_limits_and_event_free_se_equal_survfit_multi_state(name: str) -> None:
    if name == "late entry":
        f = generated("late entry", 300, 43, ties=12, causes=2, entry=True, groups=1).frame
        f["id"] = np.arange(len(f))
        start, extra = "entry, ", ", id = id"
        fit = _fit(f["time"], f["cause"], entry=f["entry"])
    else:
        f = DATA[name]()
        start, extra = "", ""
        fit = _fit(f["time"], f["cause"], variance="survfit")
    # times at and after the first exit: before it, R's survfit0 row has lower 0 for (s0)
    grid = np.quantile(fit.time, [0, 0.2, 0.5, 0.8, 1]).round(2)
    grid = np.unique(np.maximum(grid, fit.time[0]))
    r = run_r(LIMITS.format(start=start, extra=extra, grid=", ".join(map(str, grid))), f)
    states = len(fit.causes) + 1

    def matrix(key: str) -> np.ndarray:
        return r[key].reshape(states, -1).T

    assert_close(fit.survival_std_err, matrix("std")[:, 0], what="se of the event-free state")
    for scale, prefix in (("log", ""), ("log-log", "ll_")):
        lower, upper = fit.limits(scale)  # type: ignore[arg-type]
        s_lower, s_upper = fit.survival_limits(scale)  # type: ignore[arg-type]
        assert_close(np.column_stack([s_lower, lower]), matrix(prefix + "lower"), what=f"{scale} lower")
        assert_close(np.column_stack([s_upper, upper]), matrix(prefix + "upper"), what=f"{scale} upper")
    at = fit.at(grid)
    lower, upper = at.limits("log")
    s_lower, s_upper = at.survival_limits("log")
    assert_close(np.column_stack([at.survival, at.estimate]), matrix("at_p"), what="at: estimate")
    assert_close(np.column_stack([at.survival_std_err, at.std_err]), matrix("at_std"), what="at: se")
    assert_close(np.column_stack([s_lower, lower]), matrix("at_lower"), what="at: lower")
    assert_close(np.column_stack([s_upper, upper]), matrix("at_upper"), what="at: upper")
