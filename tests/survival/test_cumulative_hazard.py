"""The Nelson–Aalen cumulative hazard of a Kaplan–Meier fit: by hand, then against R's survfit."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest

from bassinet.survival import KaplanMeier, kaplan_meier
from tests.survival.data import Case, generated, generated_cases, r_cases
from tests.survival.r_oracle import assert_close, run_r

# -- by hand -------------------------------------------------------------------------------------
# times 1 2 2+ 3 4+ 6 (+ censored); at risk 6 5 3 2 1, deaths 1 1 1 0 1.
# Nelson–Aalen: H(1) = 1/6, H(2) = 1/6 + 1/5 = 11/30, H(3) = 11/30 + 1/3 = 7/10, H(4) = 7/10,
# H(6) = 7/10 + 1/1 = 17/10. Its variance adds d/n^2: 1/36, 1/25, 1/9, 0, 1, so
# var H(3) = 1/36 + 1/25 + 1/9 = 161/900 and var H(6) = 1061/900.


def _curve(*args: object, **kwargs: object) -> KaplanMeier:
    fit = kaplan_meier(*args, **kwargs)  # type: ignore[arg-type]
    assert isinstance(fit, KaplanMeier)
    return fit


def test_hand_computed_cumulative_hazard() -> None:
    fit = _curve([1, 2, 2, 3, 4, 6], [1, 1, 0, 1, 0, 1])
    expected = [F(1, 6), F(11, 30), F(7, 10), F(7, 10), F(17, 10)]
    assert fit.cumhaz == pytest.approx([float(x) for x in expected], rel=1e-15)


def test_hand_computed_standard_error_of_the_cumulative_hazard() -> None:
    fit = _curve([1, 2, 2, 3, 4, 6], [1, 1, 0, 1, 0, 1])
    variance = [F(1, 36), F(61, 900), F(161, 900), F(161, 900), F(1061, 900)]
    assert fit.std_chaz**2 == pytest.approx([float(x) for x in variance], rel=1e-14)


def test_cumulative_hazard_read_between_times_holds_the_last_step_and_is_zero_before() -> None:
    at = _curve([1, 2, 2, 3, 4, 6], [1, 1, 0, 1, 0, 1]).at([0.5, 2.5, 10])
    assert list(at.cumhaz) == pytest.approx([0.0, 11 / 30, 17 / 10], rel=1e-15)
    assert at.std_chaz[0] == 0.0
    assert at.std_chaz[1] == pytest.approx(np.sqrt(61 / 900), rel=1e-15)


def test_weights_count_as_copies_of_a_row() -> None:
    # a weight of 2 is the row twice: the same hazard as the data with the row repeated
    weighted = _curve([1, 2, 3, 4], [1, 1, 0, 1], weights=[2, 1, 1, 3])
    copied = _curve([1, 1, 2, 3, 4, 4, 4], [1, 1, 1, 0, 1, 1, 1])
    assert weighted.cumhaz == pytest.approx(copied.cumhaz, rel=1e-15)
    assert weighted.std_chaz == pytest.approx(copied.std_chaz, rel=1e-15)


def test_cumulative_hazard_is_non_decreasing_and_bounds_minus_log_km() -> None:
    # 1 - x <= exp(-x): each factor (1 - d/n) <= exp(-d/n), so -log S >= H, and H only grows
    case = generated("ties", 200, 11, ties=6)
    fit = _curve(case.frame["time"], case.frame["event"])
    assert (np.diff(fit.cumhaz) >= 0).all()
    alive = fit.surv > 0
    assert (-np.log(fit.surv[alive]) >= fit.cumhaz[alive] - 1e-12).all()


# -- against R ------------------------------------------------------------------------------------

CASES = r_cases() + generated_cases()


def _r_code(case: Case, grid: list[float]) -> str:
    surv = "Surv(entry, time, event)" if case.has_entry else "Surv(time, event)"
    weights = ", weights = weight" if case.has_weight else ""
    return f"""
f <- survfit({surv} ~ 1, data = d{weights})
s <- summary(f, times = c({", ".join(map(str, grid))}), extend = TRUE)
out <- list(curve = c(f$cumhaz, f$std.chaz), at = c(s$cumhaz, s$std.chaz))
"""


@pytest.mark.r
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_cumulative_hazard_equals_survfit_on_the_curve_and_at_times(case: Case) -> None:
    frame = case.frame
    top = float(frame["time"].max())
    grid = sorted({0.0, *np.round(np.linspace(0, top * 1.1, 9), 3).tolist(), top})
    r = run_r(_r_code(case, grid), frame)
    fit = _curve(
        frame["time"],
        frame["event"],
        entry=frame["entry"] if case.has_entry else None,
        weights=frame["weight"] if case.has_weight else None,
    )
    assert_close(np.concatenate([fit.cumhaz, fit.std_chaz]), r["curve"], what=f"{case.name} curve")
    at = fit.at(grid)
    assert_close(np.concatenate([at.cumhaz, at.std_chaz]), r["at"], what=f"{case.name} at")
