"""The report's interim-analysis section: its numbers in the HTML and JSON, and a "not estimable"
line instead of a crash on registries too small to monitor."""

from __future__ import annotations

import dataclasses
import json
import re
from html import unescape
from pathlib import Path

import pytest

from bassinet.endpoints import ClinicalRecords
from bassinet.plans import PlanResult, load_plan, run_plan, shipped_plan
from bassinet.report import render_html, write_report
from bassinet.report._interim import interim_table


def interim_cohort(records: ClinicalRecords) -> ClinicalRecords:
    p = records.patients
    return records.subset(p.loc[p["protocol"] == "Interfant-06", "study_id"])


@pytest.fixture(scope="module")
def result(records: ClinicalRecords) -> PlanResult:
    return run_plan(load_plan(shipped_plan("interfant06-interim")), interim_cohort(records))


def test_the_report_has_the_interim_section_with_its_numbers(result: PlanResult, tmp_path: Path) -> None:
    it = result.interim
    assert it is not None and not it.not_estimable
    page = unescape(render_html(result, written="today"))
    section = page[page.index("<h2>Interim analysis</h2>") : page.index("<h2>Methods</h2>")]
    now = it.looks[1]
    assert now.z is not None and now.hazard_ratio is not None
    assert f"At the second of 3 planned analyses of DFS (data cut-off {now.cutoff}" in section
    assert f"{now.events:.0f} of 150 planned events" in section
    assert f"the log-rank z of {now.z:.2f}" in section
    assert f"hazard ratio ADE/MAE vs IB {now.hazard_ratio:.2f}" in section
    assert "Decision: continue." in section
    for k in it.looks:
        assert f"<td>{k.efficacy_z:.3f}</td>" in section
        assert f"<td>{k.efficacy_hr:.3f}</td>" in section
        assert f"<td>{k.information:.3f}</td>" in section
    assert f"<td>{now.rci_lower:.3f}\u2013{now.rci_upper:.3f}</td>" in section
    assert f"<td>{it.looks[2].conditional_power:.3f}</td>" in section
    assert "<th>2 of 3</th>" in section and "<th>3 of 3 (planned)</th>" in section
    assert "<td>150.0 planned</td>" in section  # the final analysis: cumulative events planned
    files = write_report(result, tmp_path, "interim", pdf=False)
    data = json.loads(files.json.read_text())
    assert data["interim"]["looks"][1]["z"] == pytest.approx(now.z, rel=1e-12)
    assert data["interim"]["looks"][2]["z"] is None
    assert data["interim"]["decision"] == "continue"


def test_the_table_rows_follow_the_result(result: PlanResult) -> None:
    it = result.interim
    assert it is not None
    table = interim_table(it)
    rows = dict(table.rows)
    assert rows["events observed / planned"] == ("49 of 150", "93 of 150", "150.0 planned")
    assert rows["observed z (favouring experimental)"][2] == "\u2013"
    assert "futility bound, z" not in rows  # a two-sided design without futility bounds


def test_values_are_escaped(result: PlanResult) -> None:
    it = result.interim
    assert it is not None
    hostile = dataclasses.replace(result, interim=dataclasses.replace(it, experimental="<b>ADE</b>"))
    page = render_html(hostile, written="today")
    assert "<b>ADE</b>" not in page
    assert "&lt;b&gt;ADE&lt;/b&gt; vs IB" in page


def no_events_in_ib(r: ClinicalRecords) -> ClinicalRecords:
    ib = set(r.patients.loc[r.patients["randomisation_arm"] == "IB", "study_id"])
    return dataclasses.replace(
        r,
        patients=r.patients.assign(
            vital_status=r.patients["vital_status"].where(~r.patients["study_id"].isin(ib), "alive")
        ),
        events=r.events[~r.events["study_id"].isin(ib)],
    )


def three_patients(r: ClinicalRecords) -> ClinicalRecords:
    randomised = r.patients.loc[r.patients["randomisation_arm"].notna(), "study_id"]
    return r.subset(list(randomised[:3]))


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (no_events_in_ib, "no DFS event in the IB arm by 2009-03-31"),
        (three_patients, "no new DFS event between the cut-offs 2009-03-31 and 2011-12-31"),
    ],
)
def test_an_awkward_registry_gives_a_not_estimable_line(
    records: ClinicalRecords, make: object, reason: str, tmp_path: Path
) -> None:
    data = make(interim_cohort(records))  # type: ignore[operator]
    result = run_plan(load_plan(shipped_plan("interfant06-interim")), data)
    assert result.interim is not None
    assert reason in result.interim.not_estimable
    assert any(w.startswith("interim analysis (plan line 10): not estimable") for w in result.warnings)
    files = write_report(result, tmp_path, "awkward", pdf=False)
    page = unescape(files.html.read_text())
    assert (
        f"Interim analysis of dfs_arm: not estimable: {result.interim.not_estimable} (plan line 10)." in page
    )
    assert not re.search(r"\bnan\b", page, flags=re.I)
    json.loads(files.json.read_text())
