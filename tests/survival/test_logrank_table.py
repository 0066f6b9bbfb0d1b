"""Log-rank and Mantel–Byar terms at each event time: by hand, then against R's survdiff and an R loop."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bassinet.errors import DataError
from bassinet.survival import logrank, logrank_table, mantel_byar, mantel_byar_table
from tests.survival.data import Case, generated, r_case
from tests.survival.r_oracle import assert_close, r_dataset, run_r
from tests.survival.test_exposure import _heart_patients

# -- by hand -------------------------------------------------------------------------------------
# Group A fails at 1 and 3; group B fails at 2 and is censored at 4.
# t=1: 4 at risk (A 2, B 2), 1 death (A): E_A = 1 * 2/4 = 1/2, V = 1 * 3/3 * 1/2 * 1/2 = 1/4.
# t=2: 3 at risk (A 1, B 2), 1 death (B): E_A = 1/3, V = 1 * 2/2 * 1/3 * 2/3 = 2/9.
# t=3: 2 at risk (A 1, B 1), 1 death (A): E_A = 1/2, V = 1 * 1/1 * 1/2 * 1/2 = 1/4.
# So O_A = 2, E_A = 4/3 and V = 13/18.
TIME, EVENT, GROUP = [1, 3, 2, 4], [1, 1, 1, 0], ["A", "A", "B", "B"]


def test_hand_computed_terms_at_each_time() -> None:
    table = logrank_table(TIME, EVENT, GROUP)
    assert list(table.time) == [1, 2, 3]
    assert table.n_risk.tolist() == [[2, 2], [1, 2], [1, 1]]
    assert table.observed[:, 0].tolist() == [1, 0, 1]
    assert table.expected[:, 0] == pytest.approx([0.5, 1 / 3, 0.5], rel=1e-15)
    assert table.variance[:, 0, 0] == pytest.approx([0.25, 2 / 9, 0.25], rel=1e-15)


def test_hand_computed_totals() -> None:
    observed, expected, variance = logrank_table(TIME, EVENT, GROUP).totals()
    assert observed[0] == 2 and expected[0] == pytest.approx(float(F(4, 3)), rel=1e-15)
    assert variance[0, 0] == pytest.approx(float(F(13, 18)), rel=1e-15)


def test_two_groups_expected_add_up_to_the_deaths_and_covariances_cancel() -> None:
    case = generated("ties", 150, 21, ties=5, groups=3)
    table = logrank_table(case.frame["time"], case.frame["event"], case.frame["group"])
    assert table.expected.sum(axis=1) == pytest.approx(table.n_event.sum(axis=1), rel=1e-12)
    assert np.abs(table.variance.sum(axis=2)).max() < 1e-12


def test_table_sums_are_the_logrank_test() -> None:
    case = generated("entry", 200, 22, ties=8, groups=3, entry=True)
    f = case.frame.assign(strata=np.arange(len(case.frame)) % 2)
    kwargs = {"strata": f["strata"], "entry": f["entry"], "rho": 0.5}
    test = logrank(f["time"], f["event"], f["group"], **kwargs)  # type: ignore[arg-type]
    observed, expected, variance = logrank_table(f["time"], f["event"], f["group"], **kwargs).totals()  # type: ignore[arg-type]
    assert observed == pytest.approx(test.observed, rel=1e-12)
    assert expected == pytest.approx(test.expected, rel=1e-12)
    assert variance == pytest.approx(test.variance, rel=1e-12, abs=1e-12)


def test_frame_has_one_row_per_time_and_group() -> None:
    frame = logrank_table(TIME, EVENT, GROUP).to_frame()
    assert frame[["time", "group"]].values.tolist() == [
        [1, "A"],
        [1, "B"],
        [2, "A"],
        [2, "B"],
        [3, "A"],
        [3, "B"],
    ]


def test_a_single_group_is_refused() -> None:
    with pytest.raises(DataError, match="group has a single value"):
        logrank_table([1, 2], [1, 1], [0, 0])


# -- against R ------------------------------------------------------------------------------------
# The loop below is survdiff's computation written out in R, time by time; its sums are
# checked against survdiff itself in the same script.

PER_TIME = """
one <- function(dd, rho) {{
  km <- survfit(Surv(entry, time, event) ~ 1, data = dd)
  res <- NULL
  for (t in sort(unique(dd$time[dd$event == 1]))) {{
    risk <- dd$time >= t & dd$entry < t
    n <- sum(risk); dt <- sum(dd$time == t & dd$event == 1)
    w <- c(1, km$surv)[findInterval(t, km$time, left.open = TRUE) + 1]^rho
    for (g in sort(unique(d$group))) {{
      ng <- sum(risk & dd$group == g); dg <- sum(dd$time == t & dd$event == 1 & dd$group == g)
      res <- rbind(res, c(t, ng, dg, w, w * dg, w * dt * ng / n,
                          w^2 * dt * (n - dt) / max(n - 1, 1) * (ng / n) * (1 - ng / n)))
    }}
  }}
  res
}}
if (is.null(d$entry)) d$entry <- 0
table <- do.call(rbind, lapply(split(d, d$strata), one, rho = {rho}))
sd <- survdiff(Surv(time, event) ~ group + strata(strata), data = d, rho = {rho})
out <- list(table = t(table), obs = rowSums(as.matrix(sd$obs)), exp = rowSums(as.matrix(sd$exp)),
            var = sd$var)
