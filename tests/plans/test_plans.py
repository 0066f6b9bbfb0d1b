"""Analysis plans: validation that names the line, and results equal to the survival core's."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import numpy as np
import pytest

from bassinet.endpoints import ClinicalRecords, derive, get_endpoint
from bassinet.errors import ConfigurationError, DataError
from bassinet.plans import load_plan, run_plan, shipped_plan
from bassinet.plans._variables import analysis_frame
from bassinet.survival import cumulative_incidence, gray_test, kaplan_meier, logrank


def write_plan(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


GOOD = """
title: A plan
cutoff: 2018-12-31
variables: [arm, region]
analyses:
  - id: os
    title: Overall survival
    endpoint: OS
    times: [6]
"""


@pytest.mark.parametrize("name", ["interfant06", "interfant06-interim", "hsct-infants"])
def test_the_shipped_plans_are_valid(name: str) -> None:
    loaded = load_plan(shipped_plan(name))
    assert loaded.plan.analyses
    assert len(loaded.sha256) == 64


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("endpoint: OS", "endpoint: PFS"), r"plan.yaml:7: unknown endpoint 'PFS'; endpoints: OS, EFS"),
        (("    times: [6]", "    times: [6]\n    groups: donor"), r"plan.yaml:9: unknown variable 'donor'"),
        (
            ("    times: [6]", "    times: [6]\n    groups: risk_group"),
            r"plan.yaml:9: unknown variable 'risk_group' \(declare it under 'variables'\)",
        ),
        (
            ("    times: [6]", "    times: [6]\n    test: wilcoxon"),
            r"plan.yaml:9: analyses.0.test: Input should be 'logrank', 'gray'",
        ),
        (
            ("    times: [6]", "    times: [6]\n    groups: arm\n    test: gray"),
            r"plan.yaml:10: Gray's test compares cumulative incidences; OS has no competing",
        ),
        (("variables: [arm, region]", "variables: [arm, region, transplanted]\n"), None),
        (("cutoff: 2018-12-31\n", ""), r"cutoff: Field required"),
        (
            ("title: A plan", "title: A plan\ncolour: blue"),
            r"plan.yaml:2: colour: Extra inputs are not permitted",
        ),
        (
            ("variables: [arm, region]", "variables: [arm, regions]"),
            r"plan.yaml:3: unknown variable 'regions'; variables:",
        ),
    ],
)
def test_a_bad_plan_is_refused_naming_the_line(
    tmp_path: Path, edit: tuple[str, str], message: str | None
) -> None:
    text = GOOD.replace(*edit)
    if message is None:  # a valid edit: declaring a variable without using it is fine
        load_plan(write_plan(tmp_path, text))
        return
    with pytest.raises(ConfigurationError, match=message):
        load_plan(write_plan(tmp_path, text))


def test_every_problem_of_a_plan_is_listed_in_one_run(tmp_path: Path) -> None:
    text = GOOD.replace("title: A plan", "title: A plan\ncolour: blue").replace(
        "endpoint: OS", "endpoint: PFS"
    )
    text = text.replace("    times: [6]", "    times: [6]\n    test: wilcoxon")
    with pytest.raises(ConfigurationError) as refused:
        load_plan(write_plan(tmp_path, text))
    lines = str(refused.value).splitlines()[1:]
    assert len(lines) == 3
    assert lines[0].endswith("plan.yaml:2: colour: Extra inputs are not permitted")
    assert "plan.yaml:8: unknown endpoint 'PFS'" in lines[1]  # a name check, despite the shape errors
    assert "plan.yaml:10: analyses.0.test: Input should be 'logrank'" in lines[2]


def test_a_transplant_as_a_baseline_group_is_refused_as_immortal_time(tmp_path: Path) -> None:
    text = GOOD.replace("[arm, region]", "[transplanted]").replace(
        "    times: [6]", "    times: [6]\n    groups: transplanted"
    )
    with pytest.raises(
        ConfigurationError, match=r"plan.yaml:9: 'transplanted' is a time-dependent exposure.*immortal time"
    ):
        load_plan(write_plan(tmp_path, text))


def test_yaml_that_does_not_parse_is_refused_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"plan.yaml:4: not valid YAML"):
        load_plan(write_plan(tmp_path, "title: x\ncutoff: 2018-01-01\nanalyses: [\n  - id: a: b\n"))


def test_a_cutoff_before_the_first_diagnosis_is_refused(tmp_path: Path, records: ClinicalRecords) -> None:
    plan = load_plan(write_plan(tmp_path, GOOD.replace("2018-12-31", "1999-01-01")))
    with pytest.raises(DataError, match=r"cut-off 1999-01-01 is before the first diagnosis"):
        run_plan(plan, records)


def test_a_population_nobody_is_in_gives_a_report_that_says_so(
    tmp_path: Path, records: ClinicalRecords
) -> None:
    text = GOOD.replace("variables: [arm, region]", "variables: [arm, region]\npopulation: {region: nowhere}")
    result = run_plan(load_plan(write_plan(tmp_path, text)), records)
    assert result.n == 0
    assert result.warnings[0] == "no patient in the registry matches the plan's population (nowhere)"
    assert result.analyses[0].not_estimable == "no patient in the plan's population"


def test_an_analysis_nobody_is_in_is_not_estimable_naming_its_line(
    tmp_path: Path, records: ClinicalRecords
) -> None:
    text = GOOD.replace(
        "    times: [6]", "    times: [6]\n    population: {arm: IB, randomised: false}\n    groups: arm"
    )
    text = text.replace("[arm, region]", "[arm, region, randomised]")
    [analysis] = run_plan(load_plan(write_plan(tmp_path, text)), records).analyses
    assert analysis.not_estimable == "no patient in its population has a diagnosis date before the cut-off"
    assert analysis.line == 5


# The numbers in a report are the survival core's on the same frame --------------------------


def test_the_plan_results_equal_the_survival_core_on_the_same_frame(records: ClinicalRecords) -> None:
    loaded = load_plan(shipped_plan("interfant06"))
    result = {a.id: a for a in run_plan(loaded, records).analyses}
    variables = analysis_frame(records, loaded.plan.variables)
    in_trial = set(variables.index[variables["protocol"] == "Interfant-06"])
    cutoff = loaded.plan.cutoff

    efs = derive(records, ["EFS"], cutoff=cutoff)
    efs = efs[efs["study_id"].isin(in_trial)]
    km = kaplan_meier(efs["time_days"], efs["status"]).at([6 * 365.25])  # type: ignore[union-attr]
    [group] = result["efs_all"].groups
    assert group.estimates[0].estimate == pytest.approx(100 * km.surv[0], rel=1e-12)
    assert group.estimates[0].std_err == pytest.approx(100 * km.std_err[0], rel=1e-12)
    assert (group.n, group.events) == (len(efs), int(efs["status"].sum()))

    region = variables.loc[efs["study_id"], "region"].to_numpy()
    test = logrank(efs["time_days"], efs["status"], region)
    assert result["efs_region"].test is not None
    assert result["efs_region"].test.p_value == pytest.approx(test.p_value, rel=1e-12)

    cir = derive(records, [get_endpoint("CIR").from_origin("randomisation")], cutoff=cutoff)
    cir = cir[cir["study_id"].isin(in_trial)]
    arm = variables.loc[cir["study_id"], "arm"].to_numpy()
    ib = arm == "IB"
    fit = cumulative_incidence(cir["time_days"][ib], cir["status"][ib]).at([6 * 365.25])  # type: ignore[union-attr]
    ours = next(g for g in result["cir_arm"].groups if g.label == "IB")
    assert ours.estimates[0].estimate == pytest.approx(100 * fit.estimate[0, fit.causes.index(1)], rel=1e-12)
    gray = gray_test(cir["time_days"], cir["status"], arm)
    assert result["cir_arm"].test is not None
    assert result["cir_arm"].test.p_value == pytest.approx(gray.p_value[gray.causes.index(1)], rel=1e-12)


def test_the_multivariable_model_names_each_term(records: ClinicalRecords) -> None:
    result = {a.id: a for a in run_plan(load_plan(shipped_plan("interfant06")), records).analyses}
    terms = {t.term: t for t in result["dfs_multivariable"].model}
    assert set(terms) == {"kmt2a_r", "age_lt_6m", "wbc_ge_300", "poor_prednisone", "cd10=positive", "sex=M"}
    assert all(t.lower < t.hazard_ratio < t.upper for t in terms.values())
    assert terms["kmt2a_r"].hazard_ratio > 1  # KMT2A rearrangement predicts adverse DFS, as simulated


def test_sentences_follow_the_papers_manner(records: ClinicalRecords) -> None:
    result = {a.id: a for a in run_plan(load_plan(shipped_plan("hsct-infants")), records).analyses}
    sentence = result["aml_status"].sentence
    assert sentence.startswith("In AML, 3-year OS was ")  # the population named
    assert (
        " in CR1, " in sentence
        and " in CR2 or later and " in sentence
        and " without remission (P" in sentence
    )
    groups = result["aml_status"].groups
    first = groups[0]
    assert f"{first.estimates[0].estimate:.1f}% ({first.n - first.events}/{first.n}) in CR1" in sentence


def test_the_same_plan_on_the_same_data_gives_the_same_hashes(records: ClinicalRecords) -> None:
    a = run_plan(load_plan(shipped_plan("hsct-infants")), records)
    b = run_plan(load_plan(shipped_plan("hsct-infants")), records)
    assert (a.plan_sha256, a.data_sha256) == (b.plan_sha256, b.data_sha256)
    assert np.isfinite(a.follow_up["reverse_km_median"])


def test_flow_counts_add_up(records: ClinicalRecords) -> None:
    flow = run_plan(load_plan(shipped_plan("interfant06")), records).flow
    registered, eligible, randomised, *per_arm = flow
    assert [step.label for step in per_arm] == [
        "lost to follow-up: ADE/MAE", "analysed: ADE/MAE", "lost to follow-up: IB", "analysed: IB",
    ]  # fmt: skip
    assert per_arm[1].n + per_arm[3].n == randomised.n
    assert registered.n == sum(n for _, n in registered.excluded) + eligible.n
    assert eligible.n == randomised.n + dict(eligible.excluded)["not randomised"]
    assert randomised.n == sum(n for _, n in randomised.excluded)


def test_derivation_at_a_later_cutoff_never_shortens_follow_up(records: ClinicalRecords) -> None:
    early = derive(records, ["OS"], cutoff=dt.date(2015, 1, 1)).set_index("study_id")
    late = derive(records, ["OS"], cutoff=dt.date(2025, 5, 31)).set_index("study_id")
    shared = early.index
    assert (late.loc[shared, "time_days"] >= early["time_days"]).all()
