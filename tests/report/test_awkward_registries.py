"""Every shipped plan writes a complete report on registries that look like a centre's first year.

The registries are built here from the simulated cohorts: nobody dead, no event at all,
one patient, one centre, AML only, 0.1 years of follow-up, and two collinear model
covariates. The tests read what a user reads: the "not estimable" line with its reason
and plan line, no "nan" anywhere, every other analysis still present.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from html import unescape
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from bassinet.application.reports import write_study_report
from bassinet.cli import app
from bassinet.endpoints import ClinicalRecords
from bassinet.plans import load_plan, shipped_plan

PLANS = ("interfant06", "hsct-infants")
DATE_COLUMNS = {
    "patients": ("date_of_birth", "diagnosis_date", "last_contact_date", "randomisation_date"),
    "remissions": ("assessment_date",),
    "events": ("event_date",),
    "transplants": ("transplant_date", "engraftment_date"),
}


def cohort(records: ClinicalRecords, plan: str) -> ClinicalRecords:
    p = records.patients
    keep = p["protocol"] == "Interfant-06" if plan == "interfant06" else p["study_group"] == "Lu Daopei"
    return records.subset(p.loc[keep, "study_id"])


def no_deaths(r: ClinicalRecords) -> ClinicalRecords:
    patients = r.patients.assign(vital_status="alive")
    return dataclasses.replace(r, patients=patients, events=r.events[r.events["event_type"] != "death"])


def no_events(r: ClinicalRecords) -> ClinicalRecords:
    return dataclasses.replace(
        r,
        patients=r.patients.assign(vital_status="alive"),
        events=r.events.iloc[0:0],
        remissions=r.remissions.assign(status="CR"),
    )


def one_patient(r: ClinicalRecords) -> ClinicalRecords:
    return r.subset([r.transplants["study_id"].iloc[0]])


def one_centre(r: ClinicalRecords) -> ClinicalRecords:
    return dataclasses.replace(r, patients=r.patients.assign(centre="Only Hospital"))


def young(r: ClinicalRecords, plan: str) -> ClinicalRecords:
    """Each patient's dates shifted so that the plan's origin falls 0.1 years before its cut-off."""
    cutoff = pd.Timestamp(load_plan(shipped_plan(plan)).plan.cutoff)
    anchor = r.patients.set_index("study_id")["diagnosis_date"]
    if plan == "hsct-infants":
        anchor = (
            r.transplants.groupby("study_id")["transplant_date"].min().reindex(anchor.index).fillna(anchor)
        )
    ids = list(anchor.index)
    target = pd.Series([cutoff - pd.Timedelta(days=36 - i % 30) for i in range(len(ids))], index=ids)
    shift = target - anchor
    tables = {}
    for name, columns in DATE_COLUMNS.items():
        frame = getattr(r, name).copy()
        delta = frame["study_id"].map(shift)
        for column in columns:
            if column in frame:
                frame[column] = pd.to_datetime(frame[column]) + delta
        tables[name] = frame
    return ClinicalRecords(**tables)


def collinear(r: ClinicalRecords) -> ClinicalRecords:
    """CD10 positive exactly when KMT2A is germline: the README's collinear example."""
    p = r.patients
    cd10 = (p["kmt2a_status"] == "germline").map({True: "positive", False: "negative"})
    return dataclasses.replace(r, patients=p.assign(cd10=cd10))


def aml_only(records: ClinicalRecords) -> ClinicalRecords:
    p = records.patients
    return records.subset(p.loc[p["leukemia_type"] == "AML", "study_id"])


REGISTRIES: dict[str, Callable[[ClinicalRecords, str], ClinicalRecords]] = {
    "no deaths": lambda r, plan: no_deaths(cohort(r, plan)),
    "no events": lambda r, plan: no_events(cohort(r, plan)),
    "one patient": lambda r, plan: one_patient(cohort(r, plan)),
    "one centre": lambda r, plan: one_centre(cohort(r, plan)),
    "AML only": lambda r, plan: aml_only(r),
    "0.1 years of follow-up": lambda r, plan: young(cohort(r, plan), plan),
    "collinear covariates": lambda r, plan: collinear(cohort(r, plan)),
}


