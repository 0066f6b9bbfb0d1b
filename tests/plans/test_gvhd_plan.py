"""The transplant plan's GVHD analyses: estimated on the simulated cohort, refused where GVHD is unknown."""

from __future__ import annotations

from bassinet.endpoints import ClinicalRecords, derive
from bassinet.plans import load_plan, run_plan, shipped_plan
from bassinet.survival import cumulative_incidence

GVHD_ANALYSES = {"grfs_all": "GRFS", "agvhd_2_4": "AGVHD24", "agvhd_3_4": "AGVHD34", "cgvhd_all": "CGVHD"}


def test_the_transplant_plan_estimates_grfs_and_the_gvhd_incidences(records: ClinicalRecords) -> None:
    plan = load_plan(shipped_plan("hsct-infants"))
    results = {a.id: a for a in run_plan(plan, records).analyses}
    for analysis, endpoint in GVHD_ANALYSES.items():
        result = results[analysis]
        assert result.not_estimable == "" and result.endpoint == endpoint, analysis
    assert results["agvhd_2_4"].competing and not results["grfs_all"].competing
    # the plan's half-year grade II-IV incidence is the estimator's on the derived rows
    derived = derive(records, ["AGVHD24"], cutoff=plan.plan.cutoff)
    hsct = derived[derived["study_id"].str.startswith("HSCT-")]
    at = cumulative_incidence(hsct["time_days"], hsct["status"]).at([0.5 * plan.plan.days_per_unit])
    estimate = results["agvhd_2_4"].groups[0].estimates[0].estimate
    assert abs(estimate - 100 * at.estimate[0, 0]) < 1e-9
    grade_3_4 = results["agvhd_3_4"].groups[0].estimates[0].estimate
    assert 0 < grade_3_4 < estimate


def test_three_transplants_without_gvhd_data_are_not_estimable_and_say_why(records: ClinicalRecords) -> None:
    three = records.subset(["HSCT-001", "HSCT-002", "HSCT-003"])
    gvhd = ["agvhd_grade", "agvhd_date", "cgvhd_severity", "cgvhd_date", "cgvhd_systemic_treatment"]
    historical = ClinicalRecords(
        three.patients, three.remissions, three.events, three.transplants.drop(columns=gvhd)
    )
    assert len(historical.transplants) == 3
    results = {a.id: a for a in run_plan(load_plan(shipped_plan("hsct-infants")), historical).analyses}
    for analysis in GVHD_ANALYSES:
        assert "with its GVHD status recorded" in results[analysis].not_estimable, analysis
    assert results["os_all"].not_estimable == ""
