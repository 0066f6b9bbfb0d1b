"""The study report: every figure renders in headless Chromium, the PDF has pages with ink,
the JSON holds the numbers, and the ADaM files open in pandas and as SAS transport.

The browser and pdftoppm come from Debian (chromium, chromium-driver, poppler-utils);
without them these tests skip, unless ``BASSINET_REQUIRE_BROWSER=1`` (as in CI).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from bassinet.application import local_operator
from bassinet.application.reports import run_report
from bassinet.plans import shipped_plan


def require(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        message = f"{tool} is not installed: apt-get install chromium chromium-driver poppler-utils"
        if os.environ.get("BASSINET_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def reports(cohort_registry_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    folder = tmp_path_factory.mktemp("reports")
    return {
        name: run_report(local_operator("tester"), cohort_registry_url, shipped_plan(name), folder).paths
        for name in ("interfant06", "hsct-infants")
    }


@pytest.mark.parametrize("name", ["interfant06", "hsct-infants"])
def test_every_figure_renders_in_headless_chromium(reports: dict[str, list[Path]], name: str) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    driver_path = require("chromedriver")
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary:
        options.binary_location = binary
    browser = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        html = next(p for p in reports[name] if p.suffix == ".html")
        browser.get(html.resolve().as_uri())
        figures = browser.execute_script(
            """
            return Array.from(document.querySelectorAll('figure.report-figure')).map(f => {
              const svg = f.querySelector('svg');
              if (!svg) return {id: f.dataset.analysis, width: 0, height: 0, marks: 0};
              const box = svg.getBoundingClientRect();
              return {id: f.dataset.analysis, width: box.width, height: box.height,
                      marks: svg.querySelectorAll('path, use').length};
            });
            """
        )
    finally:
        browser.quit()
    results = json.loads(next(p for p in reports[name] if p.suffix == ".json").read_text())
    expected = sum((a["figure"] and bool(a["groups"])) + bool(a["model"]) for a in results["analyses"])
    assert len(figures) == expected > 0
    for figure in figures:
        assert figure["width"] > 100 and figure["height"] > 100, figure
        assert figure["marks"] > 10, figure  # curves, ticks and marks were drawn


@pytest.mark.parametrize("name", ["interfant06", "hsct-infants"])
def test_the_pdf_pages_turn_into_images_with_ink(
    reports: dict[str, list[Path]], name: str, tmp_path: Path
) -> None:
    pdftoppm = require("pdftoppm")
    pdf = next(p for p in reports[name] if p.suffix == ".pdf")
    subprocess.run([pdftoppm, "-r", "40", "-gray", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.pgm"))
    assert len(pages) >= 3
    for page in pages:
        _, _, data = page.read_bytes().partition(b"255\n")
        ink = sum(1 for byte in data if byte < 128)
        least = 500 if page != pages[-1] else 150  # the last page may hold a paragraph and the footer
        assert ink > least, page.name  # text and figures, not a blank page


def test_the_json_results_carry_every_analysis_with_its_numbers(reports: dict[str, list[Path]]) -> None:
    results = json.loads(next(p for p in reports["hsct-infants"] if p.suffix == ".json").read_text())
    ids = [a["id"] for a in results["analyses"]]
    assert ids == [
        "os_all",
        "aml_status",
        "aml_mrd",
        "aml_donor",
        "all_status",
        "all_mrd",
        "all_donor",
        "all_kmt2a",
        "cir_type",
        "nrm_type",
        "grfs_all",
        "agvhd_2_4",
        "agvhd_3_4",
        "cgvhd_all",
    ]
    aml = results["analyses"][1]
    assert [g["label"] for g in aml["groups"]] == ["CR1", "CR2 or later", "no remission"]
    assert [g["n"] for g in aml["groups"]] == [66, 7, 8]
    assert 0 < aml["test"]["p_value"] < 1
    assert len(results["plan_sha256"]) == len(results["data_sha256"]) == 64


def test_the_adtte_export_opens_in_pandas_and_as_sas_transport(reports: dict[str, list[Path]]) -> None:
    adtte = next(p for p in reports["interfant06"] if p.name.endswith("-adtte.xpt"))
    adsl = next(p for p in reports["interfant06"] if p.name.endswith("-adsl.xpt"))
    frame, meta = pyreadstat.read_xport(str(adtte))
    assert meta.table_name == "ADTTE"
    assert {"STUDYID", "USUBJID", "PARAMCD", "AVAL", "CNSR", "STARTDT", "ADT"} <= set(frame.columns)
    # one parameter per endpoint and origin the plan analyses: DFS, CIR and NRM from randomisation too
    assert set(frame["PARAMCD"]) == {"OS", "EFS", "DFS", "DFSRND", "CIRRND", "NRMRND", "TRM"}
    assert set(frame["CNSR"].astype(int)) <= {0, 1, 2}
    subjects, _ = pyreadstat.read_xport(str(adsl))
    assert len(subjects) == 651 and subjects["USUBJID"].is_unique
    sas = pd.read_sas(adtte, format="xport", encoding="utf-8")
    assert len(sas) == len(frame)
