"""Queries raised from the patient page, and the data-quality findings shown after a save.

The raise form offers the record's fields by the entry forms' labels and keeps what was typed
when it is refused; the patient page lists the patient's queries (each linking to where it is
answered) and findings; a form save shows the findings of the patient it saved.
"""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bassinet.access import Actor
from bassinet.access.accounts import load_actor
from bassinet.application.quality import check_scope, patient_findings
from bassinet.errors import RegistryError
from bassinet.registry import models as m
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
REMISSION = {"time_point": "end_of_induction", "assessment_date": "2020-04-03", "status": "CR"}


def actor_for(engine: Engine, username: str) -> Actor:
    with Session(engine) as session:
        return load_actor(session, username)


def _signed_in(site: Site, username: str) -> TestClient:
    client = site.client()
    sign_in(site, client, username, next_path="/patients")
    return client


def _post(client: TestClient, path: str, data: dict[str, str]) -> tuple[int, str, str]:
    page = client.get(path)
    assert page.status_code == 200, page.text
    form = {"csrf_token": csrf_of(page.text), "version": "0", **data}
    response = client.post(path, data=form, follow_redirects=False)
    return response.status_code, response.text, response.headers.get("location", "")


def new_patient(site: Site, study_id: str, *, remission: bool = True) -> tuple[int, int | None]:
    """A patient entered through the forms (and its remission assessment): their ids."""
    manager = _signed_in(site, "dm_rot")
    status, page, _ = _post(manager, "/patients/new", {"study_id": study_id, **NEW})
    assert status == 303, page
    with Session(site.world.engine) as session:
        pid = session.scalars(select(m.Patient.id).where(m.Patient.study_id == study_id)).one()
    if not remission:
        return pid, None
    status, page, _ = _post(manager, f"/patients/{pid}/records/remissions/new", REMISSION)
    assert status == 303, page
    with Session(site.world.engine) as session:
        rid = session.scalars(
            select(m.RemissionAssessment.id).where(m.RemissionAssessment.patient_id == pid)
        ).one()
    return pid, rid


def _options(page: str) -> dict[str, str]:
    """The raise form's field choices: value -> text shown."""
    select_ = re.search(r'<select id="q-field" name="field"[^>]*>(.*?)</select>', page, re.S)
    assert select_ is not None
    return {
        v: html.unescape(t) for v, t in re.findall(r'<option value="([^"]*)"[^>]*>(.*?)</option>', select_[1])
    }


def _selected(page: str) -> str | None:
    found = re.search(r'<option value="([^"]*)" selected>', page)
    return found[1] if found else None


def _field_error(page: str, name: str) -> str | None:
    match = re.search(rf'<p class="field-error" id="e-{name}">(.*?)</p>', page, re.S)
    return html.unescape(match[1]) if match else None


def test_the_raise_form_names_the_record_in_words_and_offers_its_fields_by_label(site: Site) -> None:
    pid, rid = new_patient(site, "QF-1")
    monitor = _signed_in(site, "mon_rot")
    page = monitor.get(f"/patients/{pid}/queries/new?record=remissions:{rid}")
    assert page.status_code == 200
    assert "Remission assessment of 3 Apr 2020" in page.text
    assert _options(page.text) == {
        "": "choose a field",
        "time_point": "Time point",
        "assessment_date": "Assessment date",
        "status": "Status",
    }
    own = _options(monitor.get(f"/patients/{pid}/queries/new").text)
    assert own["wbc"] == "White cells (WBC) (x10^9/L)"
    assert not any("_" in text for text in own.values())  # labels, never column codes


def test_the_field_dropdown_starts_empty_and_leaving_it_so_is_refused(site: Site) -> None:
    pid, _ = new_patient(site, "QF-6", remission=False)
    monitor = _signed_in(site, "mon_rot")
    path = f"/patients/{pid}/queries/new"
    page = monitor.get(path).text
    assert _selected(page) == ""  # "choose a field", not the first field (Sex)
    refused = monitor.post(
        path, data={"csrf_token": csrf_of(page), "record": "patient", "field": "", "question": "Which?"}
    )
    assert refused.status_code == 400
    assert _field_error(refused.text, "field") == "choose the field the query is about"
    assert ">Which?</textarea>" in refused.text
    with Session(site.world.engine) as session:
        assert session.scalars(select(m.DataQuery).where(m.DataQuery.patient_id == pid)).all() == []


