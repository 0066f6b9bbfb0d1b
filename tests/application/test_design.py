"""The trial-design use cases: the answer is the design package's, permissions only for the registry.

Designing a trial reads no patient data, so an actor with no grant at all may do it; the
control curve from the registry reads patients, so it needs ``run_report`` and sees only
the actor's scope. Errors name the command-line option at fault.
"""

from __future__ import annotations

import pytest

from bassinet.access import POLICY, Actor, Permission
from bassinet.application import local_operator
from bassinet.application.design import (
    DesignQuestion,
    design_trial,
    sequential_design,
    simulate_trial,
)
from bassinet.design import (
    Exponential,
    SimulatedPower,
    SimulatedSequential,
    group_sequential,
    hazard_ratio_from_survival,
    power_for_patients,
    sample_size,
    sequential_sample_size,
    simulate_power,
)
from bassinet.errors import AccessDenied, ConfigurationError, DataError
from bassinet.registry.models import Role, ScopeKind

#: a user with no grant at all: may design, may not read the registry
NOBODY = Actor(user_id=9, username="nobody", permissions=())
BASE = DesignQuestion(control=0.41, experimental=0.57, accrual=60)


def test_a_fixed_design_is_the_design_packages_sample_size_for_an_actor_without_grants() -> None:
    trial = design_trial(NOBODY, BASE)
    curve = Exponential.from_survival(0.41, 36)
    hr = hazard_ratio_from_survival(0.41, 0.57)
    expected = sample_size(curve, hr, accrual=60, follow_up=36)
    assert trial.hazard_ratio == pytest.approx(hr, rel=1e-12)
    assert trial.control_survival == pytest.approx(0.41, rel=1e-12)
    assert trial.size is not None and trial.powered is None and trial.plan is None
    assert trial.size.events_rounded == expected.events_rounded
    assert trial.size.patients == pytest.approx(expected.patients, rel=1e-12)
    assert trial.size.patients_per_arm == expected.patients_per_arm_rounded == (105, 105)
    assert trial.patients == 210 and trial.accrual == pytest.approx(60)
    assert trial.registry is None and trial.sequential is None and trial.monitoring is None


def test_the_power_of_given_patients_is_the_design_packages() -> None:
    trial = design_trial(NOBODY, DesignQuestion(control=0.41, experimental=0.57, accrual=60, patients=320))
    expected = power_for_patients(
        320, Exponential.from_survival(0.41, 36), hazard_ratio_from_survival(0.41, 0.57), accrual=60,
        follow_up=36,
    )  # fmt: skip
    assert trial.size is None and trial.powered is not None
    assert trial.powered.power == pytest.approx(expected.power, rel=1e-12)
    assert trial.powered.events == pytest.approx(expected.events, rel=1e-12)
    assert trial.patients == 320


def test_a_group_sequential_design_with_interim_data_is_monitored() -> None:
    question = DesignQuestion(
        control=0.41,
        experimental=0.57,
        accrual=60,
        looks=3,
        observed_events=(50, 98),
        observed_z=(-1.2, -2.6),
    )
    trial = design_trial(NOBODY, question)
    plan = group_sequential(3, alpha=0.05, beta=0.2, sided=2)
    assert trial.plan is not None
    assert trial.plan.critical_values == pytest.approx(plan.critical_values, rel=1e-12)
    expected = sequential_sample_size(
        plan, Exponential.from_survival(0.41, 36), trial.hazard_ratio, accrual=60, follow_up=36
    )
    assert trial.sequential is not None and trial.size is not None
    assert trial.size.events == pytest.approx(expected.max_events, rel=1e-12)
    assert trial.monitoring is not None
    assert trial.monitoring.stage == 2
    assert trial.monitoring.decision == "stop for efficacy"


