"""Group-sequential designs: hand-worked cases, then rpact as the oracle at a relative 1e-6.

Each rpact comparison builds the same design in R (the R call is in the grid beside the
Python call) and compares every number rpact reports: boundaries, error spent, stopping
probabilities, inflation factor, expected information; then events, patients and calendar
times of the survival trial (``getSampleSizeSurvival``, ``getPowerSurvival``).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from bassinet.design import Exponential, PiecewiseExponential, dropout_hazard
from bassinet.design._sequential import crossing_probabilities, group_sequential
from bassinet.design._sequential_survival import sequential_power, sequential_sample_size
from bassinet.design._spending import spent
from bassinet.errors import DataError
from tests.survival.r_oracle import assert_close, run_r

RPACT = ("rpact",)
HR = math.log(0.57) / math.log(0.41)

# Hand-worked cases --------------------------------------------------------------------


def test_one_analysis_is_the_fixed_design() -> None:
    d = group_sequential(1, alpha=0.025, beta=0.2)
    assert d.critical_values[0] == pytest.approx(stats.norm.isf(0.025), rel=1e-12)
    assert d.drift == pytest.approx(stats.norm.isf(0.025) + stats.norm.isf(0.2), rel=1e-10)
    assert d.inflation_factor == pytest.approx(1.0, rel=1e-10)


def test_two_analyses_cross_with_the_bivariate_normal_probability() -> None:
    # Z1, Z2 with correlation sqrt(t1 / t2) = sqrt(0.5): P(Z1 > c1 or Z2 > c2) by scipy's
    # bivariate normal, P = 1 - P(Z1 < c1, Z2 < c2)
    c = (2.5, 2.0)
    rho = math.sqrt(0.5)
    joint = stats.multivariate_normal([0, 0], [[1, rho], [rho, 1]]).cdf(c)
    got = crossing_probabilities((0.5, 1.0), c, (-math.inf, -math.inf), 0.0)
    assert got.power == pytest.approx(1 - joint, abs=1e-6)
    assert got.efficacy[0] == pytest.approx(stats.norm.sf(2.5), rel=1e-12)


def test_the_pocock_bound_is_constant_and_obrien_fleming_falls_as_one_over_root_t() -> None:
    p = group_sequential(4, boundary="pocock")
    assert max(p.critical_values) - min(p.critical_values) < 1e-12
    of = group_sequential((0.3, 0.6, 1.0), boundary="obrien-fleming")
    scaled = [c * math.sqrt(t) for c, t in zip(of.critical_values, of.information_rates, strict=False)]
    assert max(scaled) - min(scaled) < 1e-12
    assert of.alpha_spent[-1] == pytest.approx(0.025, rel=1e-10)


def test_spending_functions_spend_all_the_error_at_one_and_none_at_zero() -> None:
    for kind, parameter in (("obf", None), ("pocock", None), ("kd", 2.0), ("hsd", -4.0), ("hsd", 0.0)):
        assert spent(kind, 0.05, 1.0, sided=2, parameter=parameter) == pytest.approx(0.05, rel=1e-12)  # type: ignore[arg-type]
        assert spent(kind, 0.05, 0.0, parameter=parameter) == 0.0  # type: ignore[arg-type]
    # Kim-DeMets rho 1 and Hwang-Shih-DeCani gamma 0 both spend linearly
    assert spent("kd", 0.025, 0.4, parameter=1.0) == pytest.approx(0.01, rel=1e-14)
    assert spent("hsd", 0.025, 0.4, parameter=0.0) == pytest.approx(0.01, rel=1e-14)


def test_the_alpha_spent_is_the_spending_function_at_each_rate() -> None:
    d = group_sequential((0.25, 0.5, 0.8, 1.0), spending="kd", parameter=3.0)
    expected = [0.025 * t**3 for t in d.information_rates]
    np.testing.assert_allclose(d.alpha_spent, expected, rtol=1e-9)


# rpact --------------------------------------------------------------------------------

# name: (rpact arguments of getDesignGroupSequential, our arguments of group_sequential)
DESIGNS: dict[str, tuple[str, dict[str, Any]]] = {
    "OF-like spending, one-sided, 3 looks": (
        'kMax = 3, alpha = 0.025, beta = 0.2, typeOfDesign = "asOF"',
        {"information_rates": 3},
    ),
    "OF-like spending, two-sided 5%, 3 looks": (
        'kMax = 3, alpha = 0.05, beta = 0.2, sided = 2, typeOfDesign = "asOF"',
        {"information_rates": 3, "alpha": 0.05, "sided": 2},
    ),
    "Pocock-like spending, unequal rates": (
        'informationRates = c(0.3, 0.55, 0.8, 1), alpha = 0.025, beta = 0.1, typeOfDesign = "asP"',
        {"information_rates": (0.3, 0.55, 0.8, 1), "beta": 0.1, "spending": "pocock"},
    ),
    "Kim-DeMets rho 2": (
        'informationRates = c(0.4, 0.7, 1), alpha = 0.025, typeOfDesign = "asKD", gammaA = 2',
        {"information_rates": (0.4, 0.7, 1), "spending": "kd", "parameter": 2.0},
    ),
    "Hwang-Shih-DeCani gamma -4, two-sided, 5 looks": (
        'kMax = 5, alpha = 0.05, sided = 2, typeOfDesign = "asHSD", gammaA = -4',
        {"information_rates": 5, "alpha": 0.05, "sided": 2, "spending": "hsd", "parameter": -4.0},
    ),
    "Hwang-Shih-DeCani gamma 1, 2 looks": (
        'informationRates = c(0.6, 1), alpha = 0.01, beta = 0.15, typeOfDesign = "asHSD", gammaA = 1',
        {"information_rates": (0.6, 1), "alpha": 0.01, "beta": 0.15, "spending": "hsd", "parameter": 1.0},
    ),
    "user alpha spending": (
        'informationRates = c(0.5, 0.8, 1), alpha = 0.025, typeOfDesign = "asUser", '
        "userAlphaSpending = c(0.001, 0.01, 0.025)",
        {"information_rates": (0.5, 0.8, 1), "alpha_spending": (0.001, 0.01, 0.025)},
    ),
    "O'Brien-Fleming": (
        'kMax = 3, alpha = 0.025, typeOfDesign = "OF"',
        {"information_rates": 3, "boundary": "obrien-fleming"},
    ),
    "Pocock, two-sided, 4 looks": (
        'kMax = 4, alpha = 0.05, sided = 2, typeOfDesign = "P"',
        {"information_rates": 4, "alpha": 0.05, "sided": 2, "boundary": "pocock"},
    ),
    "Wang-Tsiatis delta 0.25": (
        'informationRates = c(0.35, 0.7, 1), alpha = 0.025, typeOfDesign = "WT", deltaWT = 0.25',
        {"information_rates": (0.35, 0.7, 1), "boundary": "wang-tsiatis", "parameter": 0.25},
    ),
    "futility bounds, non-binding": (
        'kMax = 3, alpha = 0.025, typeOfDesign = "asOF", futilityBounds = c(0, 0.5), bindingFutility = FALSE',
        {"information_rates": 3, "futility": (0.0, 0.5)},
    ),
    "futility bounds, binding": (
        'kMax = 3, alpha = 0.025, typeOfDesign = "asOF", futilityBounds = c(0, 0.5), bindingFutility = TRUE',
        {"information_rates": 3, "futility": (0.0, 0.5), "binding": True},
    ),
    "Pocock with a binding futility bound": (
        'kMax = 2, alpha = 0.025, typeOfDesign = "P", futilityBounds = -0.5, bindingFutility = TRUE',
        {"information_rates": 2, "boundary": "pocock", "futility": (-0.5,), "binding": True},
    ),
    "OF-like beta spending, non-binding": (
        'kMax = 3, alpha = 0.025, typeOfDesign = "asOF", typeBetaSpending = "bsOF"',
        {"information_rates": 3, "beta_spending": "obf"},
    ),
    "Pocock-like beta spending, binding, 4 looks": (
        'informationRates = c(0.25, 0.5, 0.75, 1), alpha = 0.025, typeOfDesign = "asP", '
        'typeBetaSpending = "bsP", bindingFutility = TRUE',
        {"information_rates": 4, "spending": "pocock", "beta_spending": "pocock", "binding": True},
    ),
    "Kim-DeMets beta spending": (
        'informationRates = c(0.5, 0.75, 1), alpha = 0.025, beta = 0.1, typeOfDesign = "asKD", gammaA = 3, '
        'typeBetaSpending = "bsKD", gammaB = 2',
        {
            "information_rates": (0.5, 0.75, 1),
            "beta": 0.1,
            "spending": "kd",
            "parameter": 3.0,
            "beta_spending": "kd",
            "beta_parameter": 2.0,
        },
    ),
    "Hwang-Shih-DeCani beta spending, binding": (
        'kMax = 3, alpha = 0.025, typeOfDesign = "asHSD", gammaA = -2, typeBetaSpending = "bsHSD", '
        "gammaB = -2, bindingFutility = TRUE",
        {
            "information_rates": 3,
            "spending": "hsd",
            "parameter": -2.0,
            "beta_spending": "hsd",
            "beta_parameter": -2.0,
            "binding": True,
        },
    ),
}

_DESIGN_R = """
.one <- function(i, d) {
  ch <- getDesignCharacteristics(d)
  res <- list(cv = d$criticalValues, spent = d$alphaSpent, levels = d$stageLevels,
              shift = ch$shift, inflation = ch$inflationFactor, asn1 = ch$averageSampleNumber1,
              asn01 = ch$averageSampleNumber01, asn0 = ch$averageSampleNumber0,
              reject = ch$rejectionProbabilities, power = ch$power)
  if (any(!is.na(d$futilityBounds) & d$futilityBounds > -6)) {
    res$fut <- d$futilityBounds
    res$futprob <- ch$futilityProbabilities
  }
  if (!all(is.na(d$betaSpent))) res$betaspent <- d$betaSpent
  names(res) <- paste0(i, "_", names(res))
  res
}
out <- list()
"""


@functools.cache
def rpact_designs() -> dict[str, np.ndarray]:
    """All designs of the grid from one R session (rpact takes seconds to load)."""
    lines = [_DESIGN_R]
    for i, (r_args, _) in enumerate(DESIGNS.values()):
        lines.append(f"out <- c(out, .one({i}, getDesignGroupSequential({r_args})))")
    return run_r("\n".join(lines), packages=RPACT)


@pytest.mark.parametrize("name", list(DESIGNS))
def test_design_equals_rpact(name: str) -> None:
    i = list(DESIGNS).index(name)
    r = {key.split("_", 1)[1]: value for key, value in rpact_designs().items() if key.startswith(f"{i}_")}
    d = group_sequential(**DESIGNS[name][1])
    assert_close(d.critical_values, r["cv"], what="critical values")
    assert_close(d.alpha_spent, r["spent"], what="cumulative alpha spent")
    assert_close(d.stage_levels, r["levels"], what="stage levels")
    assert_close(d.drift**2, r["shift"], what="shift")
    assert_close(d.inflation_factor, r["inflation"], what="inflation factor")
    assert_close(d.rejection(d.under_h1), r["reject"], what="rejection probabilities under H1")
    assert_close(d.power, r["power"], what="cumulative power")
    assert_close(d.expected_information(), r["asn1"], what="expected information under H1")
    assert_close(d.expected_information(d.drift / 2), r["asn01"], what="expected information halfway")
    assert_close(d.expected_information(0.0), r["asn0"], what="expected information under H0")
    if "fut" in r:
        assert d.futility_bounds is not None
        assert_close(d.futility_bounds, r["fut"], what="futility bounds")
        assert_close(d.under_h1.futility[:-1], r["futprob"], what="futility stops under H1")
    else:
        assert d.futility_bounds is None
    if "betaspent" in r:
        assert d.beta_spent is not None
        assert_close(d.beta_spent, r["betaspent"], what="cumulative beta spent")


# name: (design name, rpact arguments of getSampleSizeSurvival, our arguments)
PHI = dropout_hazard(0.05, 12)
TRIALS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "Interfant-06, 3 looks, two-sided, dropout": (
        "OF-like spending, two-sided 5%, 3 looks",
        "lambda2 = -log(0.41) / 36, hazardRatio = HR, accrualTime = c(0, 60), followUpTime = 36, "
        "dropoutRate1 = 0.05, dropoutRate2 = 0.05, dropoutTime = 12",
        {
            "control": Exponential.from_survival(0.41, 36),
            "hazard_ratio": HR,
            "accrual": 60,
            "follow_up": 36,
            "dropout": (PHI, PHI),
        },
    ),
    "beta spending, 2:1 allocation": (
        "OF-like beta spending, non-binding",
        "lambda2 = 0.02, hazardRatio = 0.7, allocationRatioPlanned = 2, accrualTime = c(0, 48), "
        "followUpTime = 24",
        {
            "control": Exponential(0.02),
            "hazard_ratio": 0.7,
            "accrual": 48,
            "follow_up": 24,
            "allocation": 2.0,
        },
    ),
    "piecewise control, binding futility, Freedman": (
        "futility bounds, binding",
        "piecewiseSurvivalTime = c(0, 12, 24), lambda2 = c(0.04, 0.015, 0.003), hazardRatio = 0.63, "
        'accrualTime = c(0, 48), followUpTime = 24, typeOfComputation = "Freedman"',
        {
            "control": PiecewiseExponential((0.0, 12.0, 24.0), (0.04, 0.015, 0.003)),
            "hazard_ratio": 0.63,
            "accrual": 48,
            "follow_up": 24,
            "method": "freedman",
        },
    ),
    "accrual rate, Pocock two-sided": (
        "Pocock, two-sided, 4 looks",
        "lambda2 = 0.03, hazardRatio = 0.6, accrualTime = 0, accrualIntensity = 5, followUpTime = 12",
        {"control": Exponential(0.03), "hazard_ratio": 0.6, "accrual_rate": 5.0, "follow_up": 12},
    ),
}

_TRIAL_R = """
.trial <- function(i, s) {
  res <- list(maxevents = s$maxNumberOfEvents, n = s$maxNumberOfSubjects, time = s$analysisTime,
              events = s$eventsPerStage, subjects = s$numberOfSubjects, e0 = s$expectedEventsH0,
              e01 = s$expectedEventsH01, e1 = s$expectedEventsH1, n1 = s$expectedNumberOfSubjectsH1,
              duration = s$studyDurationH1, reject = s$rejectPerStage, pvalue = s$criticalValuesPValueScale)
  if (length(s$criticalValuesEffectScaleLower)) {
    res$hr <- s$criticalValuesEffectScaleLower
    res$hrupper <- s$criticalValuesEffectScaleUpper
  } else {
    res$hr <- s$criticalValuesEffectScale
  }
  if (length(s$futilityBoundsEffectScale) && !all(is.na(s$futilityBoundsEffectScale))) {
    res$futhr <- s$futilityBoundsEffectScale
    res$futprob <- s$futilityPerStage
  }
  names(res) <- paste0(i, "_", names(res))
  res
}
HR <- log(0.57) / log(0.41)
out <- list()
"""


@functools.cache
def rpact_trials() -> dict[str, np.ndarray]:
    lines = [_TRIAL_R]
    for i, (design, r_args, _) in enumerate(TRIALS.values()):
        lines.append(
            f"out <- c(out, .trial({i}, getSampleSizeSurvival("
            f"getDesignGroupSequential({DESIGNS[design][0]}), {r_args})))"
        )
    return run_r("\n".join(lines), packages=RPACT)


@pytest.mark.parametrize("name", list(TRIALS))
def test_survival_sample_size_equals_rpact(name: str) -> None:
    i = list(TRIALS).index(name)
    r = {key.split("_", 1)[1]: value for key, value in rpact_trials().items() if key.startswith(f"{i}_")}
    design_name, _, ours = TRIALS[name]
    got = sequential_sample_size(group_sequential(**DESIGNS[design_name][1]), **ours)
    assert_close(got.max_events, r["maxevents"], what="maximum events")
    assert_close(got.patients, r["n"], what="patients")
    assert_close(got.events_per_stage, r["events"], what="events per analysis")
    assert_close(got.analysis_times, r["time"], what="calendar time of the analyses")
    assert_close(got.patients_per_stage, r["subjects"], what="patients entered by each analysis")
    assert_close(got.expected_events_h0, r["e0"], what="expected events under H0")
    assert_close(got.expected_events_h01, r["e01"], what="expected events halfway")
    assert_close(got.expected_events_h1, r["e1"], what="expected events under H1")
    assert_close(got.expected_patients_h1, r["n1"], what="expected patients under H1")
    assert_close(got.expected_duration_h1, r["duration"], what="expected duration under H1")
    assert_close(got.rejection_per_stage, r["reject"], what="rejection per analysis")
    assert_close(got.critical_p_values, r["pvalue"], what="bounds on the p-value scale")
    assert_close(got.critical_hazard_ratios, r["hr"], what="bounds on the hazard-ratio scale")
    if "hrupper" in r:
        assert_close(got.other_critical_hazard_ratios, r["hrupper"], what="upper bounds, hazard-ratio scale")
    if "futhr" in r:
        assert_close(got.futility_hazard_ratios, r["futhr"], what="futility bounds, hazard-ratio scale")
        assert_close(got.futility_per_stage[:-1], r["futprob"], what="futility stops per analysis")


def test_survival_power_with_three_looks_equals_rpact() -> None:
    code = """
    d <- getDesignGroupSequential(kMax = 3, alpha = 0.05, sided = 2, typeOfDesign = "asOF")
    x <- getPowerSurvival(d, pi1 = 0.43, pi2 = 0.59, eventTime = 36, maxNumberOfEvents = 150,
        maxNumberOfSubjects = 320, accrualTime = c(0, 60), directionUpper = FALSE)
    out <- list(power = x$overallReject, reject = x$rejectPerStage, time = x$analysisTime,
                e1 = x$expectedNumberOfEvents, n1 = x$expectedNumberOfSubjects, hr = x$hazardRatio)
    """
    r = run_r(code, packages=RPACT)
    hr = float(r["hr"][0])
    design = group_sequential(3, alpha=0.05, sided=2)
    got = sequential_power(
        design, Exponential.from_survival(0.41, 36), hr, events=150, patients=320, accrual=60
    )
    assert_close(got.power, r["power"], what="power")
    assert_close(got.rejection_per_stage, r["reject"], what="rejection per analysis")
    assert_close(got.analysis_times, r["time"], what="calendar time of the analyses")
    assert_close(got.expected_events_h1, r["e1"], what="expected events")
    assert_close(got.expected_patients_h1, r["n1"], what="expected patients")


# Bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: group_sequential((0.5, 0.4, 1)),
            r"information_rates is \[0.5, 0.4, 1.0\]: the rates must increase",
        ),
        (lambda: group_sequential((0.3, 0.6, 0.9)), "the last analysis must be at rate 1"),
        (lambda: group_sequential((0.0, 1.0)), r"each rate must lie in \(0, 1\]"),
        (lambda: group_sequential(21), "the number of analyses is 21: between 1 and 20"),
        (
            lambda: group_sequential([i / 21 for i in range(1, 22)]),
            "information_rates has 21 analyses: at most 20",
        ),
        (lambda: group_sequential(3, alpha=1.2), r"alpha is 1.2: it must lie in \(0, 1\)"),
        (lambda: group_sequential(3, spending="linear"), "spending is 'linear': one of obf, pocock, kd, hsd"),  # type: ignore[arg-type]
        (lambda: group_sequential(3, spending="kd"), "parameter is None: the Kim-DeMets rho"),
        (
            lambda: group_sequential(3, alpha_spending=(0.01, 0.03, 0.025)),
            r"the alpha spent must lie in \[0, alpha = 0.025\]",
        ),
        (lambda: group_sequential(3, futility=(0.0,)), "futility has 1 bounds: one for each of the 2"),
        (
            lambda: group_sequential(3, futility=(4.0, 0.0)),
            r"futility bound 1 is 4: above the efficacy bound 3.7103 of that analysis",
        ),
        (
            lambda: group_sequential(3, sided=2, futility=(0.0, 0.0)),
            "futility bounds are for one-sided designs",
        ),
        (
            lambda: sequential_sample_size(
                group_sequential(3), Exponential(0.02), 1.0, accrual=60, follow_up=12
            ),
            "hazard_ratio is 1: the arms are equal",
        ),
    ],
)
def test_bad_input_names_the_argument(call: object, message: str) -> None:
    with pytest.raises(DataError, match=message):
        call()  # type: ignore[operator]