def test_an_empty_question_is_refused_beside_it_and_the_field_chosen_is_kept(site: Site) -> None:
    pid, _ = new_patient(site, "QF-2", remission=False)
    monitor = _signed_in(site, "mon_rot")
    path = f"/patients/{pid}/queries/new"
    token = csrf_of(monitor.get(path).text)
    refused = monitor.post(
        path, data={"csrf_token": token, "record": "patient", "field": "wbc", "question": " "}
    )
    assert refused.status_code == 400
    assert (
        _field_error(refused.text, "question")
        == "a query needs its question (the text the data manager answers)"
    )
    assert _selected(refused.text) == "wbc"
    refused = monitor.post(
        path,
        data={"csrf_token": token, "record": "patient", "field": "nonsense", "question": "Is it <b>so</b>?"},
    )
    assert refused.status_code == 400
    assert (_field_error(refused.text, "field") or "").startswith(
        "field 'nonsense' is not a field of patient"
    )
    assert ">Is it &lt;b&gt;so&lt;/b&gt;?</textarea>" in refused.text
    with Session(site.world.engine) as session:
        assert session.scalars(select(m.DataQuery).where(m.DataQuery.patient_id == pid)).all() == []


def test_the_patient_page_lists_the_thread_and_links_raising_for_monitors_only(site: Site) -> None:
    pid, rid = new_patient(site, "QF-3")
    monitor = _signed_in(site, "mon_rot")
    path = f"/patients/{pid}/queries/new"
    token = csrf_of(monitor.get(path).text)
    raised = monitor.post(
        path,
        data={
            "csrf_token": token,
            "record": f"remissions:{rid}",
            "field": "assessment_date",
            "question": "Date?",
        },
        follow_redirects=False,
    )
    assert raised.status_code == 303
    qid = int(re.fullmatch(r"/queries\?done=raised\+(\d+)#query-\d+", raised.headers["location"])[1])  # type: ignore[index]
    own = monitor.get(f"/patients/{pid}").text
    assert f'href="/patients/{pid}/queries/new?record=remissions%3A{rid}"' in own

    manager = _signed_in(site, "dm_rot")
    page = manager.get(f"/patients/{pid}").text
    row = re.search(rf'<tr id="patient-query-{qid}">(.*?)</tr>', page, re.S)
    assert row is not None
    assert f'<a href="/queries#query-{qid}">' in row[1]
    assert "Remission assessment of 3 Apr 2020" in row[1] and "<td>Assessment date</td>" in row[1]
    assert "Date?" in row[1] and "open" in row[1]
    assert 'id="raise-query"' not in page  # a data manager answers, never raises

    listing = manager.get("/queries").text
    summary = re.search(r'<p id="queries-summary">(.*?)</p>', listing, re.S)
    with Session(site.world.engine) as session:  # the site is shared with the other tests
        n = len(session.scalars(select(m.DataQuery.id).where(m.DataQuery.status != "closed")).all())
    words = "1 query" if n == 1 else f"{n} queries"
    assert summary is not None and summary[1] == f"{words} not yet closed: Rotterdam ({n})."
    assert re.search(
        rf'<tr id="query-{qid}">.*?Remission assessment of 3 Apr 2020</td><td>Assessment date</td>',
        listing,
        re.S,
    )
    token = csrf_of(listing)
    answered = manager.post(
        f"/queries/{qid}/answer",
        data={
            "csrf_token": token,
            "answer": "Source says 4 Apr",
            "field": "assessment_date",
            "corrected": "2020-04-04",
            "reason": "source document",
        },
        follow_redirects=False,
    )
    assert answered.status_code == 303
    with Session(site.world.engine) as session:
        assert str(session.get(m.RemissionAssessment, rid).assessment_date) == "2020-04-04"  # type: ignore[union-attr]
    token = csrf_of(monitor.get("/queries").text)
    closed = monitor.post(
        f"/queries/{qid}/close", data={"csrf_token": token, "note": "Agreed"}, follow_redirects=False
    )
    assert closed.status_code == 303
    row = re.search(rf'<tr id="patient-query-{qid}">(.*?)</tr>', manager.get(f"/patients/{pid}").text, re.S)
    assert row is not None
    assert "Source says 4 Apr" in row[1] and "<dd>Agreed</dd>" in row[1] and "closed" in row[1]
    assert "Remission assessment of 4 Apr 2020" in row[1]  # the record as it is now


