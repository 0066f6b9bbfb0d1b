"""The `bassinet` command, run in-process."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bassinet.cli import app
from tests.registry.builders import patient, write_files

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", "BASSINET_USER": "cli-test"})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def url(tmp_path: Path) -> str:
    registry = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run("init", "--registry", registry)[0] == 0
    return registry


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["init"],
        ["import"],
        ["export"],
        ["audit"],
        ["patients"],
        ["patients", "list"],
        ["patients", "show"],
        ["demo"],
        ["stratify"],
        ["randomise"],
        ["unblind"],
        ["explain"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    code, output, _ = run(*command, "--help")
    assert code == 0
    assert "Usage:" in output


def test_init_creates_then_reports_up_to_date(tmp_path: Path) -> None:
    registry = f"sqlite:///{tmp_path / 'new.db'}"
    assert "created the registry" in run("init", "--registry", registry)[1]
    assert "is up to date" in run("init", "--registry", registry)[1]


def test_import_prints_what_it_did(url: str, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient("P1"), patient("P2")])
    code, output, _ = run("import", str(path), "--registry", url)
    assert code == 0
    assert "patients" in output and "2" in output


def test_a_refused_import_exits_1_with_the_problems_and_no_traceback(url: str, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient("P1", wbc="-2")])
    code, _, errors = run("import", str(path), "--registry", url)
    assert code == 1
    assert "column 'wbc' (-2) must be >= 0" in errors
    assert "Traceback" not in errors


def test_import_into_an_uninitialised_registry_says_to_run_init(tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient("P1")])
    code, _, errors = run("import", str(path), "--registry", f"sqlite:///{tmp_path / 'none.db'}")
    assert code == 3
    assert "run `bassinet init`" in errors


def test_import_with_quarantine_reports_the_file(url: str, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient("P1"), patient("P2", wbc="-2")])
    code, output, _ = run("import", str(path), "--registry", url, "--quarantine", str(tmp_path / "q.csv"))
    assert code == 0
    assert "q.csv" in output
    assert (tmp_path / "q.csv").exists()


def test_a_bad_mapping_file_names_the_place_of_the_mistake(url: str, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient("P1")])
    mapping = tmp_path / "m.yaml"
    mapping.write_text("sheets:\n  patients:\n    columns: {DOB: birthday}\n")
    code, _, errors = run("import", str(path), "--registry", url, "--mapping", str(mapping))
    assert code == 3
    assert "'DOB' maps to 'birthday', which is not a column of the patients sheet" in errors


def test_import_encoding_option_reads_a_latin1_file(url: str, tmp_path: Path) -> None:
    from tests.registry.builders import write_sheet

    path = write_sheet(tmp_path / "p.csv", [patient(centre="Hôpital Necker")], encoding="latin-1")
    assert run("import", str(path), "--registry", url)[0] == 1
    assert run("import", str(path), "--registry", url, "--encoding", "latin-1")[0] == 0
    assert "Hôpital Necker" in run("patients", "list", "--registry", url)[1]


def test_patients_list_and_show(url: str, tmp_path: Path) -> None:
    path, others = write_files(
        tmp_path,
        [patient("P1")],
        mrd=[
            {
                "study_id": "P1",
                "time_point": "end_of_induction",
                "measured_on": "2019-06-05",
                "method": "FCM",
                "value": "2e-4",
            }
        ],
    )
    run("import", str(path), "--mrd", str(others["mrd"]), "--registry", url)
    assert "P1" in run("patients", "list", "--registry", url)[1]
    code, output, _ = run("patients", "show", "P1", "--registry", url)
    assert code == 0
    assert "412.0" in output and "0.0002" in output and "Rotterdam" in output


def test_show_of_an_unknown_patient_exits_3(url: str) -> None:
    code, _, errors = run("patients", "show", "NOPE", "--registry", url)
    assert code == 3
    assert "no patient with study ID 'NOPE'" in errors


def test_audit_shows_a_patients_history(url: str, tmp_path: Path) -> None:
    run("import", str(write_files(tmp_path / "a", [patient("P1")])[0]), "--registry", url)
    run("import", str(write_files(tmp_path / "b", [patient("P1", wbc="7")])[0]), "--registry", url)
    code, output, _ = run("audit", "P1", "--registry", url)
    assert code == 0
    assert "update" in output and "412.0" in output and "7.0" in output and "cli-test" in output


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_writes_files(url: str, tmp_path: Path, fmt: str) -> None:
    run("import", str(write_files(tmp_path, [patient("P1")])[0]), "--registry", url)
    code, _, _ = run("export", "--registry", url, "--out", str(tmp_path / "x"), "--format", fmt)
    assert code == 0
    assert (tmp_path / "x" / f"patients.{fmt}").exists()


def test_export_refuses_an_unknown_format(url: str, tmp_path: Path) -> None:
    code, _, errors = run("export", "--registry", url, "--format", "xls")
    assert code == 2
    assert "is not one of csv, parquet, fhir, odm, dataset-json" in errors


def test_demo_simulates_both_cohorts_runs_both_plans_and_writes_both_reports(tmp_path: Path) -> None:
    code, output, _ = run("demo", "--out", str(tmp_path / "demo"))
    assert code == 0, output
    assert "1259 patients" in output  # 651 + 126 + 482 (Interfant-99, Interfant-06's historical control)
    assert "with Interfant-99 (HR for Interfant-99 vs" in " ".join(output.split())  # the protocols compared
    assert "6-year EFS was " in output and "3-year OS was " in output
    assert (tmp_path / "demo" / "registry.db").exists()
    for name in ("interfant06", "hsct-infants"):
        for suffix in (".html", ".json", ".pdf", "-adtte.xpt", "-adsl.xpt"):
            assert (tmp_path / "demo" / "reports" / f"{name}{suffix}").exists(), f"{name}{suffix}"
    # The Interfant-06 patients are stratified, so the web pages show and filter risk groups.
    assert "interfant06: stratified 651 patients (" in output
    from sqlalchemy.orm import Session

    from bassinet.application import local_operator
    from bassinet.application.queries import PatientFilter, list_patients
    from bassinet.application.reports import simulation_label
    from bassinet.registry import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'demo' / 'registry.db'}")
    try:
        with Session(engine) as session:
            everyone = list_patients(session, local_operator("t"), PatientFilter())
            assert set(everyone.risk_groups) >= {"HR", "MR"}, everyone.risk_groups
            high = list_patients(session, local_operator("t"), PatientFilter(risk_group="HR", page_size=500))
        assert 0 < high.total < 651 and {r.risk_group for r in high.rows} == {"HR"}
        assert all(r.study_id.startswith("I06-") for r in high.rows)
        # the registry knows it holds simulated cohorts: web reports are labelled like these
        assert simulation_label(engine) == "hsct-infants seed 41; interfant06 seed 33; interfant99 seed 10"
    finally:
        engine.dispose()


def test_simulate_writes_import_files_that_bassinet_import_accepts(tmp_path: Path, url: str) -> None:
    code, output, _ = run("simulate", "hsct-infants", "--seed", "5", "--out", str(tmp_path / "hsct"))
    assert code == 0, output
    assert "126 patients" in output
    folder = tmp_path / "hsct"
    args = ["import", str(folder / "patients.csv"), "--registry", url]
    for sheet in ("remissions", "mrd", "transplants", "events"):
        args += [f"--{sheet}", str(folder / f"{sheet}.csv")]
    code, output, errors = run(*args)
    assert code == 0, errors
    assert "rejected" in output


def test_simulate_into_the_registry_imports_through_the_same_validation(url: str) -> None:
    code, output, errors = run(
        "simulate", "interfant06", "--seed", "2", "--n", "60", "--into-registry", "--registry", url
    )
    assert code == 0, errors
    code, output, _ = run("patients", "list", "--registry", url)
    assert "60 patient(s)" in output


def test_simulate_calibrate_prints_every_figure_with_its_range() -> None:
    code, output, _ = run("simulate", "calibrate", "hsct-infants", "--replicates", "20")
    assert code == 0, output
    assert "3-year OS, AML in CR1" in output
    assert "22 of 22 published figures inside the simulated 95% range" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "interfant06", "--n", "0"], "--n is 0"),
        (["simulate", "interfant06", "--cutoff", "2016-06-30"], "--cutoff is 2016-06-30"),
        (
            ["simulate", "interfant06", "--cutoff", "June 2019"],
            "--cutoff is 'June 2019': give a date as YYYY-MM-DD",
        ),
        (["simulate", "calibrate", "interfant-99"], "cohort 'interfant-99' is not known"),
    ],
)
def test_simulate_refuses_bad_options_naming_them(args: list[str], message: str) -> None:
    code, _, errors = run(*args)
    assert code == 3
    assert message in errors


def test_simulate_an_unknown_cohort_is_a_usage_error() -> None:
    code, _, errors = run("simulate", "interfant-99")
    assert code == 2
    assert "interfant-99" in errors


def test_design_prints_the_events_and_patients_needed() -> None:
    code, output, errors = run(
        "design",
        "--control",
        "0.41",
        "--experimental",
        "0.57",
        "--at",
        "36",
        "--accrual",
        "60",
        "--follow-up",
        "36",
    )
    assert code == 0, errors
    assert "147.5 -> 148" in output  # rpact: eventsFixed 147.5356
    assert "208.3 -> 210" in output  # rpact: nFixed 208.3072, rounded up in each arm: 105 + 105


def test_design_checks_its_power_by_simulation_in_this_process() -> None:
    code, output, errors = run(
        "design", "--control", "0.41", "--experimental", "0.57", "--accrual", "60", "--patients", "320",
        "--simulate", "2000", "--workers", "0",
    )  # fmt: skip
    assert code == 0, errors
    assert "simulated: 2,000 trials of 320 patients (logrank, seed 1)" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--control", "1.4", "--experimental", "0.57", "--accrual", "60"], "--control is 1.4"),
        (
            ["--control", "0.41", "--experimental", "0.41", "--accrual", "60"],
            "the survival proportions are equal",
        ),
        (
            ["--control", "0.41", "--experimental", "0.57", "--accrual", "60", "--alpha", "1.5"],
            "alpha is 1.5",
        ),
        (["--control", "0.41", "--experimental", "0.57", "--accrual", "-6"], "accrual is -6"),
        (
            ["--control", "0.41", "--experimental", "0.57", "--accrual", "60", "--curve", "weibull"],
            "--curve is 'weibull'",
        ),
        (
            [
                "--curve",
                "piecewise",
                "--piecewise",
                "0:0.03,12:x",
                "--hazard-ratio",
                "0.6",
                "--accrual",
                "60",
            ],
            "--piecewise is",
        ),
    ],
)
def test_design_refuses_bad_input_naming_the_parameter(args: list[str], message: str) -> None:
    code, _, errors = run("design", *args)
    assert code in (1, 3)
    assert message in errors


def test_report_refuses_a_plan_with_an_unknown_endpoint_naming_the_line(tmp_path: Path, url: str) -> None:
    plan = tmp_path / "bad.yaml"
    plan.write_text("title: t\ncutoff: 2020-01-01\nanalyses:\n  - id: a\n    title: a\n    endpoint: PFS\n")
    code, _, errors = run("report", str(plan), "--registry", url, "--out", str(tmp_path / "out"))
    assert code == 3
    assert "bad.yaml:6: unknown endpoint 'PFS'" in errors


def test_endpoints_writes_the_derived_frame_and_adam_files(tmp_path: Path, url: str) -> None:
    assert run("simulate", "hsct-infants", "--seed", "3", "--into-registry", "--registry", url)[0] == 0
    code, output, errors = run(
        "endpoints", "--cutoff", "2025-05-31", "--registry", url, "--out", str(tmp_path / "e")
    )
    assert code == 0, errors
    assert "126 patients" in output
    assert {p.name for p in (tmp_path / "e").iterdir()} == {"endpoints.csv", "adsl.xpt", "adtte.xpt"}


def test_design_takes_the_control_curve_from_a_registrys_kaplan_meier(cohort_registry_url: str) -> None:
    code, output, errors = run(
        "design", "--curve", "registry", "--registry", cohort_registry_url, "--endpoint", "DFS",
        "--origin", "randomisation", "--where", "protocol=Interfant-06", "--where", "arm=IB",
        "--hazard-ratio", "0.63", "--accrual", "120", "--follow-up", "24", "--cutoff", "2018-12-31",
    )  # fmt: skip
    assert code == 0, errors
    assert "control curve: DFS in 166 patients" in output  # the IB arm of the seed-33 trial
    assert "piecewise exponential in" in output


def test_design_refuses_a_registry_curve_nobody_is_in(cohort_registry_url: str) -> None:
    code, _, errors = run(
        "design", "--curve", "registry", "--registry", cohort_registry_url, "--where", "arm=XX",
        "--hazard-ratio", "0.6", "--accrual", "60",
    )  # fmt: skip
    assert code == 1
    assert "no patient in" in errors and "matches --where arm=XX" in errors


def test_patients_list_never_cuts_the_study_id_on_a_narrow_terminal(url: str, tmp_path: Path) -> None:
    path = write_files(tmp_path, [patient("P2026-000001-LONG")])[0]
    assert run("import", str(path), "--registry", url)[0] == 0
    result = runner.invoke(
        app, ["patients", "list", "--registry", url], env={"COLUMNS": "80", "BASSINET_USER": "cli-test"}
    )
    assert result.exit_code == 0
    assert "P2026-000001-LONG" in result.stdout  # was 'P2026-0…' at 80 columns


def test_audit_names_the_centres_of_a_move(url: str, tmp_path: Path) -> None:
    run("import", str(write_files(tmp_path / "a", [patient("P1", centre="Rotterdam")])[0]), "--registry", url)
    path = write_files(tmp_path / "b", [patient("P1", centre="Rotterdam Sophia")])[0]
    assert run("import", str(path), "--reason", "renamed", "--registry", url)[0] == 0
    code, output, _ = run("audit", "P1", "--registry", url)
    assert code == 0
    line = next(line for line in output.splitlines() if "centre_id" in line and "update" in line)
    assert "Rotterdam (1)" in line and "Rotterdam Sophia (2)" in line and "renamed" in line