def strict_json(text: str) -> dict[str, object]:
    def refuse(name: str) -> None:
        raise AssertionError(f"the JSON holds {name}")

    data = json.loads(text, parse_constant=refuse)
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def written(
    records: ClinicalRecords, tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], tuple[str, dict[str, object]]]:
    out = {}
    for plan in PLANS:
        for kind, build in REGISTRIES.items():
            folder = tmp_path_factory.mktemp("awkward")
            report = write_study_report(plan, build(records, plan), folder, pdf=False)
            html = unescape(next(p for p in report.paths if p.suffix == ".html").read_text(encoding="utf-8"))
            out[(plan, kind)] = (
                html,
                strict_json(next(p for p in report.paths if p.suffix == ".json").read_text()),
            )
            assert (folder / f"{plan}-adsl.xpt").is_file() and (folder / f"{plan}-adtte.xpt").is_file()
    return out


@pytest.mark.parametrize("kind", list(REGISTRIES))
@pytest.mark.parametrize("plan", PLANS)
def test_every_plan_writes_every_analysis_and_no_nan(
    written: dict[tuple[str, str], tuple[str, dict[str, object]]], plan: str, kind: str
) -> None:
    html, data = written[(plan, kind)]
    ids = [a.id for a in load_plan(shipped_plan(plan)).plan.analyses]
    analyses = data["analyses"]
    assert isinstance(analyses, list)
    assert [a["id"] for a in analyses] == ids
    for analysis_id in ids:
        assert f'id="{analysis_id}"' in html
    text = re.sub(r"<svg.*?</svg>", "", html, flags=re.S)
    assert not re.search(r"\bnan\b", text, flags=re.I), re.search(r".{60}\bnan\b.{60}", text, flags=re.I)
    assert "inf%" not in text and "None" not in re.sub(r"<[^>]+>", "", text)


def test_with_no_deaths_os_is_100_percent_and_the_report_is_complete(
    written: dict[tuple[str, str], tuple[str, dict[str, object]]],
) -> None:
    html, data = written[("interfant06", "no deaths")]
    os_all = next(a for a in data["analyses"] if a["id"] == "os_all")  # type: ignore[union-attr]
    assert os_all["groups"][0]["estimates"][0]["estimate"] == 100.0
    assert "6-year OS was 100.0%" in html


def test_with_no_events_the_tests_say_why_they_were_not_done(
    written: dict[tuple[str, str], tuple[str, dict[str, object]]],
) -> None:
    html, data = written[("interfant06", "no events")]
    assert "log-rank test not done: no event-free survival event in any group" in html
    assert "Gray's test not done: no cumulative incidence of relapse event in any group" in html
    model = next(a for a in data["analyses"] if a["id"] == "dfs_multivariable")  # type: ignore[union-attr]
    assert model["not_estimable"] == "event has no events: a Cox model needs at least one"
    assert re.search(
        r"Not estimable: event has no events.*\(analysis dfs_multivariable, plan line \d+\)", html
    )


def test_beyond_the_last_follow_up_no_estimate_is_printed(
    written: dict[tuple[str, str], tuple[str, dict[str, object]]],
) -> None:
    html, data = written[("interfant06", "0.1 years of follow-up")]
    assert "6-year EFS was not estimable (follow-up ends at 0.1 years)" in html
    efs = next(a for a in data["analyses"] if a["id"] == "efs_all")  # type: ignore[union-attr]
    estimate = efs["groups"][0]["estimates"][0]
    assert estimate["estimate"] is None and estimate["note"] == "not estimable: follow-up ends at 0.1 years"
    html_h, _ = written[("hsct-infants", "0.1 years of follow-up")]
    assert "3-year OS was not estimable (follow-up ends at 0.1 years)" in html_h
    assert "100.0% (" not in html and "100.0% (" not in html_h


