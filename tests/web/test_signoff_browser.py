"""Monitoring sign-off in a real browser (headless Chromium): a monitor verifies fields and locks
the casebook; the data manager's edit is refused beside the field; the monitor unlocks with a
reason; the investigator signs (a wrong password refused first); the data manager's edit voids
the signature and the SDV mark of that field, visibly.

Set ``BASSINET_SCREENSHOTS=DIR`` to keep a screenshot of each step.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select
from sqlalchemy.orm import Session

from bassinet.access.accounts import add_user, grant_role
from bassinet.registry import models as m
from tests.access.conftest import PASSWORD
from tests.web._browser import sign_in, wait_for_heading
from tests.web.conftest import Site

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def investigator(site: Site) -> str:
    with Session(site.world.engine) as session, session.begin():
        add_user(session, "inv_rot", PASSWORD, actor="test")
        grant_role(session, "inv_rot", "investigator", actor="test", centre="Rotterdam")
        session.scalars(
            select(m.User).where(m.User.username == "inv_rot")
        ).one().full_name = "Dr A. Investigator"
    return "inv_rot"


def _wait(b: WebDriver, check: object) -> None:
    WebDriverWait(b, 30, ignored_exceptions=(StaleElementReferenceException,)).until(check)  # type: ignore[arg-type]


def _shot(b: WebDriver, name: str) -> None:
    folder = os.environ.get("BASSINET_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        b.set_window_size(1200, 1800)
        b.save_screenshot(str(Path(folder) / f"{name}.png"))


def _as(b: WebDriver, server: str, site: Site, username: str) -> None:
    b.delete_all_cookies()
    sign_in(b, server, site, username)


def _patient(b: WebDriver, server: str, pid: int) -> None:
    b.get(f"{server}/patients/{pid}")
    wait_for_heading(b, "Patient ROT-1")


def _sdv(b: WebDriver, field: str) -> str:
    return b.find_element(By.ID, f"sdv-patient-{field}").find_elements(By.TAG_NAME, "td")[3].text


def _edit_wbc(b: WebDriver, server: str, pid: int, value: str) -> None:
    b.get(f"{server}/patients/{pid}/edit")
    wait_for_heading(b, "Correct patient ROT-1")
    box = b.find_element(By.ID, "f-wbc")
    box.clear()
    box.send_keys(value)
    b.find_element(By.ID, "f-reason").send_keys("lab sheet re-read")
    b.find_element(By.CSS_SELECTOR, "form.entry button[type=submit]").click()


def test_the_investigator_signs_and_an_edit_voids_the_signature(
    server: str, browser: WebDriver, site: Site, investigator: str
) -> None:
    b, pid = browser, site.patient_ids["ROT-1"]
    _as(b, server, site, "mon_rot")
    _patient(b, server, pid)
    assert b.find_element(By.ID, "signature-none").text == "Not signed."
    for field in ("wbc", "sex"):
        b.find_element(By.CSS_SELECTOR, f"input[name=verified][value='patient|{field}']").click()
    b.find_element(By.ID, "save-sdv").click()
    _wait(b, lambda d: _sdv(d, "wbc").startswith("verified by mon_rot"))
    assert _sdv(b, "sex").startswith("verified by mon_rot")
    assert _sdv(b, "diagnosis_date").startswith("not verified")
    b.find_element(By.ID, "lock-reason").send_keys("monitoring visit 1")
    b.find_element(By.ID, "lock").click()
    _wait(b, lambda d: d.find_element(By.ID, "lock-state").text.startswith("Locked by mon_rot"))
    assert "monitoring visit 1" in b.find_element(By.ID, "lock-state").text
    _shot(b, "signoff-1-monitor-verified-and-locked")

    _as(b, server, site, "dm_rot")
    _edit_wbc(b, server, pid, "123")
    _wait(b, lambda d: d.find_elements(By.ID, "e-wbc"))
    refusal = b.find_element(By.ID, "e-wbc").text
    assert "patient ROT-1, record patient, field wbc" in refusal
    assert "locked by mon_rot on" in refusal and refusal.endswith("unlock with a reason first")
    _shot(b, "signoff-2-edit-refused-while-locked")

    _as(b, server, site, "mon_rot")
    _patient(b, server, pid)
    b.find_element(By.ID, "unlock-reason").send_keys("a value to correct after the visit")
    b.find_element(By.ID, "unlock").click()
    _wait(b, lambda d: d.find_element(By.ID, "lock-state").text == "Not locked.")

    _as(b, server, site, investigator)
    _patient(b, server, pid)
    b.find_element(By.ID, "sign-link").click()
    wait_for_heading(b, "Sign the casebook of ROT-1")
    assert b.find_element(By.ID, "meaning").text.startswith("By signing I confirm that I have reviewed")
    b.find_element(By.ID, "password").send_keys("not my password")
    b.find_element(By.ID, "sign").click()
    _wait(b, lambda d: d.find_elements(By.ID, "sign-error"))
    assert b.find_element(By.ID, "sign-error").text.endswith("the password is not correct")
    _shot(b, "signoff-3-sign-page-wrong-password")
    b.find_element(By.ID, "password").send_keys(PASSWORD)
    b.find_element(By.ID, "sign").click()
    wait_for_heading(b, "Patient ROT-1")
    assert b.find_element(By.ID, "signature-current").text.startswith(
        "Signed by Dr A. Investigator (inv_rot) on "
    )
    _shot(b, "signoff-4-signed")

    _as(b, server, site, "dm_rot")
    _edit_wbc(b, server, pid, "123")
    _wait(b, lambda d: "/edit" not in d.current_url or d.find_elements(By.ID, "form-problems"))
    assert not b.find_elements(By.ID, "form-problems")
    _patient(b, server, pid)
    voided = b.find_element(By.CSS_SELECTOR, ".signature.voided").text
    assert voided.startswith("Signed by Dr A. Investigator (inv_rot) on ")
    assert "Signature voided on " in voided and voided.endswith("by dm_rot after a change: lab sheet re-read")
    assert not b.find_elements(By.ID, "signature-current")
    assert _sdv(b, "wbc").startswith("not verified") and _sdv(b, "sex").startswith("verified by mon_rot")
    _shot(b, "signoff-5-signature-voided-after-edit")
    with Session(site.world.engine) as session:
        signatures = session.scalars(select(m.CasebookSignature)).all()
    assert [(s.signed_by, s.voided_by, s.void_reason) for s in signatures] == [
        ("inv_rot", "dm_rot", "lab sheet re-read")
    ]
