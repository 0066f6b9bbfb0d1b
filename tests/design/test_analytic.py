"""Events, patients and power: hand-worked cases first, then rpact as the oracle at a relative 1e-6."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from bassinet.design import (
    CureFraction,
    Exponential,
    PiecewiseExponential,
    dropout_hazard,
    events_needed,
    hazard_ratio_from_survival,
    power_for_events,
    power_for_patients,
    sample_size,
)
from bassinet.design._analytic import arm_event_probability, event_probability_by
from bassinet.errors import DataError
from tests.survival.r_oracle import assert_close, run_r

Z = stats.norm.isf(0.025) + stats.norm.isf(0.2)  # 1.959964 + 0.841621, alpha 0.05 two-sided, power 0.8
HR = math.log(0.57) / math.log(0.41)  # 41% -> 57% at 3 years


# Hand-worked cases --------------------------------------------------------------------


def test_schoenfeld_events_for_a_halved_hazard_with_equal_arms() -> None:
    # D = (z_a + z_b)^2 (1 + 1)^2 / (1 * log(0.5)^2) = 4 Z^2 / log(2)^2
    assert events_needed(0.5) == pytest.approx(4 * Z**2 / math.log(2) ** 2, rel=1e-12)


def test_freedman_events_for_a_halved_hazard_with_equal_arms() -> None:
    # D = Z^2 (1 + 0.5)^2 / (1 - 0.5)^2 = 9 Z^2
    assert events_needed(0.5, method="freedman") == pytest.approx(9 * Z**2, rel=1e-12)


def test_the_hazard_ratio_of_two_survival_proportions_is_the_ratio_of_their_logs() -> None:
    assert hazard_ratio_from_survival(0.41, 0.57) == pytest.approx(HR, rel=1e-15)


def test_power_at_the_events_needed_is_the_power_asked_for() -> None:
    for method in ("schoenfeld", "freedman", "hsieh-freedman"):
        d = events_needed(0.7, alpha=0.025, power=0.9, sided=1, method=method)  # type: ignore[arg-type]
        achieved = power_for_events(d, 0.7, alpha=0.025, sided=1, method=method)  # type: ignore[arg-type]
        assert achieved == pytest.approx(0.9, rel=1e-12)


def test_without_accrual_or_dropout_the_event_probability_is_one_minus_survival() -> None:
    curve = Exponential.from_survival(0.41, 36)
    assert event_probability_by(curve, 1.0, 36.0, 0.0) == pytest.approx(0.59, rel=1e-14)
    assert arm_event_probability(curve, 1.0, accrual=0.0, follow_up=36.0, dropout=0.0) == pytest.approx(0.59)


def test_with_dropout_an_exponential_event_probability_has_its_closed_form() -> None:
    # F(t) = lam / (lam + phi) (1 - exp(-(lam + phi) t))
    lam, phi, t = 0.02, 0.005, 40.0
    expected = lam / (lam + phi) * (1 - math.exp(-(lam + phi) * t))
    assert event_probability_by(Exponential(lam), 1.0, t, phi) == pytest.approx(expected, rel=1e-10)


def test_a_cure_curve_with_dropout_has_its_closed_form() -> None:
    # S = c + (1 - c) exp(-lam t): events only among the uncured,
    # F = (1 - c) lam / (lam + phi) (1 - exp(-(lam + phi) t))
    c, lam, phi, t = 0.3, 0.05, 0.01, 30.0
    expected = (1 - c) * lam / (lam + phi) * (1 - math.exp(-(lam + phi) * t))
    assert event_probability_by(CureFraction(c, lam), 1.0, t, phi) == pytest.approx(expected, rel=1e-10)


def test_uniform_accrual_averages_the_event_probability_over_follow_up_times() -> None:
    # exponential, no dropout: (1/a) int_f^{a+f} (1 - e^{-lam t}) dt
    #   = 1 - (e^{-lam f} - e^{-lam (a+f)}) / (lam a)
    lam, a, f = 0.03, 60.0, 24.0
    expected = 1 - (math.exp(-lam * f) - math.exp(-lam * (a + f))) / (lam * a)
    got = arm_event_probability(Exponential(lam), 1.0, accrual=a, follow_up=f, dropout=0.0)
    assert got == pytest.approx(expected, rel=1e-10)


def test_an_empirical_curve_passes_through_its_kaplan_meier_points_and_then_stays_flat() -> None:
    curve = PiecewiseExponential.from_kaplan_meier([6, 12, 24], [0.8, 0.6, 0.5])
    np.testing.assert_allclose(curve.survival([6, 12, 24, 100]), [0.8, 0.6, 0.5, 0.5], rtol=1e-12)
    np.testing.assert_allclose(
        curve.quantile([0.8, 0.6, 0.55]), [6, 12, 12 + 12 * math.log(0.6 / 0.55) / math.log(1.2)]
    )
    assert curve.quantile([0.4])[0] == math.inf  # below the plateau: never


def test_more_dropout_or_less_follow_up_needs_more_patients() -> None:
    curve = Exponential.from_survival(0.41, 36)
    base = sample_size(curve, HR, accrual=60, follow_up=36).patients
    assert sample_size(curve, HR, accrual=60, follow_up=12).patients > base
    phi = dropout_hazard(0.1, 12)
    assert sample_size(curve, HR, accrual=60, follow_up=36, dropout=(phi, phi)).patients > base


def test_an_accrual_rate_gives_the_patients_that_fill_its_own_period() -> None:
    curve = Exponential.from_survival(0.41, 36)
    by_rate = sample_size(curve, HR, accrual_rate=4.0, follow_up=36)
    assert by_rate.accrual * 4.0 == pytest.approx(by_rate.patients, rel=1e-9)
    by_duration = sample_size(curve, HR, accrual=by_rate.accrual, follow_up=36)
    assert by_duration.patients == pytest.approx(by_rate.patients, rel=1e-9)


# rpact as the oracle ------------------------------------------------------------------

RPACT = ("rpact",)
TWO_SIDED = "alpha = 0.05, sided = 2, beta = 0.2"
SCENARIOS: dict[str, tuple[str, dict[str, object]]] = {
    "41% vs 57% at 3 years": (TWO_SIDED, {}),
    "2:1 allocation": (f"{TWO_SIDED}, allocationRatioPlanned = 2", {"allocation": 2.0}),
    "10% dropout a year": (
        f"{TWO_SIDED}, dropoutRate1 = 0.1, dropoutRate2 = 0.1, dropoutTime = 12",
        {"dropout": (dropout_hazard(0.1, 12), dropout_hazard(0.1, 12))},
    ),
    "Freedman": (f'{TWO_SIDED}, typeOfComputation = "Freedman"', {"method": "freedman"}),
    "Hsieh-Freedman": (f'{TWO_SIDED}, typeOfComputation = "HsiehFreedman"', {"method": "hsieh-freedman"}),
    "one-sided 2.5%, power 90%": (
        "alpha = 0.025, sided = 1, beta = 0.1",
        {"alpha": 0.025, "sided": 1, "power": 0.9},
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_sample_size_equals_rpact(name: str) -> None:
    r_args, ours = SCENARIOS[name]
    code = f"""
    x <- getSampleSizeSurvival({r_args}, pi1 = 0.43, pi2 = 0.59, eventTime = 36,
        accrualTime = c(0, 60), followUpTime = 36)
    out <- list(events = x$eventsFixed, n = x$nFixed, n1 = x$nFixed1, n2 = x$nFixed2, hr = x$hazardRatio)
    """
    r = run_r(code, packages=RPACT)
    got = sample_size(Exponential.from_survival(0.41, 36), HR, accrual=60, follow_up=36, **ours)  # type: ignore[arg-type]
    assert_close(got.hazard_ratio, r["hr"], what="hazard ratio")
    assert_close(got.events, r["events"], what="events")
    assert_close(got.patients, r["n"], what="patients")
    assert_close(got.patients_experimental, r["n1"], what="experimental arm")
    assert_close(got.patients_control, r["n2"], what="control arm")


def test_sample_size_with_a_piecewise_control_curve_equals_rpact() -> None:
    # a curve that flattens: hazards 0.04, then 0.015 from month 12, then 0.003 from month 24
    code = """
    x <- getSampleSizeSurvival(alpha = 0.05, sided = 2, beta = 0.2, hazardRatio = 0.63,
        piecewiseSurvivalTime = c(0, 12, 24), lambda2 = c(0.04, 0.015, 0.003),
        accrualTime = c(0, 48), followUpTime = 24, dropoutRate1 = 0.05, dropoutRate2 = 0.05, dropoutTime = 12)
    out <- list(events = x$eventsFixed, n = x$nFixed)
    """
    r = run_r(code, packages=RPACT)
    phi = dropout_hazard(0.05, 12)
    curve = PiecewiseExponential((0.0, 12.0, 24.0), (0.04, 0.015, 0.003))
    got = sample_size(curve, 0.63, accrual=48, follow_up=24, dropout=(phi, phi))
    assert_close(got.events, r["events"], what="events")
    assert_close(got.patients, r["n"], what="patients")


def test_power_for_320_patients_equals_rpact() -> None:
    # Our expected events for 320 patients (5 years' accrual, 3 more of follow-up); rpact's
    # power for that many events, and the time at which rpact expects them: 96 months.
    curve = Exponential.from_survival(0.41, 36)
    ours = power_for_patients(320, curve, HR, accrual=60, follow_up=36)
    code = f"""
    x <- getPowerSurvival(alpha = 0.05, sided = 2, pi1 = 0.43, pi2 = 0.59, eventTime = 36,
        maxNumberOfEvents = {ours.events!r}, maxNumberOfSubjects = 320, accrualTime = c(0, 60))
    out <- list(power = x$overallReject, time = x$analysisTime)
    """
    r = run_r(code, packages=RPACT)
    assert_close(ours.power, r["power"], what="power")
    assert_close(96.0, r["time"], what="analysis time")


def test_power_with_unequal_allocation_and_one_sided_test_equals_rpact() -> None:
    code = """
    x <- getPowerSurvival(alpha = 0.025, sided = 1, directionUpper = FALSE, hazardRatio = 0.7,
        lambda2 = 0.02, allocationRatioPlanned = 2, maxNumberOfEvents = 200, maxNumberOfSubjects = 400,
        accrualTime = c(0, 36))
    out <- list(power = x$overallReject)
    """
    r = run_r(code, packages=RPACT)
    assert_close(power_for_events(200, 0.7, alpha=0.025, sided=1, allocation=2), r["power"])


# Bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: hazard_ratio_from_survival(1.2, 0.5),
            r"control survival is 1.2: a proportion must lie in \(0, 1\)",
        ),
        (lambda: hazard_ratio_from_survival(0.41, 0.0), "experimental survival is 0.0"),
        (lambda: hazard_ratio_from_survival(0.41, 0.41), "the survival proportions are equal"),
        (lambda: events_needed(1.0), "hazard_ratio is 1: the arms are equal"),
        (lambda: events_needed(0.6, alpha=1.5), r"alpha is 1.5: it must lie in \(0, 1\)"),
        (lambda: events_needed(0.6, power=0.0), r"power is 0.0: it must lie in \(0, 1\)"),
        (lambda: events_needed(0.6, sided=3), "sided is 3"),
        (lambda: events_needed(0.6, allocation=-1), "allocation is -1"),
        (lambda: sample_size(Exponential(0.02), 0.6, accrual=-5, follow_up=36), "accrual is -5"),
        (lambda: sample_size(Exponential(0.02), 0.6, accrual=60, follow_up=-1), "follow_up is -1"),
        (lambda: sample_size(Exponential(0.02), 0.6, follow_up=36), "give the accrual as a duration"),
        (lambda: dropout_hazard(1.0, 12), r"dropout is 1.0: the share lost must lie in \[0, 1\)"),
        (lambda: Exponential.from_survival(0.41, -36), "at is -36"),
        (lambda: CureFraction.from_survival(0.5, 0.41, 36), "cannot fall below its plateau"),
        (
            lambda: PiecewiseExponential.from_kaplan_meier([6, 12, 24], [0.8, 0.6, 0.7]),
            r"survival rises at time 24 \(0.7 after 0.6\): a survival curve must not increase",
        ),
        (lambda: PiecewiseExponential((0.0, 12.0), (0.02,)), "give one hazard per piece"),
        (lambda: PiecewiseExponential((0.0, 12.0, 6.0), (0.02, 0.01, 0.0)), "start at 0 and increase"),
    ],
)
def test_bad_input_names_the_parameter_and_the_rule(call: object, message: str) -> None:
    with pytest.raises(DataError, match=message):
        call()  # type: ignore[operator]
