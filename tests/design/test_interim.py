"""Interim monitoring: decisions at the bounds, then rpact's ``getAnalysisResults`` as the oracle."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from bassinet.design._interim import interim_analysis
from bassinet.design._sequential import group_sequential
from bassinet.errors import DataError
from tests.survival.r_oracle import assert_close, run_r

RPACT = ("rpact",)

# Hand-worked cases --------------------------------------------------------------------


def test_the_first_look_of_an_obf_spending_design_has_a_closed_form() -> None:
    # at the first look the bound is z_{a(t)} and the repeated p-value solves a(t) = 1 - Phi(z):
    # 2 (1 - Phi(z_{p/2} / sqrt(t))) = 1 - Phi(z)  =>  p = 2 (1 - Phi(sqrt(t) Phi^-1(1 - (1 - Phi(z)) / 2)))
    design = group_sequential(3, alpha=0.025)
    got = interim_analysis(design, [40], [-2.3], max_events=120, hazard_ratio=0.6)
    t = 40 / 120
    assert got.design.critical_values[0] == pytest.approx(
        stats.norm.isf(2 * stats.norm.sf(stats.norm.isf(0.0125) / math.sqrt(t))), rel=1e-10
    )
    expected = 2 * stats.norm.sf(math.sqrt(t) * stats.norm.isf(stats.norm.sf(2.3) / 2))
    assert got.repeated_p_values is not None
    assert got.repeated_p_values[0] == pytest.approx(expected, rel=1e-8)
    # Schoenfeld: log HR = z (1 + r) / sqrt(r D) = -2.3 * 2 / sqrt(40)
    assert got.hazard_ratios[0] == pytest.approx(math.exp(-2.3 * 2 / math.sqrt(40)), rel=1e-12)
    assert got.decision == "continue"


@pytest.mark.parametrize(
    ("z", "decision"),
    [(-3.0, "stop for efficacy"), (-1.0, "continue"), (0.5, "stop for futility"), (0.0, "stop for futility")],
)
def test_the_decision_follows_the_bounds(z: float, decision: str) -> None:
    # half the events: efficacy bound 2.963 (OF-like), futility bound 0 (z <= 0 stops)
    design = group_sequential(2, alpha=0.025, futility=(0.0,))
    got = interim_analysis(design, [60], [z], max_events=120, hazard_ratio=0.6)
    assert got.decision == decision


def test_the_final_analysis_rejects_or_not() -> None:
    design = group_sequential(2, alpha=0.025)
    rejected = interim_analysis(design, [60, 118], [-1.0, -2.1], max_events=120, hazard_ratio=0.6)
    kept = interim_analysis(design, [60, 118], [-1.0, -1.9], max_events=120, hazard_ratio=0.6)
    assert rejected.design.information_rates[-1] == 1.0
    assert (rejected.decision, kept.decision) == ("reject H0", "do not reject H0")
    assert rejected.conditional_power == ()


# rpact --------------------------------------------------------------------------------

# name: (our design arguments, events so far, log-rank z so far, max events, planned HR, allocation)
CASES: dict[str, tuple[dict[str, Any], list[float], list[float], float, float, float]] = {
    "OF-like, first look at 30%": ({"information_rates": (0.3, 2 / 3, 1)}, [45], [-2.1], 150, 0.63, 1.0),
    "OF-like two-sided, second look": (
        {"information_rates": 3, "alpha": 0.05, "sided": 2},
        [52, 98],
        [-1.2, -2.6],
        150,
        0.63,
        1.0,
    ),
    "Pocock-like, 2:1, second of four": (
        {"information_rates": 4, "spending": "pocock"},
        [40, 85],
        [-0.8, -1.5],
        160,
        0.7,
        2.0,
    ),
    "Kim-DeMets, final analysis short of its events": (
        {"information_rates": 3, "spending": "kd", "parameter": 2.0},
        [50, 100, 148],
        [-1.1, -1.8, -2.2],
        150,
        0.63,
        1.0,
    ),
    # a user-defined spending keeps its alpha per analysis when the looks move (rpact's asUser);
    # Bassinet once recomputed it as OF-like spending: a first bound of 3.477 instead of 2.576
    "user alpha spending, first look at 40%": (
        {"information_rates": 3, "alpha": 0.05, "sided": 2, "alpha_spending": (0.01, 0.03, 0.05)},
        [60],
        [-1.5],
        150.1,
        0.63,
        1.0,
    ),
}

_R = """
.case <- function(i, d, events, z, r, planned, hr) {
  ds <- getDataset(overallEvents = events, overallLogRanks = z,
                   overallAllocationRatios = rep(r, length(events)))
  k <- length(events)
  sr <- getStageResults(d, ds, directionUpper = FALSE)
  res <- list(cv = d$criticalValues, p = getRepeatedPValues(sr, tolerance = 1e-12)[1:k])
  if (k < d$kMax) {
    a <- getAnalysisResults(d, ds, nPlanned = planned, thetaH1 = hr, directionUpper = FALSE,
                            allocationRatioPlanned = r)
    o <- getAnalysisResults(d, ds, nPlanned = planned, directionUpper = FALSE, allocationRatioPlanned = r)
    res$cp <- a$conditionalPower[(k + 1):d$kMax]
    res$cpobs <- o$conditionalPower[(k + 1):d$kMax]
    res$crp <- a$conditionalRejectionProbabilities[k]
  } else {
    a <- getAnalysisResults(d, ds, directionUpper = FALSE)
  }
  res$low <- a$repeatedConfidenceIntervalLowerBounds[1:k]
  res$high <- a$repeatedConfidenceIntervalUpperBounds[1:k]
  names(res) <- paste0(i, "_", names(res))
  res
}
out <- list()
"""


def _ours(name: str) -> Any:
    kwargs, events, z, max_events, hr, r = CASES[name]
    return interim_analysis(
        group_sequential(**kwargs), events, z, max_events=max_events, hazard_ratio=hr, allocation=r
    )


def _r_design(kwargs: dict[str, Any], rates: tuple[float, ...]) -> str:
    if "alpha_spending" in kwargs:
        return (
            f"getDesignGroupSequential(informationRates = c({', '.join(repr(t) for t in rates)}), "
            f"alpha = {kwargs['alpha']!r}, sided = {kwargs['sided']}, typeOfDesign = \"asUser\", "
            f"userAlphaSpending = c({', '.join(repr(a) for a in kwargs['alpha_spending'])}))"
        )
    kind = {"obf": "asOF", "pocock": "asP", "kd": "asKD", "hsd": "asHSD"}[kwargs.get("spending", "obf")]
    gamma = f", gammaA = {kwargs['parameter']!r}" if "parameter" in kwargs else ""
    return (
        f"getDesignGroupSequential(informationRates = c({', '.join(repr(t) for t in rates)}), "
        f"alpha = {kwargs.get('alpha', 0.025)!r}, sided = {kwargs.get('sided', 1)}, "
        f'typeOfDesign = "{kind}"{gamma})'
    )


@functools.cache
def rpact_cases() -> dict[str, np.ndarray]:
    """Every case from one R session, each design at the information rates we recompute."""
    lines = [_R]
    for i, (name, (kwargs, events, z, max_events, hr, r)) in enumerate(CASES.items()):
        ours = _ours(name)
        rates = ours.design.information_rates
        later = [t * max_events for t in rates[len(events) :]]
        planned = np.diff([events[-1], *later]).tolist()
        lines.append(
            f"out <- c(out, .case({i}, {_r_design(kwargs, rates)}, c({', '.join(map(repr, events))}), "
            f"c({', '.join(map(repr, z))}), {r!r}, c({', '.join(map(repr, planned)) or 'NA'}), {hr!r}))"
        )
    return run_r("\n".join(lines), packages=RPACT)


@pytest.mark.parametrize("name", list(CASES))
def test_interim_analysis_equals_rpact(name: str) -> None:
    i = list(CASES).index(name)
    r = {key.split("_", 1)[1]: value for key, value in rpact_cases().items() if key.startswith(f"{i}_")}
    got = _ours(name)
    assert_close(got.design.critical_values, r["cv"], what="bounds at the observed information")
    assert_close(got.rci_lower, r["low"], what="repeated confidence interval, lower")
    assert_close(got.rci_upper, r["high"], what="repeated confidence interval, upper")
    if "alpha_spending" in CASES[name][0]:
        # no spending function to invert: Bassinet gives no repeated p-values for user spending
        assert got.repeated_p_values is None
    else:
        assert got.repeated_p_values is not None
        assert_close(got.repeated_p_values, r["p"], what="repeated p-values")
    if "cp" in r:
        assert_close(got.conditional_power, r["cp"], what="conditional power, design's hazard ratio")
        assert_close(
            got.conditional_power_observed, r["cpobs"], what="conditional power, observed hazard ratio"
        )
        if got.design.sided == 1:
            # rpact's conditional rejection probability of a two-sided design is not a
            # probability (1.15 in the two-sided case here): compared one-sided only
            assert_close(got.conditional_rejection[-1], r["crp"], what="conditional rejection probability")


# Bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: interim_analysis(
                group_sequential(3), [50, 40], [-1, -2], max_events=150, hazard_ratio=0.6
            ),
            "they must increase",
        ),
        (
            lambda: interim_analysis(group_sequential(3), [110], [-1], max_events=150, hazard_ratio=0.6),
            "stay below the later planned fractions",
        ),
        (
            lambda: interim_analysis(group_sequential(3), [50], [-1, -2], max_events=150, hazard_ratio=0.6),
            "events has 1 values and logrank_z 2",
        ),
        (
            lambda: interim_analysis(group_sequential(3), [50], [-1], max_events=150, hazard_ratio=1.0),
            "hazard_ratio is 1.0",
        ),
        (
            lambda: interim_analysis(
                group_sequential(2), [160], [-1], max_events=150, hazard_ratio=0.6, final=False
            ),
            "an interim analysis must come before the 150 planned",
        ),
    ],
)
def test_bad_input_names_the_argument(call: object, message: str) -> None:
    with pytest.raises(DataError, match=message):
        call()  # type: ignore[operator]


def test_a_user_spending_design_keeps_its_first_look_alpha() -> None:
    # 0.01 two-sided at the first look, wherever it falls: the bound is z_{0.005} = 2.5758
    design = group_sequential(3, alpha=0.05, sided=2, alpha_spending=(0.01, 0.03, 0.05))
    got = interim_analysis(design, [60], [-1.5], max_events=150.1, hazard_ratio=0.63)
    assert got.design.critical_values[0] == pytest.approx(stats.norm.isf(0.005), rel=1e-9)
    assert got.design.alpha_spent[0] == pytest.approx(0.01, rel=1e-9)


@pytest.mark.parametrize(
    ("z", "decision"),
    [(-2.6, "stop for efficacy"), (2.6, "stop for harm"), (2.5, "continue"), (-2.5, "continue")],
)
def test_a_two_sided_design_names_the_direction_it_stops_in(z: float, decision: str) -> None:
    # two-sided 5%, OF-like, 98 of 150 events: bound 2.542; a log-rank z of +2.6 means the
    # experimental arm has more events (hazard ratio 1.69), which was once called "efficacy"
    design = group_sequential(3, alpha=0.05, sided=2)
    got = interim_analysis(design, [52, 98], [-1.2, z], max_events=150, hazard_ratio=0.63)
    assert 2.5 < got.design.critical_values[1] < 2.6
    assert got.decision == decision
