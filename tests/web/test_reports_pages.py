"""The report pages: run a shipped or uploaded plan, follow it, list, open and download.

The signed-in user is given to the pages through their ``page_actor`` dependency (the web
application's sessions provide it; here a test header names the user). Plan titles that
hold markup are escaped on every page, and a report's HTML is served with a policy that
runs no script.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from bassinet.access import Actor, load_actor
from bassinet.plans import shipped_plan
from bassinet.registry.models import ReportJob
from bassinet.web.reports_pages import page_actor, pages
from tests.web._api_world import ApiWorld

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
STATISTICIAN = "trial-statistician-study"


@pytest.fixture(scope="module")
def client(api_world: ApiWorld) -> Iterator[TestClient]:
    app = FastAPI()
    app.state.engine = api_world.world.engine
    app.state.reports_dir = api_world.reports_dir
    app.include_router(pages)

    def signed_in(request: Request) -> Actor:
        with Session(api_world.world.engine) as session:
            name = request.headers.get("x-test-user")
            if name is None:
                return page_actor(request)
            return load_actor(session, name)

    app.dependency_overrides[page_actor] = signed_in
    with TestClient(app) as local:
        yield local
    runner = getattr(app.state, "report_jobs", None)
    if runner is not None:
        runner.shutdown()


def _as(who: str) -> dict[str, str]:
    return {"x-test-user": who}


def _wait(client: TestClient, location: str) -> str:
    job_id = int(location.rstrip("/").rsplit("/", 1)[1])
    client.app.state.report_jobs.wait(job_id, timeout=300)  # type: ignore[attr-defined]
    return location


def test_running_a_shipped_plan_leads_to_its_page_and_its_files_open_and_download(
    api_world: ApiWorld, client: TestClient
) -> None:
    response = client.post(
        "/reports/run", data={"plan": "interfant06"}, headers=_as(STATISTICIAN), follow_redirects=False
    )
    assert response.status_code == 303
    page = client.get(_wait(client, response.headers["location"]), headers=_as(STATISTICIAN)).text
    assert 'id="status">done' in page and 'value="100"' in page
    assert 'http-equiv="refresh"' not in page
    hashes = re.findall(r"<code>([0-9a-f]{64})</code>", page)
    assert len(hashes) == 2
    html = re.search(r'href="([^"]*interfant06\.html)">open', page)
    assert html is not None
    opened = client.get(html.group(1), headers=_as(STATISTICIAN))
    assert opened.status_code == 200 and opened.headers["content-disposition"].startswith("inline")
    assert "script-src" not in opened.headers["content-security-policy"]
    assert "default-src 'none'" in opened.headers["content-security-policy"]
    pdf = re.search(r'href="([^"]*interfant06\.pdf)">open', page)  # the web writes the PDF too
    assert pdf is not None and 'id="no-pdf"' not in page
    opened_pdf = client.get(pdf.group(1), headers=_as(STATISTICIAN))
    assert opened_pdf.headers["content-type"] == "application/pdf" and opened_pdf.content.startswith(b"%PDF-")
    saved = client.get(html.group(1) + "?download=1", headers=_as(STATISTICIAN))
    assert saved.headers["content-disposition"].startswith("attachment")
    listing = client.get("/reports", headers=_as(STATISTICIAN)).text
    assert hashes[0][:12] in listing and hashes[1][:12] in listing


def test_an_uploaded_plan_runs_and_its_hostile_title_is_escaped_on_every_page(
    api_world: ApiWorld, client: TestClient
) -> None:
    text = shipped_plan("interfant06").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^title: .*$", "title: " + json.dumps(HOSTILE), text, count=1)
    response = client.post(
        "/reports/upload",
        files={"plan_file": ("my plan.yaml", text.encode(), "application/x-yaml")},
        headers=_as(STATISTICIAN),
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    location = _wait(client, response.headers["location"])
    for url in (location, "/reports"):
        page = client.get(url, headers=_as(STATISTICIAN)).text
        assert "<script>alert(1)" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in page


def test_a_queued_report_page_refreshes_itself_without_javascript(
    api_world: ApiWorld, client: TestClient
) -> None:
    with Session(api_world.world.engine) as session, session.begin():
        job = ReportJob(
            plan="interfant06",
            title=HOSTILE,
            actor=STATISTICIAN,
            created_at=dt.datetime.now(dt.UTC),
            status="running",
            progress=30,
            step="running the plan and writing the report",
            output_dir="/nowhere",
        )
        session.add(job)
        session.flush()
        job_id = job.id
    page = client.get(f"/reports/{job_id}", headers=_as(STATISTICIAN)).text
    assert '<meta http-equiv="refresh" content="2">' in page
    assert 'value="30"' in page and "running the plan" in page
    assert "<script" not in page


@pytest.mark.parametrize(
    ("who", "code"),
    [(None, 401), ("clinician-study", 403), ("administrator-study", 403), ("monitor-centre", 403)],
)
def test_only_those_who_may_run_reports_reach_the_pages(
    api_world: ApiWorld, client: TestClient, who: str | None, code: int
) -> None:
    headers = {} if who is None else _as(who)
    job = api_world.jobs["study"]
    for method, url in [
        ("GET", "/reports"),
        ("GET", f"/reports/{job}"),
        ("GET", f"/reports/{job}/files/results.json"),
        ("POST", "/reports/run"),
    ]:
        data = {"plan": "interfant06"} if method == "POST" else None
        assert (url, client.request(method, url, headers=headers, data=data).status_code) == (url, code)


def test_a_report_over_more_centres_than_the_users_is_not_found(
    api_world: ApiWorld, client: TestClient
) -> None:
    job = api_world.jobs["study"]
    for url in (f"/reports/{job}", f"/reports/{job}/files/results.json"):
        assert client.get(url, headers=_as("trial-statistician-study-group")).status_code == 404
    listing = client.get("/reports", headers=_as("trial-statistician-study-group")).text
    assert f'/reports/{job}"' not in listing
    assert f'/reports/{api_world.jobs["Rotterdam"]}"' in listing


def test_a_wrong_uploaded_plan_is_refused_with_its_line(api_world: ApiWorld, client: TestClient) -> None:
    response = client.post(
        "/reports/upload",
        files={"plan_file": ("bad.yaml", b"title: [unclosed\n", "application/x-yaml")},
        headers=_as(STATISTICIAN),
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("bad.yaml:")


def test_a_report_without_a_pdf_says_why_and_points_to_the_command_line(
    api_world: ApiWorld, client: TestClient
) -> None:
    runner = client.app.state.report_jobs  # type: ignore[attr-defined]

    def no_pdf(plan: Path, records: object, folder: Path, **options: object) -> SimpleNamespace:
        assert options["pdf"] is True
        (folder / "interfant06.html").write_text("<p>report</p>", encoding="utf-8")
        problem = "interfant06: no PDF: WeasyPrint could not load its libraries"
        return SimpleNamespace(paths=[folder / "interfant06.html"], result=None, pdf_problem=problem)

    runner.report = no_pdf
    try:
        response = client.post(
            "/reports/run", data={"plan": "interfant06"}, headers=_as(STATISTICIAN), follow_redirects=False
        )
        page = client.get(_wait(client, response.headers["location"]), headers=_as(STATISTICIAN)).text
    finally:
        runner.report = None
    assert 'id="status">done' in page
    assert (
        '<p id="no-pdf">PDF: none was written (interfant06: no PDF: WeasyPrint could not load its '
        "libraries); run <code>bassinet report</code> on the command line for one.</p>"
    ) in page


def test_an_invalid_uploaded_plan_is_refused_naming_each_field(
    api_world: ApiWorld, client: TestClient
) -> None:
    response = client.post(
        "/reports/upload",
        files={"plan_file": ("bad.yaml", b"title: hello\ncohort: interfant06\n", "application/x-yaml")},
        headers=_as(STATISTICIAN),
    )
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("the plan is not valid: bad.yaml:1: cutoff: Field required; ")
    assert detail.endswith("bad.yaml:2: cohort: Extra inputs are not permitted")


def test_the_pages_use_the_applications_templates_when_they_hold_them(
    api_world: ApiWorld, tmp_path: Path
) -> None:
    from fastapi.templating import Jinja2Templates
    from jinja2 import ChoiceLoader, Environment, FileSystemLoader

    from bassinet.web.reports_pages import TEMPLATES

    (tmp_path / "base.html").write_text(
        "<html><body><nav>APPLICATION NAV</nav>{% block content %}{% endblock %}</body></html>"
    )
    app = FastAPI()
    app.state.engine = api_world.world.engine
    app.include_router(pages)
    with Session(api_world.world.engine) as session:
        actor = load_actor(session, STATISTICIAN)
    app.dependency_overrides[page_actor] = lambda: actor
    own = TestClient(app).get("/reports").text
    assert "APPLICATION NAV" not in own and "<h1>Reports</h1>" in own
    loader = ChoiceLoader([FileSystemLoader(tmp_path), FileSystemLoader(TEMPLATES)])
    app.state.templates = Jinja2Templates(env=Environment(loader=loader, autoescape=True))
    shared = TestClient(app).get("/reports").text
    assert "APPLICATION NAV" in shared and "<h1>Reports</h1>" in shared
    app.state.templates = Jinja2Templates(env=Environment(loader=FileSystemLoader(tmp_path), autoescape=True))
    fallback = TestClient(app).get("/reports").text
    assert "APPLICATION NAV" not in fallback and "<h1>Reports</h1>" in fallback
