"""Protocol actions in a real browser (headless Chromium): stratify, randomise with confirmation.

Set ``BASSINET_SCREENSHOTS=DIR`` to keep a screenshot of each page the test passes through.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select
from sqlalchemy.orm import Session

from bassinet.registry import models as m
from tests.web._browser import sign_in as _sign_in
from tests.web._protocol_world import add_protocol_patients, make_key
from tests.web.conftest import Site

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    engine = site.world.engine
    add_protocol_patients(engine)
    key = make_key(engine, tmp_path_factory.mktemp("key"))
    with Session(engine) as session:
        ids = {p.study_id: p.id for p in session.scalars(select(m.Patient))}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BASSINET_RANDOMISATION_KEY", str(key))
        yield ids


def _loaded(b: WebDriver, heading: str) -> None:
    WebDriverWait(b, 30, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: (
            d.execute_script("return document.readyState") == "complete"
            and any(h.text.startswith(heading) for h in d.find_elements(By.TAG_NAME, "h1"))
        )
    )


def _shot(b: WebDriver, name: str) -> None:
    folder = os.environ.get("BASSINET_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        b.set_window_size(1200, 1800)
        b.save_screenshot(str(Path(folder) / f"{name}.png"))


def test_a_clinician_stratifies_randomises_with_confirmation_and_is_refused_a_second_time(
    server: str,
    browser: WebDriver,
    site: Site,
    world: dict[str, int],
) -> None:
    b = browser
    _sign_in(b, server, site, "cli_rot")
    b.get(f"{server}/patients/{world['ROT-HR']}")
    _loaded(b, "Patient ROT-HR")
    assert b.find_element(By.ID, "risk-group").text == "high risk (HR)"
    assert b.find_element(By.ID, "transplant-indication").text == "indicated"
    assert b.find_element(By.ID, "stored-group").text == "No stratification decision stored yet."
    _shot(b, "protocol-panel")
    b.find_element(By.ID, "stratify").click()
    _loaded(b, "Stratify ROT-HR?")
    assert b.find_element(By.ID, "stratify-group").text == "high risk (HR)"
    _shot(b, "protocol-confirm-stratify")
    b.find_element(By.ID, "confirm-stratify").click()
    WebDriverWait(b, 30, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: (
            d.find_element(By.ID, "stored-group").text == "Stored stratification decision: HR (current)."
        )
    )
    b.find_element(By.ID, "randomise").click()
    _loaded(b, "Randomise ROT-HR?")
    assert b.find_element(By.ID, "stratum").text == "HR / DCOG"
    main = b.find_element(By.TAG_NAME, "main").text
    assert "IB" not in main.split() and "ADE_MAE" not in main
    _shot(b, "protocol-confirm")
    b.find_element(By.ID, "confirm-randomise").click()
    _loaded(b, "ROT-HR randomised")
    arm = b.find_element(By.ID, "arm").text
    assert arm in ("IB", "ADE_MAE")
    _shot(b, "protocol-randomised")
    b.find_element(By.ID, "back").click()
    _loaded(b, "Patient ROT-HR")
    assert b.find_element(By.ID, "allocated-arm").text.startswith(f"Randomised: arm {arm}, stratum HR / DCOG")
    assert not b.find_elements(By.ID, "randomise")  # no button: the panel says why not
    why_not = b.find_element(By.ID, "randomise-refusal").text
    assert why_not.startswith(f"Not randomisable now: ROT-HR is not randomised: arm {arm} is already")
    b.get(f"{server}/patients/{world['ROT-HR']}/protocol/randomise")
    _loaded(b, "Not randomised")
    refusal = b.find_element(By.ID, "refusal").text
    assert refusal.startswith(f"ROT-HR is not randomised: arm {arm} is already on record")
    assert refusal.endswith("a patient is randomised once.")
    _shot(b, "protocol-refused")
    b.get(f"{server}/patients/{world['ROT-HR']}/protocol/explain?for=clinician")
    _loaded(b, "ROT-HR: Interfant-06 decisions")
    _shot(b, "protocol-explain-clinician")
    with Session(site.world.engine) as session:
        allocations = session.scalars(
            select(m.Allocation).join(m.Patient).where(m.Patient.study_id == "ROT-HR")
        ).all()
    assert [(a.arm, a.allocated_by) for a in allocations] == [(arm, "cli_rot")]


def test_the_family_letter_prints_on_one_a4_page_with_its_date_centre_and_study_id(
    server: str,
    browser: WebDriver,
    site: Site,
    world: dict[str, int],
) -> None:
    # cold review: the printed letter lacked the date, the centre and the child's study ID
    import base64
    import datetime as dt
    import re

    b = browser
    _sign_in(b, server, site, "cli_rot")
    b.get(f"{server}/patients/{world['ROT-HR']}/protocol/explain?for=family")
    _loaded(b, "About your child")
    today = dt.date.today()
    assert b.find_element(By.ID, "letter-date").text == f"{today.day} {today:%B %Y}"
    assert b.find_element(By.ID, "letter-centre").text == "Rotterdam"
    assert b.find_element(By.ID, "letter-study-id").text == "ROT-HR"
    _shot(b, "protocol-explain-family")
    printed = b.execute_cdp_cmd(  # type: ignore[attr-defined]
        "Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69, "printBackground": False}
    )
    pdf = base64.b64decode(printed["data"])
    folder = os.environ.get("BASSINET_SCREENSHOTS")
    if folder:
        (Path(folder) / "protocol-explain-family.pdf").write_bytes(pdf)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1  # one A4 page per letter
    assert b"/MediaBox [0 0 595" in pdf  # A4 width in points (595.3)
