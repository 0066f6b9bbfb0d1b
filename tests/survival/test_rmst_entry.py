"""Restricted mean survival time with late entry and (start, stop] rows, as R's survfit rmean."""

from __future__ import annotations

import numpy as np
import pytest

from bassinet.errors import DataError
from bassinet.survival import rmst, split_at_exposure
from tests.survival.data import generated
from tests.survival.r_oracle import assert_close, r_dataset, run_r

# -- by hand -------------------------------------------------------------------------------------
# (entry, exit]: (0,5] (0,4]+ (2,6] (3,7] (1.5,3]. At 3: four at risk ((3,7] enters at 3 and is not),
# one dies: S = 3/4. At 4 a censoring. At 5: three at risk, one dies: S = 1/2; at 6: two, one
# dies: S = 1/4. Area to tau = 6.5: 3 * 1 + 2 * 3/4 + 1 * 1/2 + 0.5 * 1/4 = 41/8.
# Areas after each death: 17/8 after 3, 5/8 after 5, 1/8 after 6; the variance is
# (17/8)^2 / (4 * 3) + (5/8)^2 / (3 * 2) + (1/8)^2 / (2 * 1) = 289/768 + 25/384 + 1/128 = 345/768.
TIME, EVENT, ENTRY = [5, 4, 6, 7, 3], [1, 0, 1, 1, 1], [0, 0, 2, 3, 1.5]


def test_hand_computed_rmst_with_late_entry() -> None:
    result = rmst(TIME, EVENT, tau=6.5, entry=ENTRY)
    assert result.estimate[0] == pytest.approx(41 / 8, rel=1e-15)
    assert result.std_err[0] == pytest.approx(np.sqrt(345 / 768), rel=1e-15)


def test_split_rows_give_the_rmst_of_the_unsplit_data() -> None:
    # cutting a follow-up into (start, stop] pieces changes no risk set, so no estimate
    rows = split_at_exposure(TIME, EVENT, [np.nan, 2, 4, 1, np.nan], entry=ENTRY)
    whole = rmst(TIME, EVENT, tau=6.5, entry=ENTRY)
    split = rmst(rows.stop, rows.event, tau=6.5, entry=rows.start)
    assert split.estimate == pytest.approx(whole.estimate, rel=1e-15)
    assert split.std_err == pytest.approx(whole.std_err, rel=1e-15)


def test_entry_not_before_exit_is_refused() -> None:
    with pytest.raises(DataError, match=r"entry\[1\] is 4.0, not before time\[1\]"):
        rmst([5, 4], [1, 1], tau=3, entry=[0, 4])


# -- against R ------------------------------------------------------------------------------------

RMEAN = """
f <- survfit(Surv({start}, {stop}, {event}) ~ {group}, data = d)
t <- summary(f, rmean = {tau})$table
out <- list(rm = t[, "rmean"], se = t[, "se(rmean)"])
"""


@pytest.mark.r
@pytest.mark.parametrize("horizon", [0.3, 0.8, 1.2])
def test_late_entry_equals_survfit_rmean(horizon: float) -> None:
    f = generated("late entry", 300, 61, ties=15, entry=True, groups=2).frame
    tau = round(float(f["time"].max()) * horizon, 2)
    r = run_r(RMEAN.format(start="entry", stop="time", event="event", group="group", tau=tau), f)
    result = rmst(f["time"], f["event"], tau=tau, group=f["group"], entry=f["entry"])
    assert_close(result.estimate, r["rm"], what="rmean")
    assert_close(result.std_err, r["se"], what="se(rmean)")


@pytest.mark.r
@pytest.mark.parametrize("tau", [200.0, 800.0])
def test_start_stop_rows_of_r_heart_equal_survfit_rmean(tau: float) -> None:
    heart = r_dataset("heart")
    r = run_r(RMEAN.format(start="start", stop="stop", event="event", group="surgery", tau=tau), heart)
    result = rmst(heart.stop, heart.event, tau=tau, group=heart.surgery, entry=heart.start)
    assert_close(result.estimate, r["rm"], what="rmean")
    assert_close(result.std_err, r["se"], what="se(rmean)")
