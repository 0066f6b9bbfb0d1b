"""Power by simulation: the vectorised log-rank test, agreement with the analytic power, Dask."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from bassinet.design import (
    CureFraction,
    Exponential,
    PiecewiseExponential,
    SequentialDesign,
    dropout_hazard,
    group_sequential,
    power_for_patients,
    sequential_sample_size,
)
from bassinet.design._sequential import crossing_probabilities
from bassinet.design._simulate import TrialSettings, _draw, logrank_z, simulate_power, simulate_sequential
from bassinet.errors import DataError
from bassinet.survival import logrank

HR = math.log(0.57) / math.log(0.41)
CONTROL = Exponential.from_survival(0.41, 36)


def test_the_vectorised_logrank_equals_the_survival_core_on_each_trial() -> None:
    settings = TrialSettings(CONTROL, HR, 120, 60.0, 36.0, (0.01, 0.01), 1.0, 0.05, 2, "logrank")
    time, event, experimental = _draw(settings, 4, np.random.default_rng(3))
    z = logrank_z(time, event, experimental)
    for k in range(4):
        test = logrank(time[k], event[k], experimental[k].astype(int))
        assert z[k] ** 2 == pytest.approx(test.chisq, rel=1e-10)


def test_drawn_times_follow_the_curves() -> None:
    # Without censoring, the share of control times beyond 36 months is S(36) = 0.41 and of
    # experimental ones S(36)^HR = 0.57, within Monte Carlo error (SE about 0.0016 each).
    settings = TrialSettings(CONTROL, HR, 200, 0.0, 1e9, (0.0, 0.0), 1.0, 0.05, 2, "logrank")
    time, event, experimental = _draw(settings, 500, np.random.default_rng(4))
    assert event.all()
    assert np.mean(time[~experimental] > 36) == pytest.approx(0.41, abs=0.006)
    assert np.mean(time[experimental] > 36) == pytest.approx(0.57, abs=0.006)


def test_cured_patients_never_have_an_event() -> None:
    settings = TrialSettings(CureFraction(0.4, 0.1), 1.0, 100, 0.0, 1e9, (0.0, 0.0), 1.0, 0.05, 2, "logrank")
    _, event, _ = _draw(settings, 200, np.random.default_rng(5))
    assert event.mean() == pytest.approx(0.6, abs=0.01)


@pytest.mark.parametrize(
    "curve",
    [
        CONTROL,
        PiecewiseExponential((0.0, 12.0, 24.0), (0.04, 0.015, 0.003)),
        CureFraction.from_survival(0.3, 0.41, 36),
    ],
)
def test_simulated_power_agrees_with_the_analytic_power_within_monte_carlo_error(curve: object) -> None:
    analytic = power_for_patients(200, curve, HR, accrual=48, follow_up=24)  # type: ignore[arg-type]
    simulated = simulate_power(curve, HR, 200, accrual=48, follow_up=24, replicates=4000, seed=11)  # type: ignore[arg-type]
    assert abs(simulated.power - analytic.power) < 3 * simulated.std_err
    assert simulated.mean_events == pytest.approx(analytic.events, rel=0.01)


def test_under_the_null_the_rejection_rate_is_alpha() -> None:
    simulated = simulate_power(CONTROL, 1.0 + 1e-12, 150, accrual=36, follow_up=24, replicates=6000, seed=12)
    assert abs(simulated.power - 0.05) < 3 * math.sqrt(0.05 * 0.95 / 6000)


def test_the_same_seed_gives_the_same_power_and_another_seed_another() -> None:
    a, b, c = (
        simulate_power(CONTROL, HR, 100, accrual=24, follow_up=12, replicates=1500, seed=s) for s in (1, 1, 2)
    )
    assert a == b
    assert a.power != c.power


def test_the_cox_wald_test_agrees_with_the_logrank_test_on_most_trials() -> None:
    logrank_power = simulate_power(CONTROL, HR, 120, accrual=24, follow_up=24, replicates=300, seed=13)
    cox_power = simulate_power(
        CONTROL, HR, 120, accrual=24, follow_up=24, replicates=300, seed=13, test="cox"
    )
    assert abs(cox_power.power - logrank_power.power) < 0.03  # same trials, nearly the same decisions


@pytest.fixture(scope="module")
def two_process_client() -> Iterator[object]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        yield client


def test_a_two_process_dask_cluster_gives_the_same_result_as_this_process(two_process_client: object) -> None:
    here = simulate_power(CONTROL, HR, 150, accrual=36, follow_up=24, replicates=3500, seed=21)
    there = simulate_power(
        CONTROL,
        HR,
        150,
        accrual=36,
        follow_up=24,
        replicates=3500,
        seed=21,
        client=two_process_client,  # type: ignore[arg-type]
    )
    assert there == here
    workers = two_process_client.scheduler_info()["workers"]  # type: ignore[attr-defined]
    assert len(workers) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"patients": 1}, "patients is 1: a trial needs at least 2 patients"),
        ({"replicates": 0}, "replicates is 0"),
        ({"accrual": -1.0}, "accrual is -1.0"),
        ({"test": "wilcoxon"}, "test is 'wilcoxon'"),
    ],
)
def test_bad_simulation_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    settings: dict[str, object] = {"patients": 100, "accrual": 24.0, "follow_up": 12.0, "replicates": 10}
    settings.update(kwargs)
    patients = settings.pop("patients")
    with pytest.raises(DataError, match=message):
        simulate_power(CONTROL, HR, patients, **settings)  # type: ignore[arg-type]


# Group-sequential trials ----------------------------------------------------------------


def _analytic_at_the_simulated_events(
    design: SequentialDesign, hazard_ratio: float, events: tuple[int, ...]
) -> Any:
    """The recursion at the event counts the simulation analyses at (whole events, not rates)."""
    rates = [e / events[-1] for e in events]
    drift = 0.0 if hazard_ratio == 1 else math.sqrt(events[-1]) * abs(math.log(hazard_ratio)) / 2
    return crossing_probabilities(
        rates, design.critical_values, design.lower_bounds(), drift, sided=design.sided
    )


@pytest.mark.parametrize(
    ("kwargs", "hazard_ratio"),
    [
        ({"information_rates": 3, "alpha": 0.05, "sided": 2}, HR),
        ({"information_rates": 3, "alpha": 0.05, "sided": 2}, 1.0),
        ({"information_rates": (0.5, 0.75, 1.0), "beta_spending": "obf"}, HR),
    ],
)
def test_simulated_stopping_shares_agree_with_the_recursion(
    kwargs: dict[str, Any], hazard_ratio: float
) -> None:
    design = group_sequential(**kwargs)
    phi = dropout_hazard(0.05, 12)
    control = CureFraction.from_survival(0.35, 0.41, 36)
    plan = sequential_sample_size(design, control, HR, accrual=120, follow_up=24, dropout=(phi, phi))
    sim = simulate_sequential(
        design, control, hazard_ratio, plan.patients_rounded, events=plan.max_events, accrual=120,
        dropout=(phi, phi), replicates=5000, seed=11,
    )  # fmt: skip
    assert sim.events[-1] == math.ceil(plan.max_events)
    analytic = _analytic_at_the_simulated_events(design, hazard_ratio, sim.events)
    for simulated, expected in zip(
        sim.efficacy + sim.futility, analytic.efficacy + analytic.futility, strict=True
    ):
        assert abs(simulated - expected) <= 3 * max(sim.std_err(expected), 1e-4), (sim, analytic)


def test_a_sequential_simulation_is_the_same_for_a_seed_and_stops_every_trial_once() -> None:
    design = group_sequential(3, alpha=0.025, futility=(0.0, 0.5))
    args = (design, CONTROL, 0.6, 200)
    first = simulate_sequential(*args, events=120, accrual=48, replicates=1500, seed=5)
    again = simulate_sequential(*args, events=120, accrual=48, replicates=1500, seed=5)
    assert first == again
    assert sum(first.efficacy) + sum(first.futility) <= 1
    assert first.futility[-1] == 0
    assert 0 < first.mean_events <= 120


def test_a_sequential_simulation_on_a_dask_cluster_equals_this_process(two_process_client: object) -> None:
    design = group_sequential(3, alpha=0.05, sided=2)
    args = (design, CONTROL, HR, 150)
    here = simulate_sequential(*args, events=100, accrual=36, replicates=2500, seed=8)
    there = simulate_sequential(
        *args, events=100, accrual=36, replicates=2500, seed=8, client=two_process_client
    )  # type: ignore[arg-type]
    assert here == there
    assert here.events == (34, 67, 100)
