"""Pooled Kaplan–Meier, Aalen–Johansen, log-rank and Gray from site count tables equal the central analysis.

The central analysis is :func:`bassinet.plans.run_plan` on all the patient rows (the
report a study group would write with everyone's data). With the time unit at one day
and no merging, the count tables hold everything the statistics use, so the pooled
numbers must agree to rounding: relative 1e-10.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest

from bassinet.endpoints import ClinicalRecords
from bassinet.federate import FederatedPlan, PooledResult, analysis_rows, combine, summarise
from bassinet.federate._messages import dumps
from bassinet.plans import PlanResult
from bassinet.survival import (
    CumulativeIncidence,
    KaplanMeier,
    cumulative_incidence,
    gray_test,
    kaplan_meier,
    logrank,
)
from tests.federate.conftest import Sites, split_at_random, split_by_group, split_with_tiny_sites

RTOL = 1e-10
POOLED_IDS = {
    "efs_all", "os_all", "efs_region", "os_region", "efs_risk", "cir_arm", "nrm_arm", "dfs_arm", "trm",
    "efs_partner", "efs_protocol", "efs_protocol_original", "os_protocol_original",
}  # fmt: skip


def pooled(fplan: FederatedPlan, sites: Sites) -> PooledResult:
    """Each site summarised alone, sent as JSON text, and combined."""
    files = []
    for name, records in sites.items():
        message, _ = summarise(fplan, records, name)
        files.append((name, json.loads(dumps(message))))
    return combine(files)


@pytest.fixture(scope="module")
def by_group(day_plan: FederatedPlan, interfant: ClinicalRecords) -> PooledResult:
    return pooled(day_plan, split_by_group(interfant))


def assert_same_as_central(result: PooledResult, central: PlanResult) -> None:
    checked = set()
    for p, c in zip(result.analyses, central.analyses, strict=True):
        assert p.id == c.id
        if p.id not in POOLED_IDS:
            assert p.note, p.id
            continue
        checked.add(p.id)
        assert p.n == c.n, p.id
        assert [g.label for g in p.groups] == [g.label for g in c.groups], p.id
        for pg, cg in zip(p.groups, c.groups, strict=True):
            assert (pg.n, pg.events, pg.competing) == (cg.n, cg.events, cg.competing), (p.id, pg.label)
            for pe, ce in zip(pg.estimates, cg.estimates, strict=True):
                assert pe.n_risk == ce.n_risk
                np.testing.assert_allclose(
                    [pe.estimate, pe.std_err, pe.lower, pe.upper],
                    [ce.estimate, ce.std_err, ce.lower, ce.upper],
                    rtol=RTOL,
                    err_msg=f"{p.id} {pg.label}",
                )
        if c.test is None:
            assert p.test is None
        else:
            assert p.test is not None
            assert (p.test.name, p.test.df) == (c.test.name, c.test.df)
            np.testing.assert_allclose(
                [p.test.statistic, p.test.p_value],
                [c.test.statistic, c.test.p_value],
                rtol=RTOL,
                err_msg=p.id,
            )
    assert checked == POOLED_IDS


def test_pooled_from_the_study_groups_equals_the_central_report(
    by_group: PooledResult, central: PlanResult
) -> None:
    assert len(by_group.sites) == 18
    assert by_group.banner == "pooled from 18 sites, no patient rows"
    assert_same_as_central(by_group, central)


def test_pooled_from_a_random_split_equals_the_central_report(
    day_plan: FederatedPlan, interfant: ClinicalRecords, central: PlanResult
) -> None:
    assert_same_as_central(pooled(day_plan, split_at_random(interfant, 3, seed=5)), central)


def test_a_one_patient_site_and_a_site_without_events_change_nothing(
    day_plan: FederatedPlan, interfant: ClinicalRecords, central: PlanResult
) -> None:
    sites = split_with_tiny_sites(interfant)
    assert len(sites["one-patient"].patients) == 1
    quiet, _ = summarise(day_plan, sites["no-events"], "no-events")
    survival_tables = [e for e in quiet["analyses"] if e["id"] in ("os_all", "cir_arm", "trm")]
    assert all(sum(map(sum, g["events"])) == 0 for e in survival_tables for g in e.get("groups", []))
    assert_same_as_central(pooled(day_plan, sites), central)


def test_the_cox_and_transplant_analyses_are_named_as_not_pooled_here(by_group: PooledResult) -> None:
    notes = {a.id: a.note for a in by_group.analyses if a.note}
    assert notes["dfs_multivariable"] == (
        "Cox model: fitted over rounds with the sites (bassinet federate cox-start, cox-answer, "
        "cox-step; or cox over HTTP), shown at the end of this report when its result is given "
        "to combine with --cox"
    )
    assert (
        notes["sct_hr"]
        == notes["sct_landmark"]
        == (
            "transplant as a time-dependent exposure: pooled in the report (pooled_report, bassinet "
            "federate combine) from the tables of entries and exits, not in this summary"
        )
    )


def test_stratified_by_site_the_tests_equal_the_central_stratified_tests(
    make_plan: Callable[..., FederatedPlan], interfant: ClinicalRecords
) -> None:
    fplan = make_plan(stratify_by_site=True)
    sites = split_at_random(interfant, 3, seed=11)
    result = pooled(fplan, sites)
    for analysis_id, test in (("efs_risk", "logrank"), ("cir_arm", "gray")):
        rows = [(name, analysis_rows(fplan, r, analysis_id)) for name, r in sites.items()]
        time = np.concatenate([x.time for _, x in rows])
        status = np.concatenate([x.status for _, x in rows])
        label = np.concatenate([x.label for _, x in rows])
        site = np.concatenate([[name] * len(x.time) for name, x in rows])
        found = next(a for a in result.analyses if a.id == analysis_id).test
        assert found is not None and found.stratified_by_site
        if test == "logrank":
            expected = logrank(time, status, label, strata=site).chisq
        else:
            expected = gray_test(time, status, label, strata=site).statistic[0]
        np.testing.assert_allclose(found.statistic, expected, rtol=RTOL)
        unstratified = logrank(time, status, label).chisq if test == "logrank" else None
        if unstratified is not None:
            assert abs(found.statistic - unstratified) > 1e-6  # stratifying did change the test


@pytest.mark.parametrize("unit", ["week", "month"])
def test_with_coarser_time_the_pooled_analysis_is_that_of_the_coarsened_rows(
    make_plan: Callable[..., FederatedPlan], interfant: ClinicalRecords, unit: str
) -> None:
    fplan = make_plan(time_unit=unit)
    result = pooled(fplan, split_at_random(interfant, 4, seed=2))
    days = {"week": 7.0, "month": 30.4375}[unit]
    scale = fplan.loaded.plan.days_per_unit
    for analysis_id in ("os_region", "cir_arm"):
        rows = analysis_rows(fplan, interfant, analysis_id)  # times rounded up to the unit, all patients
        assert np.allclose(rows.time / days, np.round(rows.time / days))
        found = next(a for a in result.analyses if a.id == analysis_id)
        for g in found.groups:
            mask = rows.label == g.label
            t, s = rows.time[mask], rows.status[mask]
            if analysis_id == "os_region":
                km = kaplan_meier(t, s)
                assert isinstance(km, KaplanMeier)
                np.testing.assert_allclose(
                    g.estimates[0].estimate, 100 * km.at([6 * scale]).surv[0], rtol=RTOL
                )
                np.testing.assert_allclose(
                    g.estimates[0].std_err, 100 * km.at([6 * scale]).std_err[0], rtol=RTOL
                )
            else:
                ci = cumulative_incidence(t, s)
                assert isinstance(ci, CumulativeIncidence)
                np.testing.assert_allclose(
                    g.estimates[0].estimate, 100 * ci.at([6 * scale]).estimate[0, 0], rtol=RTOL
                )
        assert found.test is not None
        expected = (
            logrank(rows.time, rows.status, rows.label).chisq
            if analysis_id == "os_region"
            else gray_test(rows.time, rows.status, rows.label).statistic[0]
        )
        np.testing.assert_allclose(found.test.statistic, expected, rtol=RTOL)
