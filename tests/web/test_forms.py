"""The entry forms over HTTP: errors beside their fields, corrections with reasons, the lock.

On the web tests' site (both stores): the data manager of Rotterdam enters patients and
records; a clinician may not; a patient of Monza is out of reach; two sessions editing the
same record are told, never overwritten silently.
"""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bassinet.access import add_user, grant_role
from bassinet.registry import models as m
from tests.access.conftest import PASSWORD
from tests.web.conftest import Site, csrf_of, sign_in

NEW = {
    "centre": "Rotterdam",
    "sex": "F",
    "date_of_birth": "2020-01-01",
    "diagnosis_date": "2020-03-01",
    "leukemia_type": "ALL",
    "kmt2a_status": "rearranged",
    "wbc": "120.5",
    "last_contact_date": "2021-01-01",
    "vital_status": "alive",
}


def _signed_in(site: Site, username: str) -> TestClient:
    client = site.client()
    sign_in(site, client, username, next_path="/patients")
    return client


def _field_error(page: str, name: str) -> str | None:
    """The error shown beside field ``name`` (its element ``e-<name>``), or None."""
    match = re.search(rf'<p class="field-error" id="e-{name}">(.*?)</p>', page, re.S)
    return html.unescape(match.group(1)) if match else None


def _value(page: str, name: str) -> str:
    match = re.search(rf'<input id="f-{name}" name="{name}" value="([^"]*)"', page)
    assert match is not None, f"no input {name}"
    return html.unescape(match.group(1))


def _post(client: TestClient, path: str, data: dict[str, str]) -> tuple[int, str, str]:
    page = client.get(path)
    assert page.status_code == 200, page.text
    version = re.search(r'name="version" value="(\d+)"', page.text)
    form = {"csrf_token": csrf_of(page.text), "version": version.group(1) if version else "0", **data}
    response = client.post(path, data=form, follow_redirects=False)
    return response.status_code, response.text, response.headers.get("location", "")


def _patient(site: Site, study_id: str) -> m.Patient | None:
    with Session(site.world.engine) as session:
        return session.scalars(select(m.Patient).where(m.Patient.study_id == study_id)).first()


def test_a_mistake_is_shown_beside_its_field_with_what_was_typed_and_nothing_is_stored(site: Site) -> None:
    client = _signed_in(site, "dm_rot")
    status, page, _ = _post(client, "/patients/new", {"study_id": "FORM-1", **NEW, "wbc": "-3"})
    assert status == 400
    assert _field_error(page, "wbc") == "must be >= 0 x10^9/L"
    assert _field_error(page, "diagnosis_date") is None
    assert _value(page, "wbc") == "-3" and _value(page, "study_id") == "FORM-1"
    assert _patient(site, "FORM-1") is None
    status, _, location = _post(client, "/patients/new", {"study_id": "FORM-1", **NEW})
    assert status == 303
    created = _patient(site, "FORM-1")
    assert created is not None and created.wbc == 120.5
    assert location == f"/patients/{created.id}/records?saved=1"


def test_a_study_id_already_in_the_registry_is_not_entered_again(site: Site) -> None:
    client = _signed_in(site, "dm_rot")
    status, page, _ = _post(client, "/patients/new", {"study_id": "ROT-1", **NEW})
    assert status == 400
    assert "is already in the registry" in (_field_error(page, "study_id") or "")


def test_a_study_id_of_another_centre_is_refused_without_describing_that_patient(site: Site) -> None:
    """Cold review: the dry run compared the form with MON-1 of Monza and named its centre."""
    client = _signed_in(site, "dm_rot")
    status, page, _ = _post(client, "/patients/new", {"study_id": "MON-1", **NEW})
    assert status == 400
    assert "is already in the registry" in (_field_error(page, "study_id") or "")
    errors = re.findall(r'<p class="field-error" id="e-([a-z0-9_]+)">', page)
    assert errors == ["study_id"]
    assert "Monza" not in page and "differs" not in page and "allocat" not in page


def test_no_form_offers_the_randomisation_arm_and_a_posted_arm_is_ignored(site: Site) -> None:
    """Cold review: an arm typed into the patient form passed as a randomisation."""
    client = _signed_in(site, "dm_rot")
    rot = _patient(site, "ROT-1")
    assert rot is not None
    for path in ("/patients/new", f"/patients/{rot.id}/edit"):
        page = client.get(path).text
        assert 'name="randomisation_arm"' not in page and 'name="randomisation_date"' not in page
    before = (rot.randomisation_arm, rot.randomisation_date)
    _post(
        client,
        f"/patients/{rot.id}/edit",
        {"randomisation_arm": "IB", "randomisation_date": "2020-05-01", "reason": "arm chosen by hand"},
    )
    after = _patient(site, "ROT-1")
    assert after is not None and (after.randomisation_arm, after.randomisation_date) == before


