"""What the report jobs tell a user is plain English naming the thing: no action codes, no Python.

Each message of :mod:`bassinet.web.jobs` and :mod:`bassinet.web.reports_pages` that a user can
read (on a page or from the API) is checked here word for word. A report that fails on
something unexpected says in which step, and the server's log keeps the Python details.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bassinet.access import POLICY, Actor, Permission, add_user
from bassinet.errors import DataError
from bassinet.registry.models import Role, ScopeKind, User
from bassinet.web import jobs
from bassinet.web.reports_pages import page_actor, pages
from tests.access.conftest import PASSWORD, World, world

__all__ = ["world"]  # the fixture, for this module's tests

STATISTICIAN = Actor(
    user_id=1,
    username="stat",
    permissions=(
        Permission(Role.TRIAL_STATISTICIAN, ScopeKind.STUDY, "study", None, POLICY[Role.TRIAL_STATISTICIAN]),
    ),
)
#: a role with no right to run reports anywhere
CLINICIAN = Actor(
    user_id=2,
    username="cli",
    permissions=(Permission(Role.CLINICIAN, ScopeKind.STUDY, "study", None, POLICY[Role.CLINICIAN]),),
)
ONE_OF_TWO = "Choose a shipped plan or upload a plan file: one of the two, not both."
TOO_LARGE = "The uploaded plan is too large: a plan file may be at most "
PYTHON_WORDS = ("Error", "Exception", "Traceback", "run_report", "None", "'")


@pytest.fixture
def runner(world: World, tmp_path: Path) -> Iterator[jobs.JobRunner]:
    made = jobs.JobRunner(world.engine, tmp_path)
    yield made
    made.shutdown()


@pytest.mark.parametrize(
    ("who", "plan", "text", "message"),
    [
        (STATISTICIAN, None, None, ONE_OF_TWO),
        (STATISTICIAN, "interfant06", "x: 1", ONE_OF_TWO),
        (STATISTICIAN, "interfant88", None, 'There is no shipped plan called "interfant88": choose one of '),
        (STATISTICIAN, None, "#" * (jobs.MAX_PLAN_BYTES + 1), TOO_LARGE),
        (CLINICIAN, "interfant06", None, "Your role does not allow running reports (cli)."),
    ],
)  # fmt: skip
def test_a_refused_report_says_why_in_words(
    runner: jobs.JobRunner, who: Actor, plan: str | None, text: str | None, message: str
) -> None:
    with pytest.raises(DataError) as caught:
        runner.start(who, plan=plan, plan_text=text)
    said = str(caught.value)
    assert said.startswith(message)
    assert not [w for w in PYTHON_WORDS if w in said.replace("(cli)", "")]


def test_an_unknown_report_or_file_is_named_in_words(runner: jobs.JobRunner, world: World) -> None:
    with pytest.raises(DataError) as unknown:
        jobs.get_job(world.engine, STATISTICIAN, 999)
    assert str(unknown.value) == "There is no report number 999 among the reports you may see."
    with pytest.raises(DataError) as no_file:
        jobs.job_file(world.engine, STATISTICIAN, 999, "x.html")
    assert str(no_file.value) == "There is no report number 999 among the reports you may see."


def test_a_report_that_fails_unexpectedly_names_the_step_and_logs_the_python_details(
    runner: jobs.JobRunner, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(plan: Path, records: object, folder: Path, **options: object) -> object:
        raise KeyError("arm")

    with Session(world.engine) as session, session.begin():
        add_user(session, "stat", PASSWORD, actor="test")
        user_id = session.scalars(select(User.id).where(User.username == "stat")).one()
    statistician = dataclasses.replace(STATISTICIAN, user_id=user_id)  # the job belongs to a real user
    runner.report = broken
    with caplog.at_level(logging.ERROR, logger="bassinet.web.jobs"):
        job = runner.start(statistician, plan="interfant06")
        runner.wait(job.id, timeout=120)
    failed = jobs.get_job(world.engine, statistician, job.id)
    assert failed.status == "failed"
    assert failed.error == (
        "Something unexpected went wrong while running the plan and writing the report, so the report "
        "was not made. The server's log has the details for the administrator."
    )
    assert f"report {job.id} failed while running the plan and writing the report" in caplog.text
    assert "KeyError: 'arm'" in caplog.text  # the traceback is in the log, not on the page
    with pytest.raises(DataError) as no_file:
        jobs.job_file(world.engine, statistician, job.id, "../secret.txt")
    assert str(no_file.value) == f'Report {job.id} has no file called "../secret.txt".'


@pytest.fixture
def client(world: World, tmp_path: Path) -> Iterator[TestClient]:
    app = FastAPI()
    app.state.engine = world.engine
    app.state.reports_dir = tmp_path
    app.include_router(pages)
    app.dependency_overrides[page_actor] = lambda: STATISTICIAN
    with TestClient(app) as local:
        yield local
    running = getattr(app.state, "report_jobs", None)
    if running is not None:
        running.shutdown()


def test_an_upload_too_large_or_not_text_is_refused_in_words(client: TestClient) -> None:
    big = client.post("/reports/upload", files={"plan_file": ("p.yaml", b"#" * (jobs.MAX_PLAN_BYTES + 1))})
    assert big.status_code == 400
    assert big.json()["detail"] == (
        f"The uploaded plan is too large: a plan file may be at most {jobs.MAX_PLAN_BYTES // 1024} kB."
    )
    latin = client.post("/reports/upload", files={"plan_file": ("p.yaml", "title: Zürich".encode("latin-1"))})
    assert latin.status_code == 400
    assert latin.json()["detail"] == (
        "The uploaded plan is not UTF-8 text: save the file as UTF-8 and upload it again."
    )
    assert client.get("/reports/999").json()["detail"] == (
        "There is no report number 999 among the reports you may see."
    )


def test_signing_in_is_asked_for_in_words(world: World) -> None:
    app = FastAPI()
    app.state.engine = world.engine
    app.include_router(pages)
    with TestClient(app) as local:
        response = local.get("/reports")
    assert response.status_code == 401
    assert response.json()["detail"] == "Sign in to see the reports."
