"""The report pages inside the signed-in application: session, navigation and CSRF as every page.

The report pages (:mod:`bassinet.web.reports_pages`) ask for an actor; in the application it
is the signed-in user, and their forms are refused without the session's CSRF token.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.web.conftest import Site, csrf_of, sign_in


@pytest.fixture(autouse=True)
def _reports_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASSINET_REPORTS_DIR", str(tmp_path / "reports"))


def test_reports_need_a_signed_in_user(site: Site) -> None:
    client = site.client()
    response = client.get("/reports", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/reports"


def test_a_statistician_runs_a_report_from_the_page_with_the_sessions_token(site: Site) -> None:
    client = site.client()
    sign_in(site, client, "stat")
    page = client.get("/reports")
    assert page.status_code == 200
    assert '<a href="/reports" aria-current="page">Reports</a>' in page.text  # in the navigation
    token = csrf_of(page.text)

    refused = client.post("/reports/run", data={"plan": "interfant06"}, follow_redirects=False)
    assert refused.status_code == 403
    assert "security token" in refused.text
    forged = client.post(
        "/reports/run", data={"plan": "interfant06", "csrf_token": "x" * 43}, follow_redirects=False
    )
    assert forged.status_code == 403
    assert "#1" not in client.get("/reports").text  # no job was made by either

    started = client.post(
        "/reports/run", data={"plan": "interfant06", "csrf_token": token}, follow_redirects=False
    )
    assert started.status_code == 303
    job_page = started.headers["location"]
    assert job_page.endswith("/reports/1")
    for _ in range(240):
        text = client.get(job_page).text
        if "done" in text or "failed" in text:
            break
        time.sleep(0.5)
    assert "failed" not in text
    assert "interfant06" in text
    assert "Sign out" in text  # the application's own header around the report page


def test_a_clinician_without_reports_sees_no_reports_link(site: Site) -> None:
    client = site.client()
    sign_in(site, client, "cli_rot")
    home = client.get("/")
    assert 'href="/reports"' not in home.text
    assert client.get("/reports").status_code == 403
