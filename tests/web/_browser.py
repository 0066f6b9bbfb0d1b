"""The browser tests' machinery: headless Chromium (selenium) against uvicorn on a free port."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from bassinet.web import create_app
from tests.access.conftest import PASSWORD
from tests.web._api_world import LiveServer
from tests.web.conftest import Site


@pytest.fixture(scope="module")
def server(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The site's web application served by uvicorn; its reports go to a folder of the test's."""
    app = create_app(site.url)
    app.state.reports_dir = tmp_path_factory.mktemp("reports")
    with LiveServer(app) as running:
        yield running.url
    runner = getattr(app.state, "report_jobs", None)
    if runner is not None:
        runner.shutdown()


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


def wait_for_heading(browser: WebDriver, text: str, timeout: float = 30) -> None:
    """Wait until the page in place is loaded and has an ``<h1>`` reading ``text``."""
    WebDriverWait(browser, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: (
            d.execute_script("return document.readyState") == "complete"
            and any(h.text == text for h in d.find_elements(By.TAG_NAME, "h1"))
        )
    )


def sign_in(browser: WebDriver, base: str, site: Site, username: str) -> None:
    """Sign in through the pages (the code too, where the account has one); lands on the patient list."""
    b = browser
    b.get(base + "/patients")
    assert "/login" in b.current_url
    b.find_element(By.ID, "username").send_keys(username)
    b.find_element(By.ID, "password").send_keys(PASSWORD)
    b.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    # The password step answers with the code page or the patient list: wait for either, so
    # that a slow machine's old URL is not taken for "no code asked".
    WebDriverWait(b, 30).until(lambda d: "/login/code" in d.current_url or "/login" not in d.current_url)
    if "/login/code" in b.current_url:
        b.find_element(By.ID, "code").send_keys(site.code_for(username))
        b.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    # The URL changes before the new page is in place: wait for the patient list itself, so
    # that no assertion reads the sign-in page's document on a slow machine.
    wait_for_heading(b, "Patients")
    assert b.current_url.endswith("/patients"), b.current_url
