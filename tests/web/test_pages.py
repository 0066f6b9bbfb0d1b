"""The pages: each user sees only their scope, out-of-scope patients are not found, data are escaped."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bassinet.access import read_security_log
from bassinet.access.security_log import SecurityEvent
from bassinet.registry import models as m
from bassinet.web.security import CSP
from tests.access.conftest import PASSWORD
from tests.web.conftest import IMG, SCRIPT, Site, csrf_of, sign_in

PAGES = ("/", "/patients", "/account", "/audit", "/admin")


def test_every_response_carries_the_security_headers(site: Site) -> None:
    client = site.client()
    responses = [
        client.get("/login"),
        client.get("/static/style.css"),
        client.get("/no/such/page"),
        client.get("/patients", follow_redirects=False),
    ]
    sign_in(site, client, "dm_rot")
    responses += [
        client.get(p) for p in ("/", "/patients", f"/patients/{site.patient_ids['ROT-1']}", "/audit")
    ]
    for response in responses:
        headers = response.headers
        assert headers["content-security-policy"] == CSP
        assert (
            "frame-ancestors 'none'" in CSP
            and "default-src 'self'" in CSP
            and "unsafe-inline'" not in CSP.split("style-src")[0]
        )
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["x-frame-options"] == "DENY"


def test_no_page_has_inline_script_or_third_party_files(site: Site) -> None:
    client = site.client()
    sign_in(site, client, "stat")
    for path in ("/", "/patients", f"/patients/{site.patient_ids['ROT-1']}", "/account"):
        html = client.get(path).text
        assert "<script" not in html.replace("&lt;script", "")
        assert not re.search(r'(src|href)="(https?:)?//', html)


def test_a_centre_user_sees_only_the_centre(site: Site) -> None:
    client = site.client()
    sign_in(site, client, "cli_rot")
    listing = client.get("/patients").text
    assert "ROT-1" in listing and "ROT-2" in listing
    assert "UTR-1" not in listing and "MON-1" not in listing and "Utrecht" not in listing
    dashboard = client.get("/").text
    assert "Utrecht" not in dashboard and "Monza" not in dashboard
    assert "4 patients in 1 centre" in dashboard  # ROT-1, ROT-2, the <script> one and =HYPERLINK(1)


def test_a_statistician_sees_every_centre(site: Site) -> None:
    client = site.client()
    sign_in(site, client, "stat")
    listing = client.get("/patients").text
    for study_id in ("ROT-1", "UTR-2", "MON-1"):
        assert study_id in listing
    assert "9 patients" in listing


def test_another_centres_patient_is_not_found_exactly_like_a_missing_one(site: Site) -> None:
    client = site.client()
    sign_in(site, client, "dm_rot")
    own = client.get(f"/patients/{site.patient_ids['ROT-1']}")
    assert own.status_code == 200 and "ROT-1" in own.text
    other_id = site.patient_ids["UTR-1"]
    missing_id = max(site.patient_ids.values()) + 1000
    other = client.get(f"/patients/{other_id}")
    missing = client.get(f"/patients/{missing_id}")
    assert other.status_code == missing.status_code == 404
    assert "UTR-1" not in other.text and "Utrecht" not in other.text
    token = csrf_of(other.text)  # the error page keeps the sign-out form and its token
    assert other.text.replace(token, "T").replace(str(other_id), "N") == missing.text.replace(
        token, "T"
    ).replace(str(missing_id), "N")
    assert client.get("/patients/not-a-number").status_code == 404


def test_the_audit_browser_is_for_roles_that_may_view_the_audit(site: Site) -> None:
    clinician = site.client()
    sign_in(site, clinician, "cli_rot")
    assert clinician.get("/audit").status_code == 403
    assert 'href="/audit"' not in clinician.get("/patients").text
    monitor = site.client()
    sign_in(site, monitor, "mon_rot")
    page = monitor.get("/audit")
    assert page.status_code == 200 and "ROT-1" in page.text and "UTR-1" not in page.text
    narrowed = monitor.get("/audit", params={"patient": "ROT-2"}).text
    assert "ROT-2" in narrowed and "ROT-1<" not in narrowed
    assert "test setup" in monitor.get("/audit", params={"user": "test setup"}).text
    assert "No entry matches" in monitor.get("/audit", params={"user": "nobody"}).text
    assert "not a date" in monitor.get("/audit", params={"since": "yesterday"}).text
    patient_page = monitor.get(f"/patients/{site.patient_ids['ROT-1']}").text
    assert "Audit history" in patient_page
    assert "Audit history" not in clinician.get(f"/patients/{site.patient_ids['ROT-1']}").text


def test_administration_is_for_administrators_only(site: Site) -> None:
    for username in ("stat", "dm_rot"):
        client = site.client()
        sign_in(site, client, username)
        assert client.get("/admin").status_code == 403
    admin = site.client()
    sign_in(site, admin, "admin")
    assert admin.get("/", follow_redirects=False).headers["location"] == "/admin"  # no patient data
    assert admin.get("/patients").status_code == 403
    page = admin.get("/admin")
    token = csrf_of(page.text)
    added = admin.post(
        "/admin/users", data={"username": "web_added", "password": PASSWORD, "csrf_token": token}
    )
    assert added.status_code == 200 and "added user" in added.text
    granted = admin.post(
        "/admin/grants",
        data={
            "username": "web_added",
            "role": "clinician",
            "centre": "Utrecht",
            "study_group": "",
            "csrf_token": token,
        },
    )
    assert "granted clinician" in granted.text and "clinician over centre &#39;Utrecht&#39;" in granted.text
    weak = admin.post("/admin/users", data={"username": "weak", "password": "short", "csrf_token": token})
    assert weak.status_code == 400 and "password" in weak.text
    itself = admin.post("/admin/users/disable", data={"username": "admin", "csrf_token": token})
    assert itself.status_code == 400 and "your own account" in itself.text
    centre = admin.post("/admin/centres", data={"name": "Leiden", "study_group": "DCOG", "csrf_token": token})
    assert "added centre" in centre.text
    with Session(site.world.engine) as session:
        events = [e.event for e in read_security_log(session, subject="web_added")]
        leiden = session.scalars(select(m.Centre).where(m.Centre.name == "Leiden")).one()
        audited = session.scalars(
            select(m.AuditEntry.actor).where(
                m.AuditEntry.table_name == "centre", m.AuditEntry.record_id == leiden.id
            )
        ).all()
    assert events == ["user_added", "role_granted"]
    assert set(audited) == {"admin"}


def test_the_patient_list_filters_sorts_and_pages_in_sql(site: Site) -> None:
    client = site.client(page_size=2)
    sign_in(site, client, "stat")
    first = client.get("/patients", params={"sort": "study_id"}).text
    assert "page 1 of 5" in first
    ids = re.findall(r'<a href="/patients/\d+">([^<]+)</a>', first)
    assert len(ids) == 2
    everything = []
    for page in range(1, 6):
        text = client.get("/patients", params={"sort": "study_id", "page": page}).text
        everything += re.findall(r'<a href="/patients/\d+">([^<]+)</a>', text)
    assert len(everything) == 9 and everything == sorted(everything)
    backwards = client.get("/patients", params={"sort": "study_id", "order": "desc"}).text
    assert (
        re.findall(r'<a href="/patients/\d+">([^<]+)</a>', backwards) == sorted(everything, reverse=True)[:2]
    )
    utrecht = client.get("/patients", params={"centre": "Utrecht"}).text
    assert "2 patients" in utrecht and "UTR-1" in utrecht
    search = client.get("/patients", params={"q": "MON"}).text
    assert "2 patients" in search
    percent = client.get("/patients", params={"q": "%"}).text  # a LIKE wildcard is searched as text
    assert "0 patients" in percent
    assert "0 patients" in client.get("/patients", params={"status": "dead"}).text


def test_the_csv_download_is_scoped_guarded_and_logged(site: Site) -> None:
    client = site.client()
    sign_in(site, client, "dm_rot")
    response = client.get("/patients.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["centre"] for r in rows} == {"Rotterdam"}
    assert "'=HYPERLINK(1)" in {r["study_id"] for r in rows}
    assert SCRIPT in {r["study_id"] for r in rows}
    with Session(site.world.engine) as session:
        exports = read_security_log(session, subject="dm_rot", event=SecurityEvent.EXPORT)
    assert exports and "4 patients" in str(exports[-1].detail)
    clinician = site.client()
    sign_in(site, clinician, "cli_rot")
    assert clinician.get("/patients.csv").status_code == 403  # a clinician exports nothing


@pytest.mark.parametrize("username", ["stat", "mon_dcog"])
def test_markup_in_study_ids_and_centre_names_is_escaped_on_every_page(site: Site, username: str) -> None:
    client = site.client()
    sign_in(site, client, username)
    odd = [site.patient_ids[SCRIPT], site.patient_ids[IMG]]
    paths = ["/", "/patients", "/patients?q=%3C", "/patients?centre=" + IMG + " centre", "/account", "/audit"]
    paths += [f"/patients/{i}" for i in odd]
    seen = 0
    for path in paths:
        response = client.get(path)
        if response.status_code == 403:  # the statistician has no audit
            continue
        html = response.text
        assert SCRIPT not in html and "<img src=x" not in html, path
        seen += "&lt;script&gt;" in html or "&lt;img src=x" in html or "&#34;&gt;&lt;img" in html
    assert seen >= 5


def test_a_patients_facts_are_shown_in_words(site: Site) -> None:
    """Cold review: the facts listed the stored codes ('F', 'pro_B')."""
    client = site.client()
    sign_in(site, client, "cli_rot")
    with Session(site.world.engine) as session:
        rot = session.scalars(select(m.Patient).where(m.Patient.study_id == "ROT-1")).one()
        pid, sex = rot.id, rot.sex
    page = client.get(f"/patients/{pid}").text
    shown = re.search(r"<dt>Sex</dt><dd>(.*?)</dd>", page)
    assert shown is not None
    assert shown[1] == {"F": "female", "M": "male"}[sex]
