"""Cumulative incidence and Gray's test: by hand, against cmprsk and survfit, invariants, bad input."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bassinet.errors import DataError
from bassinet.survival import cumulative_incidence, gray_test, kaplan_meier
from tests.survival.data import generated
from tests.survival.r_oracle import assert_close, r_dataset, run_r

# -- by hand ---------------------------------------------------------------------------------------
# Exits: 1 (cause 1), 2 (cause 2), 3 (cause 1), 4 (censored), 5 (cause 1).
# t=1: 5 at risk, S(1-) = 1: F1 = 1/5; S = 4/5.   t=2: 4 at risk: F2 = 4/5 * 1/4 = 1/5; S = 3/5.
# t=3: 3 at risk: F1 = 1/5 + 3/5 * 1/3 = 2/5; S = 2/5.  t=5: 1 at risk: F1 = 2/5 + 2/5 = 4/5; S = 0.

TIME, CAUSE = [1, 2, 3, 4, 5], [1, 2, 1, 0, 1]


def test_hand_computed_incidences() -> None:
    fit = cumulative_incidence(TIME, CAUSE)
    assert fit.causes == (1, 2)
    assert fit.estimate[:, 0] == pytest.approx([0.2, 0.2, 0.4, 0.4, 0.8], rel=1e-15)
    assert fit.estimate[:, 1] == pytest.approx([0.0, 0.2, 0.2, 0.2, 0.2], rel=1e-15)
    assert fit.survival == pytest.approx([0.8, 0.6, 0.4, 0.4, 0.0], abs=1e-15)


def test_ties_between_causes_are_exact_and_do_not_depend_on_row_order() -> None:
    # two deaths at t=1, one of each cause, among 4: each incidence jumps by 1/4, S to 1/2.
    a = cumulative_incidence([1, 1, 2, 3], [1, 2, 0, 1])
    b = cumulative_incidence([1, 3, 2, 1], [2, 1, 0, 1])
    assert a.estimate[0].tolist() == [0.25, 0.25]
    assert np.array_equal(a.estimate, b.estimate) and np.array_equal(a.variance, b.variance)


# -- against R ------------------------------------------------------------------------------------


def mgus2() -> pd.DataFrame:
    raw = r_dataset("mgus2")
    progressed = raw["pstat"] == 1
    return pd.DataFrame(
        {
            "time": np.where(progressed, raw["ptime"], raw["futime"]).astype(float),
            "cause": np.where(progressed, 1, 2 * raw["death"]).astype(int),
            "group": raw["sex"],
        }
    )


def transplant() -> pd.DataFrame:
    raw = r_dataset("transplant")
    codes = {"censored": 0, "death": 1, "ltx": 2, "withdraw": 3}
    frame = pd.DataFrame(
        {"time": raw["futime"].astype(float), "cause": raw["event"].map(codes), "group": raw["abo"]}
    )
    return frame[frame["time"] > 0].reset_index(drop=True)


def tied() -> pd.DataFrame:
    frame = generated("tied causes", 400, 41, ties=5, causes=3, groups=3).frame
    return frame.assign(strata=np.arange(len(frame)) % 2)


DATA = {"mgus2": mgus2, "transplant": transplant, "three tied causes": tied}
GRID = [30, 100, 365, 1000, 3000, 10000]


@pytest.mark.r
@pytest.mark.parametrize("name", list(DATA))
def test_estimates_and_variances_equal_cuminc_at_timepoints(name: str) -> None:
    f = DATA[name]()
    grid = [g for g in GRID if g <= f["time"].max()] if name != "three tied causes" else [1, 2, 3, 5, 8]
    r = run_r(
        f"ci <- cuminc(d$time, d$cause, cencode = 0); tp <- timepoints(ci, c({', '.join(map(str, grid))}))\n"
        "out <- list(est = tp$est, var = tp$var)",
        f,
    )
    at = cumulative_incidence(f["time"], f["cause"]).at(grid)
    assert_close(at.estimate.ravel(), r["est"], what="estimate")
    assert_close(at.variance.ravel(), r["var"], what="variance")


@pytest.mark.r
def test_grouped_estimates_equal_cuminc_by_group() -> None:
    f = mgus2()
    r = run_r(
        "ci <- cuminc(d$time, d$cause, d$group, cencode = 0); tp <- timepoints(ci, c(12, 60, 240))\n"
        "out <- list(est = tp$est, var = tp$var)",
        f,
    )
    fits = cumulative_incidence(f["time"], f["cause"], group=f["group"])
    # cuminc orders its curves group within cause: F 1, M 1, F 2, M 2
    est = np.stack([fits[g].at([12, 60, 240]).estimate for g in ("F", "M")])  # group, time, cause
    var = np.stack([fits[g].at([12, 60, 240]).variance for g in ("F", "M")])
    assert_close(est.transpose(2, 0, 1).reshape(4, 3).T.ravel(), r["est"])
    assert_close(var.transpose(2, 0, 1).reshape(4, 3).T.ravel(), r["var"])


MULTISTATE = """
fit <- survfit(Surv({start}time, factor(cause)) ~ 1, data = d{extra})
out <- list(time = fit$time, pstate = fit$pstate, std = fit$std.err, n = fit$n.risk[, 1])
"""


@pytest.mark.r
@pytest.mark.parametrize("name", [*DATA, "late entry"])
def test_estimates_and_variances_equal_survfit_multi_state(name: str) -> None:
    if name == "late entry":
        f = generated("late entry", 300, 43, ties=12, causes=2, entry=True, groups=1).frame
        f["id"] = np.arange(len(f))
        code = MULTISTATE.format(start="entry, ", extra=", id = id")
        fit = cumulative_incidence(f["time"], f["cause"], entry=f["entry"])
    else:
        f = DATA[name]()
        code = MULTISTATE.format(start="", extra="")
        fit = cumulative_incidence(f["time"], f["cause"], variance="survfit")
    r = run_r(code, f)
    assert fit.variance_method == "survfit"
    states = len(fit.causes) + 1
    pstate = r["pstate"].reshape(states, -1).T
    std = r["std"].reshape(states, -1).T
    assert_close(fit.time, r["time"], what="time")
    assert_close(fit.n_risk, r["n"], what="at risk")
    assert_close(fit.survival, pstate[:, 0], what="no event yet")
    assert_close(fit.estimate, pstate[:, 1:], what="incidence")
    assert_close(np.sqrt(fit.variance), std[:, 1:], what="standard error")


GRAY = """
ci <- cuminc(d$time, d$cause, d$group, {strata}rho = {rho}, cencode = 0)
out <- list(stat = ci$Tests[, "stat"], df = ci$Tests[, "df"],
            p = pchisq(ci$Tests[, "stat"], ci$Tests[, "df"], lower.tail = FALSE))
