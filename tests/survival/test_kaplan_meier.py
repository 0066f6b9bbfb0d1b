"""Kaplan–Meier: by hand, against R's survfit, by its invariants, and with bad input."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bassinet.errors import DataError
from bassinet.survival import kaplan_meier
from bassinet.survival._kaplan_meier import CONF_TYPES
from tests.survival.data import Case, generated_cases, r_cases
from tests.survival.r_oracle import assert_close, run_r

# -- by hand -------------------------------------------------------------------------------------
# times 1 2 2+ 3 4+ 6 (+ censored). At t=1: 6 at risk, 1 dies: S = 5/6. At t=2: 5 at risk,
# 1 dies, 1 censored: S = 5/6 * 4/5 = 2/3. At t=3: 3 at risk, 1 dies: S = 2/3 * 2/3 = 4/9.
# t=4: censored. t=6: the last one dies: S = 0. Greenwood's sum of d/(n(n-d)) to t=3 is
# 1/30 + 1/20 + 1/6 = 1/4, so se(log S(3)) = 1/2 and se(S(3)) = 4/9 * 1/2 = 2/9.

TIME = [1, 2, 2, 3, 4, 6]
EVENT = [1, 1, 0, 1, 0, 1]


def test_hand_computed_estimates() -> None:
    fit = kaplan_meier(TIME, EVENT)
    assert list(fit.time) == [1, 2, 3, 4, 6]
    assert list(fit.n_risk) == [6, 5, 3, 2, 1]
    assert list(fit.n_event) == [1, 1, 1, 0, 1]
    assert list(fit.n_censor) == [0, 1, 0, 1, 0]
    expected = [F(5, 6), F(2, 3), F(4, 9), F(4, 9), F(0)]
    assert fit.surv == pytest.approx([float(x) for x in expected], rel=1e-15)


def test_hand_computed_greenwood_standard_error() -> None:
    fit = kaplan_meier(TIME, EVENT)
    assert fit.std_err_log[2] == pytest.approx(0.5, rel=1e-15)
    assert fit.std_err[2] == pytest.approx(2 / 9, rel=1e-15)


def test_standard_error_is_undefined_once_everyone_has_died() -> None:
    fit = kaplan_meier(TIME, EVENT)
    assert np.isinf(fit.std_err_log[-1]) and np.isnan(fit.std_err[-1])


def test_hand_computed_median_is_the_first_time_below_one_half() -> None:
    assert kaplan_meier(TIME, EVENT).median().time[0] == 3


def test_median_where_the_curve_is_flat_at_exactly_one_half_is_the_midpoint() -> None:
    # 1 2 3 4 all die: S = 3/4, 1/2, 1/4, 0. S is exactly 1/2 on [2, 3): the median is 2.5.
    assert kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1]).median().time[0] == 2.5


def test_n_counts_the_rows_under_late_entry_as_survfit_does() -> None:
    # At most one row is at risk at any time here; R's survfit(...)$n is 3.
    fit = kaplan_meier([2, 3, 4], [1, 0, 1], entry=[0, 2.5, 3])
    assert fit.n == 3  # type: ignore[union-attr]
    assert fit.n_risk.max() == 1  # type: ignore[union-attr]


def test_late_entry_by_hand() -> None:
    # (entry, exit]: (0,5] (0,4]+ (2,6] (3,7] (1.5,3]. At t=3, at risk: the rows entered before 3
    # and not yet gone: (0,5] (0,4] (2,6] (1.5,3] = 4; (3,7] enters at 3 and is not at risk at 3.
    fit = kaplan_meier([5, 4, 6, 7, 3], [1, 0, 1, 1, 1], entry=[0, 0, 2, 3, 1.5])
    assert list(fit.n_risk) == [4, 4, 3, 2, 1]
    assert fit.surv[0] == 0.75


# -- against R ------------------------------------------------------------------------------------

CASES = r_cases() + generated_cases()
QUANTILES = [0.1, 0.25, 0.5, 0.75, 0.9]


def _r_code(case: Case, grid: list[float]) -> str:
    surv = "Surv(entry, time, event)" if case.has_entry else "Surv(time, event)"
    weights = ", weights = weight" if case.has_weight else ""
    lines = []
    for ct in CONF_TYPES:
        tag = ct.replace("-", "")
        lines.append(f"""