def test_a_new_remission_is_checked_against_the_patients_dates_then_added(site: Site) -> None:
    client = _signed_in(site, "dm_rot")
    _post(client, "/patients/new", {"study_id": "FORM-2", **NEW})
    patient = _patient(site, "FORM-2")
    assert patient is not None
    path = f"/patients/{patient.id}/records/remissions/new"
    record = {"time_point": "end_of_induction", "assessment_date": "2020-02-01", "status": "CR"}
    status, page, _ = _post(client, path, record)
    assert status == 400
    assert _field_error(page, "assessment_date") == "is before 'diagnosis_date' (2020-03-01)"
    status, _, _ = _post(client, path, {**record, "assessment_date": "2020-04-01"})
    assert status == 303
    listing = client.get(f"/patients/{patient.id}/records").text
    assert "2020-04-01" in listing and "end of induction" in listing
    assert "end_of_induction" not in listing and "<th scope=\"col\">Assessment date</th>" in listing


def test_a_correction_needs_a_reason_and_is_audited_with_it_and_the_user(site: Site) -> None:
    client = _signed_in(site, "dm_rot")
    _post(client, "/patients/new", {"study_id": "FORM-3", **NEW})
    patient = _patient(site, "FORM-3")
    assert patient is not None
    path = f"/patients/{patient.id}/edit"
    status, page, _ = _post(client, path, {**NEW, "wbc": "130"})
    assert status == 400
    assert (_field_error(page, "reason") or "").startswith("is required")
    status, _, _ = _post(client, path, {**NEW, "wbc": "130", "reason": "lab report re-read"})
    assert status == 303
    with Session(site.world.engine) as session:
        entry = session.scalars(
            select(m.AuditEntry).where(
                m.AuditEntry.table_name == "patient",
                m.AuditEntry.record_id == patient.id,
                m.AuditEntry.field == "wbc",
                m.AuditEntry.action == "update",
            )
        ).one()
    assert (entry.old_value, entry.new_value) == ("120.5", "130.0")
    assert (entry.actor, entry.reason) == ("dm_rot", "lab report re-read")


def test_two_sessions_the_second_save_is_told_who_changed_the_record_and_shown_both_values(
    site: Site,
) -> None:
    with Session(site.world.engine) as session, session.begin():
        add_user(session, "dm_rot_b", PASSWORD, actor="test")
        grant_role(session, "dm_rot_b", "data_manager", actor="test", centre="Rotterdam")
    first, second = _signed_in(site, "dm_rot"), _signed_in(site, "dm_rot_b")
    _post(first, "/patients/new", {"study_id": "FORM-4", **NEW})
    patient = _patient(site, "FORM-4")
    assert patient is not None
    path = f"/patients/{patient.id}/edit"
    opened = {}
    for name, client in (("first", first), ("second", second)):  # both open the form
        page = client.get(path).text
        opened[name] = {
            "csrf_token": csrf_of(page),
            "version": re.search(r'name="version" value="(\d+)"', page).group(1),  # type: ignore[union-attr]
        }
    saved = first.post(
        path, data={**opened["first"], **NEW, "wbc": "150", "reason": "first"}, follow_redirects=False
    )
    assert saved.status_code == 303
    refused = second.post(path, data={**opened["second"], **NEW, "wbc": "160", "reason": "second"})
    assert refused.status_code == 409
    text = html.unescape(refused.text)
    assert (
        "This record was changed by dm_rot at " in text and "after you opened it. Nothing was saved." in text
    )
    row = re.search(r'<th scope="row">wbc</th><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td>', refused.text)
    assert row is not None and row.groups() == ("120.5", "150.0", "160")
    stored = _patient(site, "FORM-4")
    assert stored is not None and stored.wbc == 150.0  # never silently overwritten


def test_dates_and_decimals_are_shown_and_read_in_the_users_format_and_stored_canonically(site: Site) -> None:
    with Session(site.world.engine) as session, session.begin():
        add_user(session, "dm_rot_nl", PASSWORD, actor="test")
        grant_role(session, "dm_rot_nl", "data_manager", actor="test", centre="Rotterdam")
    client = _signed_in(site, "dm_rot_nl")
    status, _, _ = _post(client, "/account/entry-format", {"date_format": "%d.%m.%Y", "decimal_mark": ","})
    assert status == 200
    dutch = {**NEW, "date_of_birth": "01.01.2020", "diagnosis_date": "01.03.2020"}
    dutch |= {"last_contact_date": "01.01.2021", "wbc": "88,25"}
    status, page, _ = _post(
        client, "/patients/new", {"study_id": "FORM-5", **dutch, "diagnosis_date": "2020-03-01"}
    )
    assert status == 400
    assert (_field_error(page, "diagnosis_date") or "").startswith(
        "is not a date in the form DD.MM.YYYY"
    )
    status, _, _ = _post(client, "/patients/new", {"study_id": "FORM-5", **dutch})
    assert status == 303
    patient = _patient(site, "FORM-5")
    assert patient is not None and patient.wbc == 88.25 and patient.diagnosis_date.isoformat() == "2020-03-01"
    page = client.get(f"/patients/{patient.id}/edit").text
    assert _value(page, "diagnosis_date") == "01.03.2020" and _value(page, "wbc") == "88,25"


