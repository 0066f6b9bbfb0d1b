"""The report's interim section against rpact: the plan's design monitored on the simulated
Interfant-06 at its second interim analysis, the same events and log-rank z given to
``getAnalysisResults`` (R code in ``tests/design/test_interim.py``'s ``.case``)."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from scipy import stats

from bassinet.endpoints import ClinicalRecords
from bassinet.plans import load_plan, run_plan, shipped_plan
from bassinet.plans._results import InterimResult, PlanResult
from tests.design.test_interim import _R, RPACT, _r_design
from tests.survival.r_oracle import assert_close, run_r


@pytest.fixture(scope="module")
def result(records: ClinicalRecords) -> PlanResult:
    return run_plan(load_plan(shipped_plan("interfant06-interim")), records)


@functools.cache
def rpact_for(
    events: tuple[float, ...], u: tuple[float, ...], rates: tuple[float, ...], hr: float
) -> dict[str, np.ndarray]:
    later = [t * 150 for t in rates[len(events) :]]
    planned = np.diff([events[-1], *later]).tolist()
    code = _R + (
        f"out <- .case(0, {_r_design({'alpha': 0.05, 'sided': 2}, rates)}, "
        f"c({', '.join(map(repr, events))}), "
        f"c({', '.join(map(repr, u))}), 1, c({', '.join(map(repr, planned))}), {hr!r})"
    )
    return {k.split("_", 1)[1]: v for k, v in run_r(code, packages=RPACT).items()}


def test_the_interim_section_equals_rpact(result: PlanResult) -> None:
    it = result.interim
    assert isinstance(it, InterimResult) and not it.not_estimable
    assert (it.stage, it.k_max, it.max_events) == (2, 3, 150)
    seen = [k for k in it.looks if k.observed]
    events = tuple(k.events for k in seen)
    # rpact takes the experimental arm's (O - E) / sqrt(V); the report's z is its negative
    u = tuple(-(k.z or 0.0) for k in seen)
    rates = tuple(k.information for k in it.looks)
    r = rpact_for(events, u, rates, it.planned_hazard_ratio)
    assert_close([k.efficacy_z for k in it.looks], r["cv"], what="bounds at the observed information")
    assert_close([k.rci_lower for k in seen], r["low"], what="repeated CI, lower")
    assert_close([k.rci_upper for k in seen], r["high"], what="repeated CI, upper")
    assert_close([k.repeated_p for k in seen], r["p"], what="repeated p-values")
    assert_close([it.looks[2].conditional_power], r["cp"], what="conditional power, design's HR")
    # Two-sided design, one-directional power (rpact's twoSidedPower = FALSE): crossing the
    # lower bound (in favour of control) does not count as the hoped-for rejection.
    observed = it.looks[2].conditional_power_observed
    assert observed is not None
    assert_close([observed], r["cpobs"], what="conditional power, observed HR")
    # the other scales of the bounds: nominal two-sided P and Schoenfeld's hazard ratio
    for k in it.looks:
        assert k.efficacy_p == pytest.approx(2 * stats.norm.sf(k.efficacy_z), rel=1e-12)
        assert k.efficacy_hr == pytest.approx(math.exp(-2 * k.efficacy_z / math.sqrt(k.events)), rel=1e-12)
    assert it.decision == (
        "stop for efficacy" if seen[-1].z and seen[-1].z >= seen[-1].efficacy_z else "continue"
    )


def test_the_monitored_z_is_the_analysis_log_rank_test(result: PlanResult) -> None:
    # at the plan's cut-off the monitored z is the signed root of the dfs_arm log-rank chi-square
    it = result.interim
    assert it is not None
    now = it.looks[it.stage - 1]
    analysis = next(a for a in result.analyses if a.id == "dfs_arm")
    assert analysis.test is not None and now.z is not None
    assert now.z**2 == pytest.approx(analysis.test.statistic, rel=1e-9)
    assert now.events == sum(g.events for g in analysis.groups)
    # z > 0 favours ADE/MAE: the Schoenfeld hazard ratio is below 1 exactly when z is positive
    assert now.hazard_ratio is not None and (now.hazard_ratio < 1) == (now.z > 0)
