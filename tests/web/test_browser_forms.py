"""The entry forms in a real browser (headless Chromium): an infant entered, a mistake seen and fixed.

Screenshots of the forms are written to ``$BASSINET_SCREENSHOTS`` when set (else to the
test's temporary folder), to be looked at: the error must stand beside its field.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.web._browser import sign_in as _sign_in
from tests.web.conftest import Site

pytestmark = pytest.mark.slow


def _shot(b: WebDriver, folder: Path, name: str) -> Path:
    height = int(b.execute_script("return document.documentElement.scrollHeight"))
    b.set_window_size(1100, max(700, height + 120))
    path = folder / name
    assert b.save_screenshot(str(path)), f"no screenshot written to {path}"
    return path


def _fill(b: WebDriver, values: dict[str, str]) -> None:
    for name, value in values.items():
        element = b.find_element(By.ID, f"f-{name}")
        if element.tag_name == "select":
            Select(element).select_by_value(value)
        else:
            element.clear()
            element.send_keys(value)


def _heading(b: WebDriver, heading: str, *, after: WebElement | None = None) -> None:
    """Wait until the page whose first heading starts with ``heading`` is in place (and
    ``after``, an element of the page left, is gone: the URL changes before the new page is in)."""

    def arrived(d: WebDriver) -> bool:
        if after is not None:
            try:
                after.is_enabled()
                return False  # still the old page
            except StaleElementReferenceException:
                pass
        if d.execute_script("return document.readyState") != "complete":
            return False
        return any(h.text.startswith(heading) for h in d.find_elements(By.TAG_NAME, "h1"))

    WebDriverWait(b, 30, ignored_exceptions=(StaleElementReferenceException,)).until(arrived)


def _click(b: WebDriver, element: WebElement, heading: str) -> None:
    element.click()
    _heading(b, heading, after=element)


def _submit(b: WebDriver, heading: str) -> None:
    _click(b, b.find_element(By.CSS_SELECTOR, "form.entry button[type=submit]"), heading)


def test_a_data_manager_enters_an_infant_fixes_a_mistake_and_adds_a_remission(
    server: str,
    browser: WebDriver,
    site: Site,
    tmp_path: Path,
) -> None:
    folder = Path(os.environ.get("BASSINET_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    b = browser
    _sign_in(b, server, site, "dm_rot")
    _click(b, b.find_element(By.ID, "new-patient"), "New patient")
    _fill(
        b,
        {
            "study_id": "WEB-1",
            "centre": "Rotterdam",
            "sex": "M",
            "date_of_birth": "2020-05-10",
            "diagnosis_date": "2021-06-01",  # the mistake: after the first birthday
            "leukemia_type": "ALL",
            "kmt2a_status": "rearranged",
            "wbc": "320",
            "last_contact_date": "2021-09-01",
            "vital_status": "alive",
        },
    )
    _submit(b, "New patient")
    error = b.find_element(By.ID, "e-diagnosis_date")
    assert error.text == (
        "is not before the first birthday (2021-05-10, from date_of_birth "
        "2020-05-10): the registry holds infants only"
    )
    field = b.find_element(By.ID, "f-diagnosis_date")
    assert field.get_attribute("value") == "2021-06-01"  # what was typed is kept
    assert field.get_attribute("aria-invalid") == "true"
    # the message stands beside its field: directly below it, in the same column
    assert 0 <= error.location["y"] - field.location["y"] < 120
    assert b.find_element(By.ID, "f-wbc").get_attribute("value") == "320"
    shot = _shot(b, folder, "form-new-patient-error.png")
    assert shot.stat().st_size > 10_000

    _fill(b, {"diagnosis_date": "2020-11-02"})
    _submit(b, "Records of WEB-1")
    _click(b, b.find_element(By.LINK_TEXT, "Add a remission assessment"), "New remission assessment")
    _fill(b, {"time_point": "end_of_induction", "assessment_date": "2020-10-01", "status": "CR"})
    _submit(b, "New remission assessment of WEB-1")
    error = b.find_element(By.ID, "e-assessment_date")
    assert error.text == "is before 'diagnosis_date' (2020-11-02)"
    _shot(b, folder, "form-remission-error.png")
    _fill(b, {"assessment_date": "2020-12-15"})
    _submit(b, "Records of WEB-1")
    cells = [td.text for td in b.find_elements(By.CSS_SELECTOR, "section[aria-labelledby=k-remissions] td")]
    assert cells[:3] == ["end of induction", "2020-12-15", "complete remission"]
    _shot(b, folder, "form-records.png")
    _click(b, b.find_element(By.LINK_TEXT, "Patient page"), "Patient WEB-1")
    assert b.find_element(By.TAG_NAME, "h1").text == "Patient WEB-1"
    assert b.find_element(By.ID, "enter-records").text == "Enter or correct records"