def test_a_clinician_may_not_open_the_forms_and_another_centres_patient_is_not_found(site: Site) -> None:
    clinician = _signed_in(site, "cli_rot")
    assert clinician.get("/patients/new").status_code == 403
    assert 'id="new-patient"' not in clinician.get("/patients").text
    manager = _signed_in(site, "dm_rot")
    assert 'id="new-patient"' in manager.get("/patients").text
    monza = site.patient_ids["MON-1"]
    assert manager.get(f"/patients/{monza}/edit").status_code == 404
    assert manager.get(f"/patients/{monza}/records/remissions/new").status_code == 404


def test_every_form_posted_without_its_csrf_token_is_refused_and_writes_nothing(site: Site) -> None:
    client = _signed_in(site, "dm_rot")
    rot = site.patient_ids["ROT-2"]
    with Session(site.world.engine) as session:
        before = session.scalar(select(m.AuditEntry.id).order_by(m.AuditEntry.id.desc()).limit(1))
    paths = [
        "/patients/new",
        f"/patients/{rot}/edit",
        f"/patients/{rot}/records/remissions/new",
        "/account/entry-format",
    ]
    for path in paths:
        for token in ({}, {"csrf_token": "forged"}):
            data = {**token, "study_id": "FORM-6", **NEW, "reason": "r", "version": "0"}
            response = client.post(path, data=data)
            assert response.status_code == 403, path
            assert "security token is missing or out of date" in response.text
    assert _patient(site, "FORM-6") is None
    with Session(site.world.engine) as session:
        assert session.scalar(select(m.AuditEntry.id).order_by(m.AuditEntry.id.desc()).limit(1)) == before


def test_a_record_is_corrected_with_its_reason_and_a_stale_form_of_it_is_refused(site: Site) -> None:
    first = _signed_in(site, "dm_rot")
    _post(first, "/patients/new", {"study_id": "FORM-7", **NEW})
    patient = _patient(site, "FORM-7")
    assert patient is not None
    record = {"time_point": "day_15", "assessment_date": "2020-03-20", "status": "no_CR"}
    _post(first, f"/patients/{patient.id}/records/remissions/new", record)
    with Session(site.world.engine) as session:
        remission = session.scalars(
            select(m.RemissionAssessment).where(m.RemissionAssessment.patient_id == patient.id)
        ).one()
    path = f"/patients/{patient.id}/records/remissions/{remission.id}"
    stale = first.get(path).text  # opened, then left open while the correction below is saved
    status, page, _ = _post(first, path, {**record, "assessment_date": "2020-02-20", "reason": "typo"})
    assert status == 400
    assert _field_error(page, "assessment_date") == "is before 'diagnosis_date' (2020-03-01)"
    status, _, _ = _post(
        first, path, {**record, "assessment_date": "2020-03-16", "reason": "day 15 is the 16th"}
    )
    assert status == 303
    with Session(site.world.engine) as session:
        entry = session.scalars(
            select(m.AuditEntry).where(
                m.AuditEntry.table_name == "remission_assessment",
                m.AuditEntry.record_id == remission.id,
                m.AuditEntry.action == "update",
            )
        ).one()
    assert (entry.field, entry.old_value, entry.new_value) == ("assessment_date", "2020-03-20", "2020-03-16")
    assert (entry.actor, entry.reason) == ("dm_rot", "day 15 is the 16th")
    version = re.search(r'name="version" value="(\d+)"', stale)
    assert version is not None
    refused = first.post(
        path,
        data={
            "csrf_token": csrf_of(stale),
            "version": version.group(1),
            **record,
            "status": "CR",
            "reason": "stale",
        },
    )
    assert refused.status_code == 409
    row = re.search(
        r'<th scope="row">assessment_date</th><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td>', refused.text
    )
    assert row is not None and row.groups() == ("2020-03-20", "2020-03-16", "2020-03-20")
    with Session(site.world.engine) as session:
        kept = session.get(m.RemissionAssessment, remission.id)
        assert kept is not None and kept.status == "no_CR"
