"""Queries and data quality in a real browser (headless Chromium).

A monitor raises a query on a field of a record (an empty question first: refused beside the
field, the choice kept), the data manager sees it on /queries and on the patient page and
answers it with a correction and its reason, the monitor sees the answer and closes it; the
audit page shows the three steps. A form save that makes a data-quality finding shows it.

Set ``BASSINET_SCREENSHOTS=DIR`` to keep a screenshot of each step.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy.orm import Session

from bassinet.registry import models as m
from tests.web._browser import sign_in, wait_for_heading
from tests.web.conftest import Site
from tests.web.test_query_forms import new_patient

pytestmark = pytest.mark.slow


def _shot(b: WebDriver, name: str) -> None:
    folder = os.environ.get("BASSINET_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        b.set_window_size(1200, 1400)
        b.save_screenshot(str(Path(folder) / f"{name}.png"))


def _wait(b: WebDriver, condition: object) -> None:
    WebDriverWait(b, 30, ignored_exceptions=(StaleElementReferenceException,)).until(condition)  # type: ignore[arg-type]


def _as(b: WebDriver, server: str, site: Site, username: str) -> None:
    b.delete_all_cookies()
    sign_in(b, server, site, username)


def test_a_query_is_raised_answered_with_a_correction_closed_and_audited(
    server: str, browser: WebDriver, site: Site
) -> None:
    b = browser
    pid, _ = new_patient(site, "QB-1")
    _as(b, server, site, "mon_rot")
    b.get(f"{server}/patients/{pid}")
    wait_for_heading(b, "Patient QB-1")
    b.find_element(By.LINK_TEXT, "Raise a query on the remission assessment of 3 Apr 2020").click()
    wait_for_heading(b, "Raise a query on QB-1")
    assert b.find_element(By.ID, "query-record").text == "Record: Remission assessment of 3 Apr 2020"
    Select(b.find_element(By.ID, "q-field")).select_by_visible_text("Assessment date")
    b.find_element(By.ID, "raise").click()  # no question yet
    _wait(b, lambda d: d.find_elements(By.ID, "e-question"))
    assert b.find_element(By.ID, "e-question").text.startswith("a query needs its question")
    assert Select(b.find_element(By.ID, "q-field")).first_selected_option.text == "Assessment date"
    _shot(b, "query-refused")
    b.find_element(By.ID, "q-question").send_keys("The source document says 4 April: which is right?")
    b.find_element(By.ID, "raise").click()
    wait_for_heading(b, "Data queries")
    with Session(site.world.engine) as session:
        query = session.query(m.DataQuery).filter_by(patient_id=pid).one()
        qid = query.id
    assert b.find_element(By.ID, "query-done").text == f"Query {qid} raised."

    _as(b, server, site, "dm_rot")
    b.get(f"{server}/patients/{pid}")
    wait_for_heading(b, "Patient QB-1")
    row = b.find_element(By.ID, f"patient-query-{qid}").text
    assert "Remission assessment of 3 Apr 2020" in row and "Assessment date" in row and "open" in row
    _shot(b, "query-on-patient-page")
    b.find_element(By.CSS_SELECTOR, f'#patient-query-{qid} a[href="/queries#query-{qid}"]').click()
    wait_for_heading(b, "Data queries")
    row_element = b.find_element(By.ID, f"query-{qid}")
    assert "which is right?" in row_element.text
    row_element.find_element(By.NAME, "answer").send_keys("Checked the source: 4 April.")
    row_element.find_element(By.NAME, "corrected").send_keys("2020-04-04")
    row_element.find_element(By.NAME, "reason").send_keys("source document")
    _shot(b, "query-answer")
    row_element.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    _wait(b, lambda d: d.find_element(By.ID, "query-done").text == f"Query {qid} answered.")

    _as(b, server, site, "mon_rot")
    b.get(f"{server}/queries#query-{qid}")
    wait_for_heading(b, "Data queries")
    row_element = b.find_element(By.ID, f"query-{qid}")
    assert "Checked the source: 4 April." in row_element.text
    assert "Remission assessment of 4 Apr 2020" in row_element.text  # the corrected record
    row_element.find_element(By.NAME, "note").send_keys("Agreed with the source.")
    row_element.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    _wait(b, lambda d: d.find_element(By.ID, "query-done").text == f"Query {qid} closed.")
    b.get(f"{server}/audit?patient=QB-1")
    wait_for_heading(b, "Audit trail")
    audit = b.find_element(By.TAG_NAME, "main").text
    for step in (
        "query raised",
        "query answered with a correction: source document",
        "query closed: Agreed with the source.",
    ):
        assert step in audit
    _shot(b, "query-audit")


def test_a_save_that_makes_a_finding_shows_it(server: str, browser: WebDriver, site: Site) -> None:
    b = browser
    pid, _ = new_patient(site, "QB-2", remission=False)
    _as(b, server, site, "dm_rot")
    b.get(f"{server}/patients/{pid}/records/events/new")
    wait_for_heading(b, "New event of QB-2")
    Select(b.find_element(By.ID, "f-event_type")).select_by_value("relapse")
    b.find_element(By.ID, "f-event_date").send_keys("2020-09-01")
    Select(b.find_element(By.ID, "f-relapse_site")).select_by_value("bone_marrow")
    b.find_element(By.CSS_SELECTOR, "form.entry button[type=submit]").click()
    wait_for_heading(b, "Records of QB-2")
    summary = b.find_element(By.ID, "saved-summary").text
    assert summary.startswith("Saved. ") and summary.endswith("data-quality findings for this patient:")
    findings = b.find_element(By.ID, "saved-findings").text
    assert (
        "error · relapse on 2020-09-01 has no complete remission (CR) assessed before it"
        in findings
    )
    _shot(b, "quality-after-save")
    b.get(f"{server}/quality?check=relapse_without_remission")
    wait_for_heading(b, "Data quality")
    listed = b.find_element(By.ID, "quality-findings").text
    assert "QB-2" in listed and "relapse without remission" in listed and "Event date" in listed
    assert "relapse_without_remission" not in listed and "event_date" not in listed
    _shot(b, "quality-page")
