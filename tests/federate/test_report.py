"""The pooled report says it is pooled, by what rules, and escapes what came from the site files."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bassinet.endpoints import ClinicalRecords
from bassinet.federate import FederatedPlan, pooled_report, summarise, write_pooled_report
from bassinet.federate._messages import dumps


def test_a_site_name_with_markup_is_shown_as_text(
    day_plan: FederatedPlan, interfant: ClinicalRecords, tmp_path: Path
) -> None:
    site = interfant.subset(interfant.patients["study_id"].iloc[:80])
    message = json.loads(dumps(summarise(day_plan, site, "<script>alert(1)</script>")[0]))
    result = pooled_report([("x.json", message)])
    files = write_pooled_report(result, tmp_path, "p", pdf=False)
    assert (files.html.name, files.json.name, files.pdf) == ("p.html", "p.json", None)
    page = files.html.read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Pooled from 1 site, no patient rows (&lt;script&gt;" in page
    text = files.json.read_text(encoding="utf-8")
    # strict JSON: a number that cannot be estimated is null (Python's json would read NaN, others not)
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in the pooled JSON"))
    assert "NaN" not in text and "Infinity" not in text
    assert data["pooled"].startswith("Pooled from 1 site, no patient rows (<script>alert(1)</script>).")
    assert not re.search(r"\bnan\b", page, flags=re.I)


def test_the_pooled_report_says_the_disclosure_rules_behind_its_numbers(
    make_plan: Callable[..., FederatedPlan], interfant: ClinicalRecords, tmp_path: Path
) -> None:
    # Tried as a user: the pooled page showed 6-year EFS without a word on the rounded
    # and merged times, so a statistician comparing it with the central report could not
    # tell why (or by how much) the numbers differ.
    fplan = make_plan(time_unit="week", min_cell=5, min_group=10)
    site = interfant.subset(interfant.patients["study_id"].iloc[:200])
    result = pooled_report([("x.json", json.loads(dumps(summarise(fplan, site, "X")[0])))])
    rules = (
        "Times rounded up to the end of each week; at each site, counts below 5 carried to a later "
        "time (a remainder at the end to an earlier one); groups under 10 patients refused. The "
        "estimates are those of a central analysis of the rows with these times."
    )
    assert result.pooled == f"Pooled from 1 site, no patient rows (X). {rules}"
    files = write_pooled_report(result, tmp_path, "p", pdf=False)
    assert result.pooled in files.html.read_text(encoding="utf-8")
    assert json.loads(files.json.read_text(encoding="utf-8"))["pooled"] == result.pooled
