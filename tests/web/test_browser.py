"""The pages in a real browser: headless Chromium (selenium) against uvicorn on a free port."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.web._browser import sign_in as _sign_in
from tests.web.conftest import Site

pytestmark = pytest.mark.slow


def test_a_clinician_sees_only_the_centre_and_opens_a_patient(
    server: str, browser: WebDriver, site: Site
) -> None:
    b = browser
    _sign_in(b, server, site, "cli_rot")
    cells = [e.text for e in b.find_elements(By.CSS_SELECTOR, "tbody td:nth-child(2)")]
    assert cells and set(cells) == {"Rotterdam"}
    b.find_element(By.LINK_TEXT, "ROT-1").click()
    assert b.find_element(By.TAG_NAME, "h1").text == "Patient ROT-1"
    assert "Timeline" in b.page_source
    # the escaped patient's page shows its ID as text, and no script ran (no alert is open)
    b.get(f"{server}/patients/{site.patient_ids['<script>alert(1)</script>']}")
    assert b.find_element(By.TAG_NAME, "h1").text == "Patient <script>alert(1)</script>"


def test_a_statistician_signs_in_with_totp_and_sees_every_centre(
    server: str, browser: WebDriver, site: Site
) -> None:
    b = browser
    _sign_in(b, server, site, "stat")
    centres = {e.text for e in b.find_elements(By.CSS_SELECTOR, "tbody td:nth-child(2)")}
    assert {"Rotterdam", "Utrecht", "Monza"} <= centres
    b.get(server + "/")
    figures = b.find_elements(By.CSS_SELECTOR, "figure svg")
    assert len(figures) == 2 and all(f.size["width"] > 200 for f in figures)
