"""The Monitoring panel and the sign page through the web app (TestClient), on each store: the
signer's full name, fields, records and values in words, and the casebook's lock history."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bassinet.access import add_user, grant_role
from bassinet.registry import models as m
from bassinet.registry import registry_session
from bassinet.registry.vocabulary import Immunophenotype
from tests.access.conftest import PASSWORD
from tests.web.conftest import Site, csrf_of, sign_in


def _client(site: Site, username: str) -> TestClient:
    client = site.client()
    sign_in(site, client, username)
    return client


def _panel(client: TestClient, pid: int) -> str:
    page = client.get(f"/patients/{pid}")
    assert page.status_code == 200, page.text
    start = page.text.index('<h2 id="monitoring">')
    return page.text[start : page.text.index("</section>", start)]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_user_added_with_a_full_name_on_the_admin_page_signs_under_that_name(site: Site) -> None:
    admin = _client(site, "admin")
    form = admin.get("/admin")
    assert 'name="full_name"' in form.text
    added = admin.post(
        "/admin/users",
        data={
            "username": "inv",
            "password": PASSWORD,
            "full_name": "  Dr A. B ",
            "csrf_token": csrf_of(form.text),
        },
    )
    assert added.status_code == 200, added.text
    with Session(site.world.engine) as session, session.begin():
        assert session.scalars(select(m.User.full_name).where(m.User.username == "inv")).one() == "Dr A. B"
        uri = grant_role(session, "inv", "investigator", actor="test", centre="Rotterdam").totp_uri
    if uri:
        match = re.search(r"secret=([A-Z2-7]+)", uri)
        assert match is not None
        site.secrets["inv"] = match.group(1)
    pid = site.patient_ids["ROT-1"]
    inv = _client(site, "inv")
    page = inv.get(f"/patients/{pid}/sign")
    signed = inv.post(
        f"/patients/{pid}/sign",
        data={"password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text
    current = re.search(r'<p class="signature" id="signature-current">([^<]*)', _panel(inv, pid))
    assert current is not None
    assert current.group(1).startswith("Signed by Dr A. B (inv) on ")


def test_the_panel_and_the_sign_page_name_fields_records_and_values_in_words(site: Site) -> None:
    pid = site.patient_ids["ROT-2"]
    with registry_session(site.world.engine, actor="test setup") as session:
        patient = session.get(m.Patient, pid)
        assert patient is not None
        patient.immunophenotype, patient.wbc = Immunophenotype.PRO_B, 120.0
        session.add(
            m.RemissionAssessment(
                patient_id=pid,
                time_point="end_of_induction",
                assessment_date=dt.date(2020, 4, 1),
                status="CR",
            )
        )
    with Session(site.world.engine) as session:
        remission = session.scalars(
            select(m.RemissionAssessment.id).where(m.RemissionAssessment.patient_id == pid)
        ).one()
    panel = _text(_panel(_client(site, "mon_rot"), pid))
    with Session(site.world.engine) as session, session.begin():
        add_user(session, "inv_words", PASSWORD, actor="test")
        uri = grant_role(session, "inv_words", "investigator", actor="test", centre="Rotterdam").totp_uri
    if uri:
        match = re.search(r"secret=([A-Z2-7]+)", uri)
        assert match is not None
        site.secrets["inv_words"] = match.group(1)
    page = _client(site, "inv_words").get(f"/patients/{pid}/sign")
    assert page.status_code == 200, page.text
    casebook = _text(page.text[page.text.index('<table id="casebook">') : page.text.index("</table>")])
    for shown in (panel, casebook):
        for words in (
            "White cells (WBC) (x10^9/L)",
            "Immunophenotype",
            "pro-B",
            f"remission assessment {remission}",
            "complete remission",
            "end of induction",
        ):
            assert words in shown, (words, shown)
        for code in ("pro_B", f"remissions:{remission}", "end_of_induction", " wbc ", " CR "):
            assert code not in shown, (code, shown)


def test_after_unlocking_the_panel_shows_the_lock_history_most_recent_first(site: Site) -> None:
    pid = site.patient_ids["ROT-2"]
    monitor = _client(site, "mon_rot")
    for path, reason in (
        ("lock", "first monitoring visit"),
        ("unlock", "late lab sheet"),
        ("lock", "second visit"),
        ("unlock", "query on <b>wbc</b>"),
    ):
        form = monitor.get(f"/patients/{pid}")
        done = monitor.post(
            f"/patients/{pid}/{path}",
            data={"reason": reason, "csrf_token": csrf_of(form.text)},
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text
    panel = _panel(monitor, pid)
    assert "Not locked." in panel
    history = panel.split('<ul id="lock-history">')[1].split("</ul>")[0]
    items = re.findall(r"<li>([^<]*)</li>", history)
    assert [re.sub(r" on \d\d \w{3} \d{4} \d\d:\d\d UTC", "", item) for item in items] == [
        "Unlocked by mon_rot: query on &lt;b&gt;wbc&lt;/b&gt;",
        "Locked by mon_rot: second visit",
        "Unlocked by mon_rot: late lab sheet",
        "Locked by mon_rot: first monitoring visit",
    ]