f <- survfit({surv} ~ 1, data = d, conf.type = "{ct}"{weights})
s <- summary(f, times = c({", ".join(map(str, grid))}), extend = TRUE)
q <- quantile(f, c({", ".join(map(str, QUANTILES))}))
out[["{tag}_curve"]] <- c(f$time, f$n.risk, f$n.event, f$n.censor, f$surv, f$std.err, f$lower, f$upper)
out[["{tag}_at"]] <- c(s$time, s$n.risk, s$n.event, s$n.censor, s$surv, s$std.err, s$lower, s$upper)
out[["{tag}_q"]] <- c(q$quantile, q$lower, q$upper)""")
    lines.append("out$n <- f$n")
    return "out <- list()\n" + "\n".join(lines)


@pytest.fixture(scope="module", params=CASES, ids=[c.name for c in CASES])
def compared(request: pytest.FixtureRequest) -> tuple[Case, list[float], dict[str, np.ndarray]]:
    case: Case = request.param
    top = float(case.frame["time"].max())
    grid = sorted({0.0, *np.round(np.linspace(0, top * 1.1, 9), 3).tolist(), top})
    return case, grid, run_r(_r_code(case, grid), case.frame)


def _fit(case: Case, conf_type: str) -> object:
    f = case.frame
    return kaplan_meier(
        f["time"],
        f["event"],
        conf_type=conf_type,  # type: ignore[arg-type]
        entry=f["entry"] if case.has_entry else None,
        weights=f["weight"] if case.has_weight else None,
    )


@pytest.mark.r
@pytest.mark.parametrize("conf_type", CONF_TYPES)
def test_curve_equals_survfit(
    compared: tuple[Case, list[float], dict[str, np.ndarray]], conf_type: str
) -> None:
    case, _, r = compared
    fit = _fit(case, conf_type)
    ours = np.concatenate(
        [
            fit.time,
            fit.n_risk,
            fit.n_event,
            fit.n_censor,
            fit.surv,  # type: ignore[attr-defined]
            fit.std_err_log,
            fit.lower,
            fit.upper,
        ]
    )  # type: ignore[attr-defined]
    assert_close(ours, r[f"{conf_type.replace('-', '')}_curve"], what=f"{case.name} {conf_type}")
    assert fit.n == r["n"][0]  # type: ignore[attr-defined]


@pytest.mark.r
@pytest.mark.parametrize("conf_type", CONF_TYPES)
def test_at_times_equals_summary_survfit(
    compared: tuple[Case, list[float], dict[str, np.ndarray]], conf_type: str
) -> None:
    case, grid, r = compared
    at = _fit(case, conf_type).at(grid)  # type: ignore[attr-defined]
    ours = np.concatenate(
        [at.time, at.n_risk, at.n_event, at.n_censor, at.surv, at.std_err, at.lower, at.upper]
    )
    assert_close(ours, r[f"{conf_type.replace('-', '')}_at"], what=f"{case.name} {conf_type}")


@pytest.mark.r
@pytest.mark.parametrize("conf_type", CONF_TYPES)
def test_quantiles_equal_quantile_survfit(
    compared: tuple[Case, list[float], dict[str, np.ndarray]], conf_type: str
) -> None:
    case, _, r = compared
    q = _fit(case, conf_type).quantile(QUANTILES)  # type: ignore[attr-defined]
    assert_close(
        np.concatenate([q.time, q.lower, q.upper]),
        r[f"{conf_type.replace('-', '')}_q"],
        what=f"{case.name} {conf_type}",
    )


@pytest.mark.r
def test_grouped_curves_equal_survfit_by_group() -> None:
    case = r_cases()[2]  # veteran, by treatment
    r = run_r(
        "f <- survfit(Surv(time, event) ~ group, data = d, conf.type = 'log-log')\n"
        "out <- list(n = f$strata, time = f$time, surv = f$surv, lower = f$lower)",
        case.frame,
    )
    curves = kaplan_meier(case.frame["time"], case.frame["event"], group=case.frame["group"])
    assert [len(c.time) for c in curves.values()] == list(r["n"])  # type: ignore[attr-defined]
    assert_close(np.concatenate([c.time for c in curves.values()]), r["time"])  # type: ignore[attr-defined]
    assert_close(np.concatenate([c.surv for c in curves.values()]), r["surv"])  # type: ignore[attr-defined]
    assert_close(np.concatenate([c.lower for c in curves.values()]), r["lower"])  # type: ignore[attr-defined]


# -- invariants -----------------------------------------------------------------------------------

samples = st.lists(st.tuples(st.integers(0, 30).map(float), st.booleans()), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(samples)
def test_survival_is_non_increasing_and_within_zero_and_one(rows: list[tuple[float, bool]]) -> None:
    time, event = zip(*rows, strict=True)
    fit = kaplan_meier(time, event)
    assert np.all((fit.surv >= 0) & (fit.surv <= 1))  # type: ignore[attr-defined]
    assert np.all(np.diff(fit.surv) <= 0)  # type: ignore[attr-defined]


@settings(max_examples=100, deadline=None)
@given(samples, st.randoms(use_true_random=False))
def test_shuffling_rows_changes_nothing(rows: list[tuple[float, bool]], random: object) -> None:
    shuffled = list(rows)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    a = kaplan_meier(*zip(*rows, strict=True)).to_frame()  # type: ignore[union-attr]
    b = kaplan_meier(*zip(*shuffled, strict=True)).to_frame()  # type: ignore[union-attr]
    assert a.equals(b)


def test_whole_day_and_continuous_paths_agree() -> None:
    rng = np.random.default_rng(0)
    time = np.ceil(rng.exponential(300, 5000))
    event = rng.random(5000) < 0.7
    dense = kaplan_meier(time, event)
    shifted = kaplan_meier(time + 0.5, event)  # not whole numbers: the sorting path
    assert np.array_equal(dense.surv, shifted.surv)  # type: ignore[attr-defined]
    assert np.array_equal(dense.time + 0.5, shifted.time)  # type: ignore[attr-defined]


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time": [1, np.nan, 3], "event": [1, 0, 1]}, r"time\[1\] is nan: times must be finite"),
        ({"time": [1, 2, np.inf], "event": [1, 0, 1]}, r"time\[2\] is inf: times must be finite"),
        ({"time": [1, -2, 3], "event": [1, 0, 1]}, r"time\[1\] is -2.0: times must be >= 0"),
        ({"time": [1, 2, 3], "event": [1, 2, 1]}, r"event\[1\] is 2.0: an event indicator is 0"),
        ({"time": [1, 2, 3], "event": [1, 0]}, "event has 2 values but time has 3"),
        ({"time": [], "event": []}, "time is empty"),
        (
            {"time": [3, 4], "event": [1, 1], "entry": [1, 4]},
            r"entry\[1\] is 4.0, not before time\[1\] \(4.0\)",
        ),
        ({"time": [3, 4], "event": [1, 1], "weights": [1, 0]}, r"weights\[1\] is 0.0: weights must be"),
        ({"time": [3, 4], "event": [1, 1], "conf_level": 1.0}, "conf_level is 1.0: it must lie strictly"),
        ({"time": [3, 4], "event": [1, 1], "conf_type": "loglog"}, "conf_type is 'loglog': choose one of"),
        ({"time": [3, 4], "event": [1, 1], "group": [1, None]}, r"group\[1\] is missing"),
    ],
)
def test_bad_input_is_refused_with_the_argument_index_value_and_rule(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(DataError, match=message):
        kaplan_meier(**kwargs)  # type: ignore[arg-type]


def test_missing_rows_are_dropped_only_when_asked() -> None:
    with pytest.raises(DataError, match="is nan"):
        kaplan_meier([1, np.nan, 3], [1, 0, 1])
    fit = kaplan_meier([1, np.nan, 3], [1, 0, 1], dropna=True)
    assert list(fit.time) == [1, 3]  # type: ignore[attr-defined]


def test_a_quantile_outside_zero_and_one_is_refused() -> None:
    with pytest.raises(DataError, match=r"p\[0\] is 1.5: a probability lies in \[0, 1\]"):
        kaplan_meier(TIME, EVENT).quantile([1.5])  # type: ignore[union-attr]