def test_a_plan_with_nobody_in_its_population_says_so(
    written: dict[tuple[str, str], tuple[str, dict[str, object]]],
) -> None:
    html, data = written[("interfant06", "AML only")]
    assert data["n"] == 0
    assert "No patient in the registry is in this plan's population" in html
    assert all(a["not_estimable"] == "no patient in the plan's population" for a in data["analyses"])  # type: ignore[union-attr]
    html_h, data_h = written[("hsct-infants", "AML only")]
    all_status = next(a for a in data_h["analyses"] if a["id"] == "all_status")  # type: ignore[union-attr]
    assert all_status["not_estimable"].startswith("no patient in its population")
    assert "In AML, 3-year OS was" in html_h  # the AML analyses are all still there


def test_one_patient_gives_one_group_and_no_test(
    written: dict[tuple[str, str], tuple[str, dict[str, object]]],
) -> None:
    html, data = written[("hsct-infants", "one patient")]
    assert data["n"] == 1
    assert re.search(r"log-rank test not done: only one group \([^)]+\) has patients", html)
    assert "No figure:" in html


def test_a_collinear_model_is_not_estimable_and_the_rest_is_written(
    written: dict[tuple[str, str], tuple[str, dict[str, object]]],
) -> None:
    _, data = written[("interfant06", "collinear covariates")]
    model = next(a for a in data["analyses"] if a["id"] == "dfs_multivariable")  # type: ignore[union-attr]
    assert "collinear" in model["not_estimable"]
    line = load_plan(shipped_plan("interfant06")).line_of(("analyses", 10))
    assert model["line"] == line
    assert f"analysis dfs_multivariable (plan line {line}): not estimable: covariate" in " ".join(
        data["warnings"]
    )  # type: ignore[arg-type]
    # without Interfant-99 patients the protocol comparisons' Cox models have one protocol only
    others = [a for a in data["analyses"] if a["id"] != "dfs_multivariable"]  # type: ignore[union-attr]
    assert {a["id"] for a in others if a["not_estimable"]} == {
        "efs_protocol_adjusted", "efs_protocol_adjusted_original",
    }  # fmt: skip
    adjusted = next(a for a in others if a["id"] == "efs_protocol_adjusted")
    assert adjusted["not_estimable"] == "protocol has one value only (Interfant-06): nothing to compare"


def test_the_pdf_of_a_young_registry_has_page_numbers_and_the_reason(
    records: ClinicalRecords, tmp_path: Path
) -> None:
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext is not installed: apt-get install poppler-utils")
    report = write_study_report("interfant06", young(cohort(records, "interfant06"), "interfant06"), tmp_path,
                                simulation="seed 33")  # fmt: skip
    pdf = next(p for p in report.paths if p.suffix == ".pdf")
    text = subprocess.run([tool, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")[:-1]
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        assert "Simulated data, seed 33" in page  # every page's footer says so
    assert "follow-up ends at 0.1 years" in text


def test_the_command_exits_0_with_a_warning_count_and_1_when_strict(
    cohort_registry_url: str, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "title: T\ncutoff: 2018-12-31\nvariables: [protocol, leukemia_type]\n"
        "population: {protocol: Interfant-06}\n"
        "analyses:\n  - id: os\n    title: OS\n    endpoint: OS\n    times: [6]\n"
        "  - id: aml\n    title: AML\n    endpoint: OS\n"
        "    population: {leukemia_type: AML}\n    times: [6]\n"
    )
    runner = CliRunner()
    args = [
        "report",
        str(plan),
        "--out",
        str(tmp_path / "out"),
        "--no-pdf",
        "--registry",
        cohort_registry_url,
    ]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "analysis aml (plan line 10): not estimable: no patient in its population" in done.output
    assert "1 warning: see the report" in done.output
    strict = runner.invoke(app, [*args, "--strict"])
    assert strict.exit_code == 1
