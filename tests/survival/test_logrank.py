"""The log-rank test: by hand, against R's survdiff (and coxph's exact score test), invariants, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bassinet.errors import DataError
from bassinet.survival import logrank
from tests.survival.data import Case, generated, generated_cases, r_case, r_cases
from tests.survival.r_oracle import assert_close, run_r


def test_hand_computed_two_group_test() -> None:
    # Group A dies at 1 and 3, group B at 2; B's other member is censored at 4.
    # t=1: 4 at risk (A 2, B 2), 1 death: E_A = 1/2, V = 1*(3/3)*(2/4)(2/4) = 1/4.
    # t=2: 3 at risk (A 1, B 2), 1 death in B: E_A = 1/3, V = 1*(2/2)*(1/3)(2/3) = 2/9.
    # t=3: 2 at risk (A 1, B 1), 1 death in A: E_A = 1/2, V = 1*(1/1)*(1/2)(1/2) = 1/4.
    # O_A = 2, E_A = 4/3, V = 13/18; chi-square = (2/3)^2 / (13/18) = 8/13.
    result = logrank([1, 3, 2, 4], [1, 1, 1, 0], ["A", "A", "B", "B"])
    assert result.observed[0] == 2
    assert result.expected[0] == pytest.approx(4 / 3, rel=1e-15)
    assert result.variance[0, 0] == pytest.approx(13 / 18, rel=1e-15)
    assert result.chisq == pytest.approx(8 / 13, rel=1e-15)
    assert result.df == 1


SURVDIFF = """
out <- list()
for (rho in c(0, 1, 0.5)) {{
  s <- survdiff(Surv(time, event) ~ group{strata}, data = d, rho = rho)
  out[[paste0("chisq", rho)]] <- s$chisq
  out[[paste0("obs", rho)]] <- rowSums(as.matrix(s$obs))
  out[[paste0("exp", rho)]] <- rowSums(as.matrix(s$exp))
  out[[paste0("var", rho)]] <- s$var
  out[[paste0("p", rho)]] <- pchisq(s$chisq, length(s$n) - 1, lower.tail = FALSE)
}}
"""

LOGRANK_CASES = [
    *r_cases(),
    r_case("lung, by sex within ECOG strata", "lung", "time", "status == 2", "sex", strata="ph.ecog"),
    r_case("veteran, four cell types", "veteran", "time", "status", "celltype"),
    generated("heavy ties, three groups", 400, 11, ties=6),
    Case(
        "heavy ties in strata",
        generated("x", 400, 12, ties=6, groups=2).frame.assign(strata=np.arange(400) % 3),
    ),
    *[c for c in generated_cases() if c.name in ("a group with no events", "continuous")],
]


@pytest.fixture(scope="module", params=LOGRANK_CASES, ids=[c.name for c in LOGRANK_CASES])
def survdiff(request: pytest.FixtureRequest) -> tuple[Case, dict[str, np.ndarray]]:
    case: Case = request.param
    strata = " + strata(strata)" if "strata" in case.frame else ""
    return case, run_r(SURVDIFF.format(strata=strata), case.frame)


@pytest.mark.r
@pytest.mark.parametrize("rho", [0.0, 1.0, 0.5])
def test_equals_survdiff(survdiff: tuple[Case, dict[str, np.ndarray]], rho: float) -> None:
    case, r = survdiff
    f = case.frame
    tag = f"{rho:g}"
    result = logrank(f["time"], f["event"], f["group"], strata=f.get("strata"), rho=rho)
    assert_close(result.chisq, r[f"chisq{tag}"], what="chisq")
    assert_close(result.observed, r[f"obs{tag}"], what="observed")
    assert_close(result.expected, r[f"exp{tag}"], what="expected")
    assert_close(result.variance.ravel(), r[f"var{tag}"], what="variance")
    assert_close(result.p_value, r[f"p{tag}"], what="P")


@pytest.mark.r
def test_a_tiny_p_value_is_not_rounded_to_zero() -> None:
    rng = np.random.default_rng(3)
    time = np.concatenate([rng.exponential(1, 300), rng.exponential(20, 300)])
    frame = pd.DataFrame({"time": time, "event": 1, "group": np.repeat([0, 1], 300)})
    r = run_r(SURVDIFF.format(strata=""), frame)
    result = logrank(frame["time"], frame["event"], frame["group"])
    assert r["p0"][0] < 1e-50
    assert_close(result.p_value, r["p0"], what="P")


@pytest.mark.r
@pytest.mark.parametrize("groups", [2, 3])
def test_late_entry_equals_the_exact_score_test_of_coxph(groups: int) -> None:
    # survdiff has no late entry; the log-rank test is the score test of the Cox model with
    # exact ties (Therneau & Grambsch 2000, 3.4), which coxph computes on (entry, time].
    case = generated("late entry", 80, 21, ties=30, entry=True, groups=groups)
    f = case.frame
    r = run_r(
        "fit <- coxph(Surv(entry, time, event) ~ factor(group), data = d, ties = 'exact', iter.max = 0)\n"
        "out <- list(score = fit$score)",
        f,
    )
    result = logrank(f["time"], f["event"], f["group"], entry=f["entry"])
    assert_close(result.chisq, r["score"])


@pytest.mark.r
def test_trend_equals_the_exact_score_test_of_a_numeric_group() -> None:
    case = generated("trend", 200, 31, ties=10, groups=4)
    f = case.frame
    r = run_r(
        "fit <- coxph(Surv(time, event) ~ group, data = d, ties = 'exact', iter.max = 0)\n"
        "out <- list(score = fit$score)",
        f,
    )
    trend = logrank(f["time"], f["event"], f["group"]).trend([0, 1, 2, 3])
    assert_close(trend.chisq, r["score"])


def test_trend_defaults_to_scores_one_to_k() -> None:
    result = logrank([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], [1, 1, 2, 2, 3, 3])
    assert result.trend().chisq == pytest.approx(result.trend([1, 2, 3]).chisq, rel=1e-15)


# -- invariants -----------------------------------------------------------------------------------

rows = st.lists(st.tuples(st.integers(1, 20).map(float), st.booleans()), min_size=2, max_size=40)


@settings(max_examples=150, deadline=None)
@given(rows)
def test_a_group_against_an_identical_copy_of_itself_gives_chi_square_zero(
    data: list[tuple[float, bool]],
) -> None:
    time, event = (list(x) for x in zip(*data, strict=True))
    result = logrank(time * 2, event * 2, ["a"] * len(time) + ["b"] * len(time))
    assert result.chisq == pytest.approx(0.0, abs=1e-20)


@settings(max_examples=100, deadline=None)
@given(rows.filter(lambda d: len(d) >= 4), st.randoms(use_true_random=False))
def test_shuffling_rows_changes_nothing(data: list[tuple[float, bool]], random: object) -> None:
    labelled = [(t, e, i % 2) for i, (t, e) in enumerate(data)]
    shuffled = list(labelled)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    a = logrank(*zip(*labelled, strict=True))
    b = logrank(*zip(*shuffled, strict=True))
    assert a.chisq == pytest.approx(b.chisq, rel=1e-12, abs=1e-300)
    assert np.allclose(a.expected, b.expected, rtol=1e-12)


# -- bad input ------------------------------------------------------------------------------------


def test_a_single_group_is_refused() -> None:
    with pytest.raises(DataError, match="group has a single value \\('A'\\): a test compares two"):
        logrank([1, 2, 3], [1, 1, 0], ["A", "A", "A"])


def test_mismatched_group_length_is_refused() -> None:
    with pytest.raises(DataError, match="group has 2 values but time has 3"):
        logrank([1, 2, 3], [1, 1, 0], ["A", "B"])


def test_a_missing_group_is_refused_unless_dropna() -> None:
    with pytest.raises(DataError, match=r"group\[2\] is missing"):
        logrank([1, 2, 3, 4], [1, 1, 0, 1], ["A", "B", None, "B"])
    assert logrank([1, 2, 3, 4], [1, 1, 0, 1], ["A", "B", None, "A"], dropna=True).n.sum() == 3


def test_a_non_finite_rho_is_refused() -> None:
    with pytest.raises(DataError, match="rho is nan"):
        logrank([1, 2], [1, 1], [0, 1], rho=float("nan"))


def test_trend_scores_must_match_the_groups() -> None:
    with pytest.raises(DataError, match="scores has 2 values but there are 3 groups"):
        logrank([1, 2, 3], [1, 1, 1], [0, 1, 2]).trend([1, 2])