@pytest.mark.parametrize(
    ("question", "error", "message"),
    [
        (DesignQuestion(experimental=0.57, accrual=60), ConfigurationError, "--control is required"),
        (DesignQuestion(control=1.0, hazard_ratio=0.6), DataError, "--control is 1: a survival proportion"),
        (DesignQuestion(control=0.41, accrual=60), ConfigurationError, "give --experimental"),
        (DesignQuestion(curve="weibull", hazard_ratio=0.6), ConfigurationError, "--curve is 'weibull'"),
        (DesignQuestion(curve="piecewise", hazard_ratio=0.6), ConfigurationError, "needs --piecewise"),
        (DesignQuestion(control=0.41, hazard_ratio=0.6, patients=300), ConfigurationError, "needs --accrual"),
        (
            DesignQuestion(
                control=0.41, hazard_ratio=0.6, accrual=60, observed_events=(50,), observed_z=(-1,)
            ),
            ConfigurationError,
            "--observed-events needs a group-sequential design",
        ),
        (
            DesignQuestion(control=0.41, hazard_ratio=0.6, accrual=60, looks=3, observed_events=(50,)),
            ConfigurationError,
            "give --observed-events and --observed-z together",
        ),
    ],
)
def test_a_wrong_question_is_refused_naming_the_option(
    question: DesignQuestion, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        design_trial(NOBODY, question)


@pytest.mark.parametrize(
    ("looks", "information", "extra", "message"),
    [
        (21, None, {}, "--looks is 21: between 1 and 20 analyses"),
        (0, None, {}, "--looks is 0: between 1 and 20 analyses"),
        (3, (0.5, 1.0), {}, "--looks is 3: --information gives 2 analyses"),
        (3, None, {"spending": "kd"}, "--spending kd needs --spending-parameter: the rho of kd"),
        (3, None, {"boundary": "wang-tsiatis"}, "--boundary wang-tsiatis needs --spending-parameter"),
        (3, None, {"beta_spending": "hsd", "sided": 1}, "--beta-spending hsd needs --beta-parameter"),
    ],
)
def test_a_sequential_plan_names_the_missing_option(
    looks: int, information: tuple[float, ...] | None, extra: dict[str, object], message: str
) -> None:
    with pytest.raises(DataError, match=message):
        sequential_design(looks, information, **extra)  # type: ignore[arg-type]


def test_one_analysis_or_twenty_bound_the_sequential_plan() -> None:
    assert sequential_design(1, None) is None
    assert sequential_design(1, (1.0,)) is None
    plan = sequential_design(20, None)
    assert plan is not None and plan.k_max == 20


def test_simulating_a_fixed_design_in_this_process_is_the_design_packages_simulation() -> None:
    trial = design_trial(NOBODY, BASE)
    done: list[int] = []
    sim = simulate_trial(NOBODY, trial, 200, seed=3, progress=done.append)
    expected = simulate_power(
        trial.control_curve, trial.hazard_ratio, 210, accrual=60, follow_up=36, replicates=200, seed=3
    )
    assert isinstance(sim, SimulatedPower)
    assert sim.power == expected.power and sim.mean_events == expected.mean_events
    assert done and done[-1] == 200


def test_simulating_a_sequential_design_uses_logrank_only() -> None:
    trial = design_trial(NOBODY, DesignQuestion(control=0.41, experimental=0.57, accrual=60, looks=2))
    sim = simulate_trial(NOBODY, trial, 100, seed=2)
    assert isinstance(sim, SimulatedSequential)
    assert sim.replicates == 100 and len(sim.efficacy) == 2
    with pytest.raises(ConfigurationError, match="--test is 'cox': group-sequential trials are simulated"):
        simulate_trial(NOBODY, trial, 100, test="cox")
    fixed = design_trial(NOBODY, BASE)
    with pytest.raises(ConfigurationError, match="--test is 'weibull': logrank or cox"):
        simulate_trial(NOBODY, fixed, 100, test="weibull")


def test_the_registry_curve_needs_run_report_and_reads_only_the_actors_scope(
    cohort_registry_url: str,
) -> None:
    question = DesignQuestion(
        curve="registry", registry=cohort_registry_url, endpoint="DFS", origin="randomisation",
        where={"protocol": "Interfant-06", "arm": "IB"}, hazard_ratio=0.63, accrual=120, follow_up=24,
    )  # fmt: skip
    monitor = Actor(
        user_id=8, username="monitor", permissions=(
            Permission(Role.MONITOR, ScopeKind.STUDY, "study", None, POLICY[Role.MONITOR]),
        ),
    )  # fmt: skip
    with pytest.raises(AccessDenied, match="may not run_report"):
        design_trial(monitor, question)
    trial = design_trial(local_operator("statistician"), question)
    assert trial.registry is not None
    assert trial.registry.patients == 166  # the IB arm of the seed-33 trial
    assert trial.registry.endpoint == "DFS"
    assert trial.control_curve.describe().startswith("piecewise exponential in")


def test_a_registry_curve_nobody_is_in_names_the_registry_and_the_condition(cohort_registry_url: str) -> None:
    question = DesignQuestion(
        curve="registry", registry=cohort_registry_url, where={"arm": "XX"}, hazard_ratio=0.6, accrual=60
    )
    with pytest.raises(DataError, match=r"no patient in .*registry\.db matches --where arm=XX"):
        design_trial(local_operator("statistician"), question)
