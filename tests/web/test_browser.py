"""The pages in a real browser: headless Chromium (selenium) against uvicorn on a free port."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from bassinet.web import create_app
from tests.access.conftest import PASSWORD
from tests.web.conftest import Site

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(site: Site) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(create_app(site.url), host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(10)


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    driver = shutil.which("chromedriver")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert driver and binary, (
        "chromium and chromedriver are needed (apt-get install chromium chromium-driver)"
    )
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.binary_location = binary
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    yield chrome
    chrome.quit()


def _sign_in(browser: WebDriver, base: str, site: Site, username: str) -> None:
    b = browser
    b.get(base + "/patients")
    assert "/login" in b.current_url
    b.find_element(By.ID, "username").send_keys(username)
    b.find_element(By.ID, "password").send_keys(PASSWORD)
    b.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    if "/login/code" in b.current_url:
        b.find_element(By.ID, "code").send_keys(site.code_for(username))
        b.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    # The URL changes before the new page is in place: wait for the patient list itself, so
    # that no assertion reads the sign-in page's document on a slow machine.
    WebDriverWait(b, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
        and any(h.text == "Patients" for h in d.find_elements(By.TAG_NAME, "h1"))
    )
    assert b.current_url.endswith("/patients"), b.current_url


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
