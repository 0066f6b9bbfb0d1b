"""Findings of a cold review of the pages by a new user: refusals, filters, accounts, values, layout."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from bassinet.access import Action, read_security_log
from bassinet.access.accounts import MAX_FAILURES
from bassinet.application.queries import plain_fraction
from bassinet.registry.vocabulary import label
from bassinet.web.context import ACTION_WORDS, refusal_in_words
from tests.access.conftest import PASSWORD
from tests.web.conftest import Site, csrf_of, sign_in


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ("monitor may not run_report", "Your role does not allow running reports."),
        ("admin may not read_patients", "Your role does not allow viewing patients."),
        (
            "dm may not view_balance at centre 3",
            "Your role does not allow viewing the allocation balance at this centre (3).",
        ),
        (
            "x may not export_identified for the whole study",
            "Your role does not allow exporting identified data for the whole study.",
        ),
        ("x may not fly", "x may not fly"),  # not an action: left as it was
        ("no such patient", "no such patient"),
    ],
)
def test_a_refusal_is_worded_for_people(message: str, words: str) -> None:
    assert refusal_in_words(message) == words


def test_every_action_has_words() -> None:
    assert set(ACTION_WORDS) == set(Action)
    assert all(w and "_" not in w for w in ACTION_WORDS.values())


@pytest.mark.parametrize(
    ("username", "path", "words"),
    [
        ("admin", "/patients", "Your role does not allow viewing patients."),
        ("cli_rot", "/audit", "Your role does not allow viewing the audit trail."),
        ("dm_rot", "/admin", "Your role does not allow managing users."),
        ("mon_rot", "/reports", "Your role does not allow running reports."),
    ],
)
def test_a_refusal_page_keeps_the_navigation_and_speaks_plainly(
    site: Site, username: str, path: str, words: str
) -> None:
    client = site.client()
    sign_in(site, client, username)
    page = client.get(path)
    assert page.status_code == 403
    assert "<title>Not allowed · Bassinet</title>" in page.text and "<h1>Not allowed</h1>" in page.text
    assert words in page.text
    assert "may not" not in page.text and "_" not in page.text.split('role="alert">')[1].split("<")[0]
    assert 'action="/logout"' in page.text and "Sign out" in page.text
    assert 'href="/account"' in page.text and f">{username}</a>" in page.text


def test_an_error_page_without_a_session_offers_no_navigation(site: Site) -> None:
    page = site.client().get("/no/such/page")
    assert page.status_code == 404 and "<h1>Not found</h1>" in page.text
    assert "Sign out" not in page.text


@pytest.mark.parametrize(
    ("query", "named", "kept"),
    [
        ({"run": "abc", "patient": "ROT-2"}, "Import run &#39;abc&#39; not understood", "ROT-2"),
        ({"import_run": "-1", "patient": "ROT-2"}, "Import run &#39;-1&#39; not understood", "ROT-2"),
        ({"since": "notadate", "patient": "ROT-2"}, "From date &#39;notadate&#39; is not a date", "ROT-2"),
        (
            {"until": "2026-13-01", "patient": "ROT-2"},
            "Until date &#39;2026-13-01&#39; is not a date",
            "ROT-2",
        ),
        ({"page": "abc", "patient": "ROT-2"}, "Page &#39;abc&#39; not understood", "ROT-2"),
    ],
)
def test_an_audit_filter_not_understood_is_named_and_the_rest_kept(
    site: Site, query: dict[str, str], named: str, kept: str
) -> None:
    client = site.client()
    sign_in(site, client, "mon_rot")
    page = client.get("/audit", params=query)
    assert page.status_code == 200
    problems = page.text.split('id="filter-problems"')[1].split("</div>")[0]
    assert named in problems
    assert f'name="patient" value="{kept}"' in page.text  # the other filter still applies
    rows = page.text.split("<tbody>")[1]
    assert "ROT-2" in rows and ">ROT-1<" not in rows


def test_a_well_formed_audit_filter_shows_no_problem(site: Site) -> None:
    client = site.client()
    sign_in(site, client, "mon_rot")
    page = client.get("/audit", params={"since": "2000-01-01", "import_run": "1", "page": "1"})
    assert page.status_code == 200 and "filter-problems" not in page.text


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"page": "abc"}, "Page &#39;abc&#39; not understood"),
        ({"page": "-1"}, "Page &#39;-1&#39; not understood"),
        ({"page": "0"}, "Page &#39;0&#39; not understood"),
        ({"sort": "nonsense"}, "Sort column &#39;nonsense&#39; not understood"),
        ({"status": "zombie"}, "Status &#39;zombie&#39; not understood"),
        ({"order": "sideways"}, "Order &#39;sideways&#39; not understood"),
    ],
)
def test_a_patient_filter_not_understood_is_named_and_the_rest_kept(
    site: Site, query: dict[str, str], named: str
) -> None:
    client = site.client()
    sign_in(site, client, "stat")
    page = client.get("/patients", params={**query, "q": "ROT"})
    assert page.status_code == 200
    problems = page.text.split('id="filter-problems"')[1].split("</div>")[0]
    assert named in problems
    assert 'name="q" value="ROT"' in page.text
    rows = page.text.split("<tbody>")[1]
    assert "ROT-1" in rows and "UTR-1" not in rows


def test_a_second_page_asked_for_plainly_shows_no_problem(site: Site) -> None:
    client = site.client()
    sign_in(site, client, "stat")
    page = client.get("/patients", params={"page": "1", "sort": "centre", "order": "desc", "status": "alive"})
    assert page.status_code == 200 and "filter-problems" not in page.text


def _admin_row(html: str, username: str) -> str:
    return next(row for row in html.split("<tr>") if f"<td>{username}</td>" in row)


def test_an_administrator_unlocks_and_enables_from_the_page(site: Site) -> None:
    from sqlalchemy.orm import Session

    from bassinet.access import AuthenticationFailed, add_user, authenticate, disable_user

    with Session(site.world.engine) as session, session.begin():
        add_user(session, "web_locked", PASSWORD, actor="test")
        add_user(session, "web_off", PASSWORD, actor="test")
        disable_user(session, "web_off", actor="test")
    for _ in range(MAX_FAILURES):
        with pytest.raises(AuthenticationFailed):
            authenticate(site.world.engine, "web_locked", "wrong password!")
    admin = site.client()
    sign_in(site, admin, "admin")
    page = admin.get("/admin").text
    locked, off = _admin_row(page, "web_locked"), _admin_row(page, "web_off")
    assert "<td>locked</td>" in locked and 'action="/admin/users/unlock"' in locked
    assert "<td>disabled</td>" in off and 'action="/admin/users/enable"' in off
    assert 'action="/admin/users/disable"' not in off
    refused = admin.post("/admin/users/unlock", data={"username": "web_locked", "csrf_token": "forged"})
    assert refused.status_code == 403 and "<td>locked</td>" in _admin_row(
        admin.get("/admin").text, "web_locked"
    )
    token = csrf_of(page)
    done = admin.post("/admin/users/unlock", data={"username": "web_locked", "csrf_token": token})
    assert done.status_code == 200 and "unlocked user &#39;web_locked&#39;." in done.text
    assert "<td>active</td>" in _admin_row(done.text, "web_locked")
    done = admin.post("/admin/users/enable", data={"username": "web_off", "csrf_token": token})
    assert done.status_code == 200 and "enabled user &#39;web_off&#39;." in done.text
    assert "<td>active</td>" in _admin_row(done.text, "web_off")
    again = admin.post("/admin/users/enable", data={"username": "web_off", "csrf_token": token})
    assert again.status_code == 400 and "user &#39;web_off&#39; is not disabled" in again.text
    with Session(site.world.engine) as session:
        events = {(e.event, e.subject) for e in read_security_log(session) if e.actor == "admin"}
    assert {("user_unlocked", "web_locked"), ("user_enabled", "web_off")} <= events
    assert authenticate(site.world.engine, "web_off", PASSWORD).username == "web_off"


def test_the_grant_form_makes_the_administrator_choose_a_role(site: Site) -> None:
    admin = site.client()
    sign_in(site, admin, "admin")
    page = admin.get("/admin").text
    select = page.split('id="grant-role"')[1].split("</select>")[0]
    assert "required" in select.split(">")[0]
    assert select.split("<option")[1].startswith(' value="" selected>choose a role<')
    assert "selected" not in "".join(select.split("<option")[2:])
    posted = admin.post("/admin/grants", data={"username": "stat", "role": "", "csrf_token": csrf_of(page)})
    assert posted.status_code == 400 and "choose a role to grant" in posted.text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.24, "0.24"),
        (7.12e-4, "0.000712"),
        (3.21e-5, "0.0000321"),
        (1e-4, "0.0001"),
        (0.0, "0"),
        (1.0, "1"),
        (0.123456, "0.123"),
    ],
)
def test_an_mrd_fraction_is_a_plain_decimal(value: float, text: str) -> None:
    assert plain_fraction(value) == text


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("no_CR", "no complete remission"),
        ("matched_sibling", "matched sibling"),
        ("resistant_disease", "resistant disease"),
        ("pro_B", "pro-B"),
        ("transplant_related", "transplant-related"),
        ("end_of_induction", "end of induction"),
        ("CR2+", "second or later complete remission"),
        ("CNS1", "CNS1"),
    ],
)
def test_a_code_is_shown_in_words(code: str, words: str) -> None:
    assert label(code) == words


def test_the_patient_page_shows_words_and_plain_fractions(site: Site) -> None:
    from bassinet.registry import models as m
    from bassinet.registry import registry_session

    patient_id = site.patient_ids["ROT-1"]
    with registry_session(site.world.engine, actor="test setup") as session:
        session.add(
            m.MRDMeasurement(
                patient_id=patient_id,
                time_point="end_of_induction",
                method="PCR",
                result="quantified",
                value=7.12e-4,
                measured_on=dt.date(2024, 3, 1),
            )
        )
    client = site.client()
    sign_in(site, client, "dm_rot")
    page = client.get(f"/patients/{patient_id}").text
    assert "MRD at end of induction (PCR): 0.000712" in page
    timeline = page.split('id="timeline"')[1].split("</section>")[0]
    assert "e-04" not in timeline and "end_of_induction" not in timeline and "_" not in timeline
    audit = page.split('id="audit"')[1]
    assert "<td>0.000712</td>" in audit


def test_wide_tables_scroll_in_a_focusable_region_and_the_svg_has_no_metadata(site: Site) -> None:
    client = site.client()
    sign_in(site, client, "stat")
    dashboard = client.get("/").text
    assert '<div class="scroll tall" tabindex="0" role="region" aria-label="Accrual by centre and year">' in (
        dashboard
    )
    listing = client.get("/patients").text
    assert '<div class="scroll" tabindex="0" role="region" aria-label="Patient list">\n<table>' in listing
    css = client.get("/static/style.css").text
    assert ".scroll { overflow-x: auto; max-width: 100%;" in css
    assert ".scroll.tall { max-height: 70vh; overflow: auto; }" in css
    assert "@media (max-width: 40rem)" in css
    assert "<svg" in dashboard
    assert (
        "<metadata" not in dashboard and "Matplotlib v" not in dashboard and "image/svg+xml" not in dashboard
    )


def test_without_metadata_strips_only_the_metadata() -> None:
    from bassinet.web.figures import without_metadata

    svg = '<svg x="1">\n <metadata>\n  <rdf:RDF>Matplotlib v3.9</rdf:RDF>\n </metadata>\n <g id="a"/></svg>'
    assert without_metadata(svg) == '<svg x="1">\n <g id="a"/></svg>'


def _grants_of(site: Site, username: str) -> list[str]:
    from sqlalchemy.orm import Session

    from bassinet.access import list_users

    with Session(site.world.engine) as session:
        return [g for u in list_users(session) if u.username == username for g in u.grants]


@pytest.mark.parametrize(
    ("centre", "study_group", "status", "words", "grants"),
    [
        # cold review: a centre forgotten made a centre's data manager see every centre
        ("", "", 400, "choose the grant&#39;s centre, its study group, or &#39;the whole study&#39;", []),
        ("Utrecht", "*", 400, "choose a centre or the whole study, not both", []),
        ("", "*", 200, "granted data_manager", ["data_manager over the whole study"]),
        ("Utrecht", "", 200, "granted data_manager", ["data_manager over centre 'Utrecht'"]),
    ],
)
def test_a_grant_over_the_whole_study_is_chosen_never_left_over(
    site: Site, centre: str, study_group: str, status: int, words: str, grants: list[str]
) -> None:
    name = f"dm_{len(centre)}_{len(study_group)}"  # one new user per case (the site is shared)
    admin = site.client()
    sign_in(site, admin, "admin")
    page = admin.get("/admin").text
    assert '<option value="*">the whole study (every centre)</option>' in page
    token = csrf_of(page)
    added = admin.post("/admin/users", data={"username": name, "password": PASSWORD, "csrf_token": token})
    assert added.status_code == 200
    posted = admin.post(
        "/admin/grants",
        data={
            "username": name,
            "role": "data_manager",
            "centre": centre,
            "study_group": study_group,
            "csrf_token": token,
        },
    )
    assert posted.status_code == status and words in posted.text
    assert _grants_of(site, name) == grants


@pytest.mark.parametrize(
    "path",
    [
        "/patients/2147483648",
        "/patients/9223372036854775808",
        "/patients/99999999999999999999",
        "/patients/99999999999999999999/records",
        "/reports/99999999999999999999",
    ],
)
def test_an_id_no_row_can_have_is_not_found_not_a_server_error(site: Site, path: str) -> None:
    monitor = site.client()
    sign_in(site, monitor, "mon_rot")
    page = monitor.get(path)
    assert page.status_code == 404 and "Not found" in page.text and "Internal Server Error" not in page.text
    assert monitor.get("/patients/2147483647").status_code == 404  # the largest id: looked up, missing


def test_the_dashboard_names_risk_groups_and_events_in_words(site: Site) -> None:
    # cold review: the dashboard showed "HR" and "resistant_disease" where other pages show words
    from sqlalchemy.orm import Session

    from bassinet.registry import models as m
    from bassinet.registry.store import registry_session
    from bassinet.registry.vocabulary import EventType

    with registry_session(site.world.engine, actor="test") as session:
        patient = session.query(m.Patient).order_by(m.Patient.id).first()
        assert patient is not None
        resistant = EventType("resistant_disease")
        session.add(m.Event(patient_id=patient.id, event_type=resistant, event_date=dt.date(2024, 1, 2)))
    with Session(site.world.engine) as session:
        kinds = {label(kind) for kind in session.scalars(select_event_types(m))}
    assert "resistant disease" in kinds
    client = site.client()
    sign_in(site, client, "stat")
    page = client.get("/").text
    risk = page.split('id="risk"')[1].split("</table>")[0]
    events = page.split('id="events"')[1].split("</section>")[0]
    cells = re.findall(r"<tr><td>([^<]*)</td>", risk + events)
    assert cells, "the dashboard lists risk groups"
    for cell in cells:
        assert "_" not in cell and cell not in ("HR", "MR", "LR", "SR"), cell
    assert all(f"<td>{kind}</td>" in events for kind in kinds), (kinds, events)


def select_event_types(m: Any) -> Any:
    from sqlalchemy import select

    return select(m.Event.event_type).distinct()


def test_the_role_choice_is_in_words() -> None:
    from bassinet.web.context import environment

    assert environment.filters["words"]("data_manager") == "data manager"
    assert environment.filters["words"]("resistant_disease") == "resistant disease"