def test_a_save_shows_the_patients_findings_as_warnings(site: Site) -> None:
    pid, _ = new_patient(site, "QF-4", remission=False)
    manager = _signed_in(site, "dm_rot")
    relapse = {"event_type": "relapse", "event_date": "2020-09-01", "relapse_site": "bone_marrow"}
    status, page, location = _post(manager, f"/patients/{pid}/records/events/new", relapse)
    assert status == 303, page
    assert location == f"/patients/{pid}/records?saved=1"
    shown = manager.get(location).text
    engine = site.world.engine
    expected = patient_findings(actor_for(engine, "dm_rot"), engine, pid)
    summary = re.search(r'<p id="saved-summary">(.*?)</p>', shown, re.S)
    assert summary is not None
    assert html.unescape(summary[1]) == f"Saved. {len(expected)} data-quality findings for this patient:"
    assert (
        '<strong class="severity-error">error</strong> · '
        "relapse on 2020-09-01 has no complete remission (CR) assessed before it"
    ) in shown
    patient_page = manager.get(f"/patients/{pid}").text
    assert "relapse on 2020-09-01 has no complete remission (CR) assessed before it" in patient_page
    assert 'id="saved-summary"' not in manager.get(f"/patients/{pid}/records").text  # only after a save


def test_one_patients_findings_are_those_the_scope_check_finds_for_it(site: Site) -> None:
    pid, _ = new_patient(site, "QF-5", remission=False)
    engine = site.world.engine
    actor = actor_for(engine, "mon_rot")
    whole = [f for f in check_scope(actor, engine).findings if f.patient_id == pid]
    assert whole  # contact in 2021: over a year without contact
    assert list(patient_findings(actor, engine, pid)) == whole


def test_another_centres_patient_has_no_findings_to_show_but_is_not_found(site: Site) -> None:
    engine = site.world.engine
    with Session(engine) as session:
        elsewhere = session.scalars(
            select(m.Patient.id).join(m.Centre).where(m.Centre.name != "Rotterdam")
        ).first()
    assert elsewhere is not None
    with pytest.raises(RegistryError, match=f"no patient with id {elsewhere}"):
        patient_findings(actor_for(engine, "dm_rot"), engine, elsewhere)


def _raise_on_wbc(site: Site, study_id: str) -> tuple[int, int, TestClient]:
    """A patient (WBC 120.5) with an open query on its WBC; the monitor signed in."""
    pid, _ = new_patient(site, study_id, remission=False)
    monitor = _signed_in(site, "mon_rot")
    path = f"/patients/{pid}/queries/new"
    raised = monitor.post(
        path,
        data={
            "csrf_token": csrf_of(monitor.get(path).text),
            "record": "patient",
            "field": "wbc",
            "question": "WBC?",
        },
        follow_redirects=False,
    )
    assert raised.status_code == 303
    return pid, int(re.findall(r"\d+", raised.headers["location"])[0]), monitor