"""


@pytest.mark.r
@pytest.mark.parametrize("rho", [0.0, 1.0])
@pytest.mark.parametrize("name", list(DATA))
def test_gray_test_equals_cuminc_tests(name: str, rho: float) -> None:
    f = DATA[name]()
    has_strata = "strata" in f
    r = run_r(GRAY.format(strata="strata = d$strata, " if has_strata else "", rho=rho), f)
    result = gray_test(f["time"], f["cause"], f["group"], strata=f["strata"] if has_strata else None, rho=rho)
    assert_close(result.statistic, r["stat"], what="statistic")
    assert result.df == int(r["df"][0])
    assert_close(result.p_value, r["p"], what="P")


# Group 1's two subjects both have cause 2 at time 0; group 0's at times 1 and 2. The pooled
# incidence of cause 2 is 1/2 after time 0 (two of the reweighted four) and 1 after time 1,
# while group 0 still has a subject at risk: at time 2 Gray's covariance divides by 1 - F = 0.
NOT_ESTIMABLE = {"time": [1.0, 0.0, 2.0, 0.0], "cause": [2, 2, 2, 2], "group": ["a", "b", "a", "b"]}


@pytest.mark.r
def test_gray_test_refuses_a_covariance_that_is_not_finite_as_cuminc_stops() -> None:
    with pytest.raises(RuntimeError, match=r"NA/NaN/Inf in foreign function call"):
        run_r("ci <- cuminc(d$time, d$cause, d$group); out <- list(stat = ci$Tests[, 1])", NOT_ESTIMABLE)
    d = NOT_ESTIMABLE
    message = (
        "gray_test: cause 2 cannot be compared between groups 'a', 'b': Gray's covariance is not finite, "
        "because the pooled incidence of cause 2, F(t-), reaches 1 before the last event time"
    )
    with pytest.raises(DataError, match="^" + re.escape(message)):
        gray_test(d["time"], d["cause"], d["group"])
    with pytest.raises(DataError, match="^" + re.escape(message)):  # continuous times: the packed sort
        gray_test(np.add(d["time"], 0.5), d["cause"], d["group"])


@pytest.mark.r
def test_gray_test_of_a_cause_absent_from_a_group_is_still_estimable() -> None:
    # group 2 has no event of cause 2: its incidence stays 0, the covariance stays finite
    d = {
        "time": np.arange(1.0, 13.0),
        "cause": [1, 2, 1, 0, 2, 1, 1, 0, 1, 1, 0, 1],
        "group": [1] * 6 + [2] * 6,
    }
    r = run_r("ci <- cuminc(d$time, d$cause, d$group); out <- list(stat = ci$Tests[, 'stat'])", d)
    result = gray_test(d["time"], d["cause"], d["group"])
    assert_close(result.statistic, r["stat"], what="statistic")


# -- invariants -----------------------------------------------------------------------------------

rows = st.lists(st.tuples(st.integers(1, 15).map(float), st.integers(0, 3)), min_size=1, max_size=50)


@settings(max_examples=150, deadline=None)
@given(rows.filter(lambda d: any(c > 0 for _, c in d)))
def test_incidences_sum_to_one_minus_all_cause_kaplan_meier(data: list[tuple[float, int]]) -> None:
    time, cause = (np.array(x) for x in zip(*data, strict=True))
    fit = cumulative_incidence(time, cause)
    km = kaplan_meier(time, cause > 0)
    assert np.allclose(fit.estimate.sum(axis=1), 1 - km.surv, atol=1e-12)  # type: ignore[attr-defined]


@settings(max_examples=100, deadline=None)
@given(rows.filter(lambda d: any(c > 0 for _, c in d)), st.randoms(use_true_random=False))
def test_shuffling_rows_changes_nothing(data: list[tuple[float, int]], random: object) -> None:
    shuffled = list(data)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    for method in ("cuminc", "survfit"):
        a = cumulative_incidence(*zip(*data, strict=True), variance=method)  # type: ignore[arg-type]
        b = cumulative_incidence(*zip(*shuffled, strict=True), variance=method)  # type: ignore[arg-type]
        assert np.allclose(a.estimate, b.estimate, atol=1e-15)  # type: ignore[union-attr]
        assert np.allclose(a.variance, b.variance, rtol=1e-10, atol=1e-15)  # type: ignore[union-attr]


def test_gray_test_of_a_group_against_an_identical_copy_is_zero() -> None:
    f = tied()
    doubled = pd.concat([f.assign(group="a"), f.assign(group="b")])
    result = gray_test(doubled["time"], doubled["cause"], doubled["group"])
    assert np.allclose(result.statistic, 0.0, atol=1e-20)


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cause", "message"),
    [
        ([1, -1, 2], r"cause\[1\] is -1.0: a cause is a whole number, 0 for censored"),
        ([1, 1.5, 2], r"cause\[1\] is 1.5: a cause is a whole number"),
        ([0, 0, 0], "cause has no event"),
    ],
)
def test_bad_causes_are_refused(cause: list[float], message: str) -> None:
    with pytest.raises(DataError, match=message):
        cumulative_incidence([1, 2, 3], cause)


def test_the_cuminc_variance_is_refused_with_late_entry() -> None:
    with pytest.raises(DataError, match="variance 'cuminc' \\(cmprsk\\) is not defined with late entry"):
        cumulative_incidence([2, 3], [1, 2], entry=[1, 1], variance="cuminc")


def test_an_unknown_variance_is_refused() -> None:
    with pytest.raises(DataError, match="variance is 'greenwood': choose one of 'cuminc', 'survfit'"):
        cumulative_incidence([2, 3], [1, 2], variance="greenwood")  # type: ignore[arg-type]


def test_gray_test_needs_two_groups() -> None:
    with pytest.raises(DataError, match="group has a single value"):
        gray_test([1, 2, 3], [1, 2, 0], [1, 1, 1])


def test_negative_times_are_refused() -> None:
    with pytest.raises(DataError, match=r"time\[0\] is -1.0: times must be >= 0"):
        cumulative_incidence([-1, 2], [1, 2])
