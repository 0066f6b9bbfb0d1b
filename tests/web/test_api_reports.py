"""Reports through the API: started as background jobs, polled, listed with their hashes, downloaded.

The report runs on the patients of the centres where its starter may run reports: the
data hash of a Rotterdam statistician's report is the hash of Rotterdam's records, not the
registry's. An uploaded plan whose title holds markup is escaped in the report's HTML.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bassinet.endpoints import ClinicalRecords
from bassinet.plans import shipped_plan
from bassinet.plans._run import data_fingerprint
from bassinet.registry import read_frames
from bassinet.registry.models import Patient, ReportJob
from bassinet.web import jobs
from tests.web._api_world import ApiWorld, make_app

HEX64 = re.compile(r"[0-9a-f]{64}")
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


@pytest.fixture(scope="module")
def client(api_world: ApiWorld) -> Iterator[TestClient]:
    app = make_app(api_world)
    with TestClient(app) as local:
        yield local
    runner = getattr(app.state, "report_jobs", None)
    if runner is not None:
        runner.shutdown()


def _headers(world: ApiWorld, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[who]}"}


def _run(client: TestClient, world: ApiWorld, who: str, body: dict[str, str]) -> dict[str, object]:
    started = client.post("/api/v1/reports", json=body, headers=_headers(world, who))
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["status"] in ("queued", "running", "done")
    client.app.state.report_jobs.wait(job["id"], timeout=300)  # type: ignore[attr-defined]
    done = client.get(f"/api/v1/reports/{job['id']}", headers=_headers(world, who)).json()
    assert isinstance(done, dict)
    return done


def _fingerprint(world: ApiWorld, centres: set[str] | None) -> str:
    records = ClinicalRecords.from_frames(read_frames(world.world.engine))
    if centres is not None:
        ids = {world.world.centre_ids[c] for c in centres}
        with Session(world.world.engine) as session:
            records = records.subset(
                session.scalars(select(Patient.study_id).where(Patient.centre_id.in_(ids)))
            )
    return data_fingerprint(records)


def test_a_shipped_plan_runs_as_a_job_over_the_whole_study_and_its_files_download(
    api_world: ApiWorld, client: TestClient
) -> None:
    done = _run(client, api_world, "trial-statistician-study", {"plan": "interfant06"})
    assert (done["status"], done["progress"], done["error"]) == ("done", 100, None)
    assert done["data_sha256"] == _fingerprint(api_world, None)
    assert HEX64.fullmatch(str(done["plan_sha256"]))
    files = done["files"]
    assert isinstance(files, list) and "interfant06.html" in files and "interfant06.json" in files
    html = client.get(
        f"/api/v1/reports/{done['id']}/files/interfant06.html",
        headers=_headers(api_world, "trial-statistician-study"),
    )
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "Simulated data" not in html.text  # this registry's patients were not imported as simulated
    assert "attachment" in html.headers["content-disposition"]
    listed = client.get("/api/v1/reports", headers=_headers(api_world, "trial-statistician-study")).json()
    assert [(j["id"], j["plan_sha256"], j["data_sha256"]) for j in listed if j["id"] == done["id"]] == [
        (done["id"], done["plan_sha256"], done["data_sha256"])
    ]


def test_a_centre_statisticians_report_uses_only_that_centres_patients_and_others_cannot_see_it(
    api_world: ApiWorld, client: TestClient
) -> None:
    done = _run(client, api_world, "trial-statistician-centre", {"plan": "interfant06"})
    assert done["status"] == "done"
    assert done["data_sha256"] == _fingerprint(api_world, {"Rotterdam"})
    assert done["data_sha256"] != _fingerprint(api_world, None)
    monza = client.get(f"/api/v1/reports/{done['id']}", headers=_headers(api_world, "statistician-monza"))
    assert monza.status_code == 404
    with Session(api_world.world.engine) as session:
        job = session.get(ReportJob, done["id"])
        assert job is not None and job.centre_ids == [api_world.world.centre_ids["Rotterdam"]]
        assert job.actor == "trial-statistician-centre"
        assert job.runner == f"{socket.gethostname()}:{os.getpid()}"


def test_an_uploaded_plan_runs_and_its_hostile_title_is_escaped_in_the_report(
    api_world: ApiWorld, client: TestClient
) -> None:
    text = shipped_plan("interfant06").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^title: .*$", "title: " + json.dumps(HOSTILE), text, count=1)
    done = _run(client, api_world, "trial-statistician-study", {"plan_yaml": text})
    assert done["status"] == "done", done["error"]
    assert done["title"] == HOSTILE
    html = client.get(
        f"/api/v1/reports/{done['id']}/files/uploaded-plan.html",
        headers=_headers(api_world, "trial-statistician-study"),
    ).text
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"plan": "no-such-plan"}, 'There is no shipped plan called "no-such-plan": choose one of'),
        ({"plan_yaml": "title: [unclosed"}, "uploaded-plan.yaml"),
        ({"plan_yaml": "just text"}, "a plan is a YAML mapping"),
        (  # every problem on the one line shown, with its field, message and line
            {"plan_yaml": "title: hello\ncohort: interfant06\n"},
            "the plan is not valid: uploaded-plan.yaml:1: cutoff: Field required; "
            "uploaded-plan.yaml:1: analyses: Field required; "
            "uploaded-plan.yaml:2: cohort: Extra inputs are not permitted",
        ),
        ({}, "Choose a shipped plan or upload a plan file: one of the two, not both."),
        ({"plan": "interfant06", "plan_yaml": "x: 1"}, "not both"),
    ],
)
def test_a_wrong_plan_is_refused_with_a_reason_and_no_job_is_made(
    api_world: ApiWorld, client: TestClient, body: dict[str, str], message: str
) -> None:
    with Session(api_world.world.engine) as session:
        before = session.query(ReportJob).count()
    response = client.post(
        "/api/v1/reports", json=body, headers=_headers(api_world, "trial-statistician-study")
    )
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert str(api_world.reports_dir) not in response.json()["detail"]
    with Session(api_world.world.engine) as session:
        assert session.query(ReportJob).count() == before
    assert list(api_world.reports_dir.glob("incoming-*")) == []


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_job_left_by_a_stopped_server_process_is_marked_failed_and_live_ones_are_not(
    api_world: ApiWorld,
) -> None:
    host = socket.gethostname()
    runners = {
        "stopped": f"{host}:{_dead_pid()}",
        "live worker": f"{host}:{os.getppid()}",
        "other host": f"elsewhere.example.org:{_dead_pid()}",
    }
    ids = {}
    with Session(api_world.world.engine) as session, session.begin():
        for what, runner in runners.items():
            job = ReportJob(
                plan="interfant06",
                actor="x",
                created_at=jobs._now(),
                status="running",
                progress=30,
                output_dir="/nowhere",
                runner=runner,
            )
            session.add(job)
            session.flush()
            ids[what] = job.id
    runner = jobs.JobRunner(api_world.world.engine, api_world.reports_dir)
    runner.shutdown()
    with Session(api_world.world.engine) as session:
        found = {what: session.get(ReportJob, job_id) for what, job_id in ids.items()}
        states = {what: (job.status, job.error) for what, job in found.items() if job is not None}
    assert states == {
        "stopped": ("failed", "interrupted: the server stopped"),
        "live worker": ("running", None),
        "other host": ("running", None),
    }