def test_a_refused_corrected_value_shows_the_list_again_with_the_rule_beside_it_and_what_was_typed(
    site: Site,
) -> None:
    pid, qid, _ = _raise_on_wbc(site, "QF-7")
    manager = _signed_in(site, "dm_rot")
    token = csrf_of(manager.get("/queries").text)
    typed = {"answer": "Source <says> 305", "field": "wbc", "corrected": "3o5", "reason": "typo & source"}
    refused = manager.post(f"/queries/{qid}/answer", data={"csrf_token": token, **typed})
    assert refused.status_code == 400
    assert "<h1>Data queries</h1>" in refused.text
    message = _field_error(refused.text.replace(f'id="e{qid}-corrected"', 'id="e-corrected"'), "corrected")
    assert message is not None and "3o5" in message and "wbc" in message.lower()
    row = re.search(rf'<tr id="query-{qid}">(.*?)</tr>', refused.text, re.S)
    assert row is not None
    assert ">Source &lt;says&gt; 305</textarea>" in row[1]
    assert f'id="a{qid}-corrected" name="corrected" value="3o5" aria-invalid="true"' in row[1]
    assert 'name="reason" value="typo &amp; source"' in row[1]
    with Session(site.world.engine) as session:
        query = session.get(m.DataQuery, qid)
        assert query is not None and query.status == "open" and query.answer is None
        assert session.get(m.Patient, pid).wbc == 120.5  # type: ignore[union-attr]


def test_the_thread_shows_the_value_the_answer_corrected_from_the_audit_trail(site: Site) -> None:
    pid, qid, monitor = _raise_on_wbc(site, "QF-8")
    manager = _signed_in(site, "dm_rot")
    token = csrf_of(manager.get("/queries").text)
    typed = {"answer": "Typo", "field": "wbc", "corrected": "30.5", "reason": "source <document>"}
    answered = manager.post(
        f"/queries/{qid}/answer", data={"csrf_token": token, **typed}, follow_redirects=False
    )
    assert answered.status_code == 303
    with Session(site.world.engine) as session:
        audit = session.scalars(
            select(m.AuditEntry).where(
                m.AuditEntry.table_name == "patient",
                m.AuditEntry.record_id == pid,
                m.AuditEntry.field == "wbc",
                m.AuditEntry.action == "update",
            )
        ).one()
    expected = (
        f'<dd class="correction">White cells (WBC) (x10^9/L) changed from {audit.old_value} '
        f"to {audit.new_value}: source &lt;document&gt;</dd>"
    )
    assert audit.old_value is not None and audit.old_value.startswith("120.5")
    assert audit.new_value is not None and audit.new_value.startswith("30.5")
    row = re.search(rf'<tr id="query-{qid}">(.*?)</tr>', monitor.get("/queries").text, re.S)
    assert row is not None and expected in row[1]  # seen before closing
    patient_row = re.search(
        rf'<tr id="patient-query-{qid}">(.*?)</tr>', monitor.get(f"/patients/{pid}").text, re.S
    )
    assert patient_row is not None and expected in patient_row[1]


def test_closed_queries_are_listed_on_their_own_with_their_thread(site: Site) -> None:
    _, qid, monitor = _raise_on_wbc(site, "QF-9")
    manager = _signed_in(site, "dm_rot")
    token = csrf_of(manager.get("/queries").text)
    typed = {"answer": "Checked", "field": "wbc", "corrected": "", "reason": ""}
    assert manager.post(f"/queries/{qid}/answer", data={"csrf_token": token, **typed}).status_code == 200
    listing = monitor.get("/queries").text
    assert '<a href="/queries?status=closed">Closed queries</a>' in listing
    closed = monitor.post(
        f"/queries/{qid}/close",
        data={"csrf_token": csrf_of(listing), "note": "Fine"},
        follow_redirects=False,
    )
    assert closed.status_code == 303
    assert f'id="query-{qid}"' not in monitor.get("/queries").text  # no longer open
    page = manager.get("/queries?status=closed").text
    summary = re.search(r'<p id="queries-summary">(.*?)</p>', page, re.S)
    with Session(site.world.engine) as session:  # the site is shared: another test closed one too
        n = len(session.scalars(select(m.DataQuery.id).where(m.DataQuery.status == "closed")).all())
    assert n >= 1
    words = "1 closed query" if n == 1 else f"{n} closed queries"
    assert summary is not None and summary[1] == f"{words}: Rotterdam ({n})."
    row = re.search(rf'<tr id="query-{qid}">(.*?)</tr>', page, re.S)
    assert row is not None
    assert "<dd>WBC?</dd>" in row[1] and "<dd>Checked</dd>" in row[1] and "<dd>Fine</dd>" in row[1]
    assert "<td>closed</td>" in row[1] and "<form" not in row[1]
    assert '<a href="/queries">Open and answered queries</a>' in page