"""


def _cases() -> list[tuple[Case, float]]:
    aml = r_case("aml", "aml", "time", "status", "x")
    ties = generated("ties, three groups", 250, 23, ties=6, groups=3)
    return [(aml, 0.0), (aml, 1.0), (ties, 0.0), (ties, 1.0)]


@pytest.mark.r
@pytest.mark.parametrize(("case", "rho"), _cases(), ids=lambda v: getattr(v, "name", str(v)))
def test_terms_equal_r_time_by_time_and_sums_equal_survdiff(case: Case, rho: float) -> None:
    f = case.frame.assign(strata=np.arange(len(case.frame)) % 2)
    r = run_r(PER_TIME.format(rho=rho), f)
    table = logrank_table(f["time"], f["event"], f["group"], strata=f["strata"], rho=rho)
    frame = table.to_frame()
    ours = np.column_stack(
        [
            frame.time,
            frame.n_risk,
            frame.n_event,
            frame.weight,
            frame.observed,
            frame.expected,
            frame.variance,
        ]
    )
    assert_close(ours.ravel(), r["table"], what="per time")
    observed, expected, variance = table.totals()
    assert_close(observed, r["obs"], what="observed")
    assert_close(expected, r["exp"], what="expected")
    assert_close(variance.ravel(), r["var"], what="variance")


@pytest.mark.r
def test_terms_with_late_entry_equal_r() -> None:
    f = generated("late entry", 250, 24, ties=10, groups=2, entry=True).frame.assign(strata=0)
    r = run_r(PER_TIME.format(rho=0), f)
    frame = logrank_table(f["time"], f["event"], f["group"], entry=f["entry"]).to_frame()
    ours = np.column_stack(
        [
            frame.time,
            frame.n_risk,
            frame.n_event,
            frame.weight,
            frame.observed,
            frame.expected,
            frame.variance,
        ]
    )
    assert_close(ours.ravel(), r["table"], what="per time with late entry")


MANTEL_BYAR = """
d$group <- d$transplant
per <- NULL
for (t in sort(unique(d$stop[d$event == 1]))) {
  risk <- d$start < t & d$stop >= t
  n <- sum(risk); dt <- sum(d$stop == t & d$event == 1)
  n1 <- sum(risk & d$transplant == 1); d1 <- sum(d$stop == t & d$event == 1 & d$transplant == 1)
  per <- rbind(per, c(t, n1, d1, dt * n1 / n, dt * (n - dt) / max(n - 1, 1) * (n1 / n) * (1 - n1 / n)))
}
fit <- coxph(Surv(start, stop, event) ~ transplant, data = d, ties = "exact")
out <- list(per = t(per), score = fit$score)
"""


@pytest.mark.r
def test_mantel_byar_terms_equal_r_and_sum_to_the_exact_score_test() -> None:
    p = _heart_patients()
    r = run_r(MANTEL_BYAR, r_dataset("heart"))
    table = mantel_byar_table(p.exit, p.event, p.transplant)
    ours = np.column_stack(
        [table.time, table.n_risk[:, 1], table.n_event[:, 1], table.expected[:, 1], table.variance[:, 1, 1]]
    )
    assert_close(ours.ravel(), r["per"], what="per time")
    observed, expected, variance = table.totals()
    assert_close((observed[1] - expected[1]) ** 2 / variance[1, 1], r["score"], what="score test")
    test = mantel_byar(p.exit, p.event, p.transplant)
    assert (observed[1], expected[1], variance[1, 1]) == pytest.approx(
        (test.observed, test.expected, test.variance), rel=1e-12
    )


def test_mantel_byar_table_refuses_data_without_events() -> None:
    with pytest.raises(DataError, match="event has no events"):
        mantel_byar_table([1, 2], [0, 0], [np.nan, 1])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 8), st.booleans(), st.integers(0, 2)), min_size=4, max_size=40).filter(
        lambda rows: len({g for _, _, g in rows}) >= 2
    ),
    st.randoms(use_true_random=False),
)
def test_shuffling_rows_changes_no_term(rows: list[tuple[int, bool, int]], random: object) -> None:
    shuffled = list(rows)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    tables = [logrank_table(*map(list, zip(*data, strict=True))) for data in (rows, shuffled)]
    assert np.array_equal(tables[0].time, tables[1].time)
    for name in ("n_risk", "n_event", "expected", "variance"):
        np.testing.assert_allclose(getattr(tables[0], name), getattr(tables[1], name), rtol=1e-13, atol=1e-15)
