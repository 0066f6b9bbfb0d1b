"""A report of simulated cohorts says so, from the web as from the command line.

`bassinet demo` and `bassinet simulate --into-registry` import with the audited reason
"simulated cohort: <cohort> seed <seed>"; the report job derives its label from that
trail, so a registry only some of whose patients are simulated is not labelled.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from bassinet.access import add_user
from bassinet.application import local_operator
from bassinet.application.records import import_records
from bassinet.application.reports import simulation_label
from bassinet.cli import app
from bassinet.registry import init_registry, make_engine
from bassinet.registry.models import User
from bassinet.simulate import simulate_interfant06, write_csv
from bassinet.web.jobs import JobRunner


def _simulate_into(url: str, cohort: str, seed: int) -> None:
    result = CliRunner().invoke(
        app, ["simulate", cohort, "--seed", str(seed), "--into-registry", "--registry", url]
    )
    assert result.exit_code == 0, result.stdout + result.stderr


def test_a_web_report_of_a_simulated_registry_is_labelled_with_its_cohort_and_seed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    init_registry(url)
    _simulate_into(url, "hsct-infants", 5)
    engine = make_engine(url)
    try:
        assert simulation_label(engine) == "hsct-infants seed 5"
        with Session(engine) as session, session.begin():
            add_user(session, "statistician", "a-long-test-password", actor="test")
            user_id = session.scalars(select(User.id).where(User.username == "statistician")).one()
        statistician = dataclasses.replace(local_operator("statistician"), user_id=user_id)
        runner = JobRunner(engine, tmp_path / "reports")
        try:
            job = runner.start(statistician, plan="hsct-infants")
            runner.wait(job.id, timeout=600)
        finally:
            runner.shutdown()
        html = (tmp_path / "reports" / f"job-{job.id}" / "hsct-infants.html").read_text(encoding="utf-8")
        assert "<h1>Simulated data: " in html
        assert "SIMULATED DATA (hsct-infants seed 5)" in html
    finally:
        engine.dispose()


def test_a_registry_with_patients_not_from_the_simulator_is_not_labelled(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mixed.db'}"
    init_registry(url)
    engine = make_engine(url)
    try:
        assert simulation_label(engine) == ""  # no patients: nothing to label
        _simulate_into(url, "hsct-infants", 5)
        simulated = simulation_label(engine)
        # simulated rows imported as ordinary files (no simulated-cohort reason)
        paths = write_csv(simulate_interfant06(seed=6, n=20), tmp_path / "plain")
        patients = paths.pop("patients")
        import_records(local_operator("web-test"), engine, patients, long_sheets=paths)
        assert (simulated, simulation_label(engine)) == ("hsct-infants seed 5", "")
        hsct = [f"HSCT-{i:03d}" for i in range(1, 11)]
        assert simulation_label(engine, hsct) == "hsct-infants seed 5"  # a job over those patients only
        assert simulation_label(engine, [*hsct, "I06-0001"]) == ""
    finally:
        engine.dispose()


def test_a_cohort_simulated_again_into_the_same_registry_is_not_moved_by_the_simulated_reason(
    tmp_path: Path,
) -> None:
    # HSCT study IDs do not depend on the seed: seed 6 brings the same patients, some at other
    # centres. A reason would let the import move them; the second import is a plain one,
    # refused as any unexplained move is, and the registry stays labelled with seed 5.
    url = f"sqlite:///{tmp_path / 'again.db'}"
    init_registry(url)
    _simulate_into(url, "hsct-infants", 5)
    again = CliRunner().invoke(
        app, ["simulate", "hsct-infants", "--seed", "6", "--into-registry", "--registry", url]
    )
    assert again.exit_code == 1
    assert "give --reason to move it" in again.stdout + again.stderr
    engine = make_engine(url)
    try:
        assert simulation_label(engine) == "hsct-infants seed 5"
    finally:
        engine.dispose()
