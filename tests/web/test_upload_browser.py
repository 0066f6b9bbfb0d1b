"""The upload-import page in a real browser (headless Chromium): dry run, then import.

Set ``BASSINET_SCREENSHOTS=DIR`` to keep a screenshot of the dry run and of the result.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import select
from sqlalchemy.orm import Session

from bassinet.registry import models as m
from tests.web._browser import sign_in as _sign_in
from tests.web.conftest import Site
from tests.web.test_protocol_browser import _loaded, _shot
from tests.web.test_upload_pages import FORMULA, MARKUP, _csv, _known, patient

pytestmark = pytest.mark.slow


def test_a_data_manager_checks_a_file_sees_the_dry_run_and_imports_it(
    server: str,
    browser: WebDriver,
    site: Site,
    tmp_path: Path,
) -> None:
    upload = tmp_path / "centre-export.csv"
    upload.write_bytes(
        _csv(
            [
                patient("WEB-1"),
                _known("ROT-2", wbc="88"),
                patient("WEB-2", wbc="9999"),
                patient("WEB-3", centre="Utrecht"),
                patient("WEB-4", sex=MARKUP, wbc=FORMULA),
            ]
        )
    )
    b = browser
    _sign_in(b, server, site, "dm_rot")
    b.find_element(By.LINK_TEXT, "Upload").click()
    _loaded(b, "Upload import")
    b.find_element(By.CSS_SELECTOR, "#kind-patients summary strong").click()  # what the file holds
    assert "one of M (male), F (female)" in b.find_element(By.ID, "kind-patients").text
    _shot(b, "upload-form")
    b.find_element(By.ID, "patients").send_keys(str(upload))
    b.find_element(By.ID, "dry-run").click()
    _loaded(b, "Dry run of centre-export.csv")
    added = [r.text for r in b.find_elements(By.CSS_SELECTOR, "#added tbody td:first-child")]
    assert added == ["WEB-1"]
    changed = [c.text for c in b.find_elements(By.CSS_SELECTOR, "#changed tbody td")]
    assert changed == ["ROT-2", "patient", "wbc", "empty", "88.0"]
    rules = [c.text for c in b.find_elements(By.CSS_SELECTOR, "#refused tbody td:last-child")]
    assert "is not a centre you may import for (yours: Rotterdam)" in rules
    assert MARKUP in [c.text for c in b.find_elements(By.CSS_SELECTOR, "#refused tbody td")]  # as text
    assert not b.find_elements(By.CSS_SELECTOR, "#refused img")
    _shot(b, "upload-dry-run")
    b.find_element(By.ID, "confirm-import").click()
    _loaded(b, "Imported centre-export.csv")
    assert b.find_element(By.ID, "quarantine-link").get_attribute("href").endswith("/quarantine.csv")
    assert b.find_element(By.ID, "quarantine-link").text == "centre-export-quarantine.csv"  # not a path
    _shot(b, "upload-imported")
    with Session(site.world.engine) as session:
        names = set(session.scalars(select(m.Patient.study_id).where(m.Patient.study_id.like("WEB-%"))))
        rot2 = session.scalars(select(m.Patient.wbc).where(m.Patient.study_id == "ROT-2")).one()
    assert names == {"WEB-1"} and rot2 == 88.0
