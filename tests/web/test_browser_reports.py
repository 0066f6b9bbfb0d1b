"""Reports in a real browser: a trial statistician runs a shipped plan from the reports page,
follows its progress, opens the report and its PDF; a clinician of one centre is refused.

Headless Chromium (selenium) against uvicorn, on each store. The plan is Interfant-06's,
run over the site's registry, whose patients are put on Interfant-06 (the plan's
population); the statistician's scope is the whole study: every patient.
Set ``BASSINET_SCREENSHOTS`` to a folder to keep a screenshot of each page looked at.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select

from bassinet.plans import load_plan, shipped_plan
from bassinet.registry import models as m
from bassinet.registry import registry_session
from tests.web._browser import sign_in, wait_for_heading
from tests.web.conftest import Site

pytestmark = pytest.mark.slow

PLAN = "interfant06"


@pytest.fixture(scope="module", autouse=True)
def interfant06_patients(site: Site) -> int:
    """Every patient of this module's site treated on Interfant-06 (the plan's population), ten
    years earlier (before the plan's cut-off): how many."""
    with registry_session(site.world.engine, actor="test setup") as session:
        patients = list(session.scalars(select(m.Patient)))
        for patient in patients:
            patient.protocol = "Interfant-06"
            for name in ("date_of_birth", "diagnosis_date", "last_contact_date"):
                day = getattr(patient, name)
                setattr(patient, name, day.replace(year=day.year - 10))
    return len(patients)


def _snap(b: WebDriver, name: str) -> None:
    folder = os.environ.get("BASSINET_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        b.save_screenshot(str(Path(folder) / f"{name}.png"))


T = TypeVar("T")


def _steady(read: Callable[[], T]) -> T:
    """``read()`` of the job page, again if the page reloaded itself between finding and reading."""
    for _ in range(20):
        try:
            return read()
        except (StaleElementReferenceException, NoSuchElementException):
            time.sleep(0.25)
    return read()


def _status(b: WebDriver) -> str:
    return _steady(lambda: str(b.find_element(By.ID, "status").text))


def test_a_statistician_runs_a_shipped_plan_follows_it_and_opens_the_report_and_its_pdf(
    server: str, browser: WebDriver, site: Site, interfant06_patients: int
) -> None:
    b = browser
    sign_in(b, server, site, "stat")  # a study-wide role: the sign-in asked for a TOTP code
    b.find_element(By.LINK_TEXT, "Reports").click()
    wait_for_heading(b, "Reports")
    Select(b.find_element(By.ID, "plan")).select_by_value(PLAN)
    _snap(b, "reports-list")
    b.find_element(By.XPATH, "//form[.//select[@id='plan']]//button[normalize-space()='Run']").click()

    # The job's page: its progress is shown, and it refreshes itself until the report is done.
    WebDriverWait(b, 30).until(lambda d: re.search(r"/reports/\d+$", d.current_url) is not None)
    job_id = int(b.current_url.rsplit("/", 1)[1])
    wait_for_heading(b, f"Report #{job_id}: {load_plan(shipped_plan(PLAN)).plan.title}")
    first = _status(b)
    progress = _steady(lambda: int(b.find_element(By.ID, "progress").get_attribute("value") or -1))
    assert 0 <= progress <= 100
    if not first.startswith("done"):
        assert first.split(":")[0] in ("queued", "running")
        assert "refreshes every 2 seconds" in b.page_source
        _snap(b, "report-running")
    deadline = time.monotonic() + 600
    while not _status(b).startswith(("done", "failed")):  # the page reloads itself; no click
        assert time.monotonic() < deadline, "the report did not finish in 10 minutes"
        time.sleep(1)
        WebDriverWait(b, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
    assert _status(b) == "done", b.find_element(By.TAG_NAME, "main").text
    assert b.find_element(By.ID, "progress").get_attribute("value") == "100"
    assert "refreshes every 2 seconds" not in b.page_source
    hashes = [c.text for c in b.find_elements(By.CSS_SELECTOR, "dd code")]
    assert len(hashes) == 2 and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)
    _snap(b, "report-done")

    # Open the report's HTML: its title, and the number of patients in its first table.
    pdf_url = b.find_element(
        By.XPATH, f"//li[starts-with(normalize-space(), '{PLAN}.pdf')]/a[1]"
    ).get_attribute("href")
    b.find_element(By.XPATH, f"//li[starts-with(normalize-space(), '{PLAN}.html')]/a[1]").click()
    title = load_plan(shipped_plan(PLAN)).plan.title
    WebDriverWait(b, 30, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: title in [h.text for h in d.find_elements(By.TAG_NAME, "h1")]
    )
    assert b.title.endswith(title)
    patients = interfant06_patients
    captions = [c.text for c in b.find_elements(By.TAG_NAME, "caption")]
    assert captions and captions[0].startswith(f"Table 1. Characteristics of the {patients} patients")
    _snap(b, "report-html")

    # Its PDF link, opened with the browser's session: a PDF.
    assert pdf_url is not None and pdf_url.startswith(f"{server}/reports/{job_id}/files/")
    cookies = {c["name"]: c["value"] for c in b.get_cookies()}
    pdf = httpx.get(pdf_url, cookies=cookies, timeout=60)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    # ... and not without it
    assert httpx.get(pdf_url, timeout=60).status_code == 303

    # The report is in the list, with its plan.
    b.get(server + "/reports")
    wait_for_heading(b, "Reports")
    row = b.find_element(By.XPATH, f"//a[normalize-space()='#{job_id}']/ancestor::tr")
    assert row.find_elements(By.TAG_NAME, "td")[1].text == PLAN


def test_a_clinician_of_one_centre_sees_no_run_button_and_is_refused_the_reports_page(
    server: str, browser: WebDriver, site: Site
) -> None:
    b = browser
    sign_in(b, server, site, "cli_rot")
    menu = {a.text for a in b.find_elements(By.CSS_SELECTOR, "nav[aria-label=Main] a")}
    assert "Patients" in menu and "Reports" not in menu
    assert b.find_elements(By.XPATH, "//button[normalize-space()='Run']") == []
    b.get(server + "/reports")
    wait_for_heading(b, "Not allowed")
    assert (
        b.find_element(By.CSS_SELECTOR, "p.error[role=alert]").text
        == "Your role does not allow running reports."
    )
    assert b.find_elements(By.XPATH, "//button[normalize-space()='Run']") == []
    assert b.find_elements(By.ID, "plan") == []
    _snap(b, "clinician-refused")
