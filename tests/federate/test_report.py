"""The pooled report says it is pooled and escapes what came from the site files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from bassinet.endpoints import ClinicalRecords
from bassinet.federate import FederatedPlan, combine, render_pooled_html, summarise, write_pooled_report
from bassinet.federate._messages import dumps


def test_a_site_name_with_markup_is_shown_as_text(
    day_plan: FederatedPlan, interfant: ClinicalRecords, tmp_path: Path
) -> None:
    site = interfant.subset(interfant.patients["study_id"].iloc[:80])
    message = json.loads(dumps(summarise(day_plan, site, "<script>alert(1)</script>")[0]))
    result = combine([("x.json", message)])
    page = render_pooled_html(result)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "pooled from 1 site, no patient rows" in page
    paths = write_pooled_report(result, tmp_path, "p")
    assert [p.name for p in paths] == ["p.html", "p.json"]
    data = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    assert data["banner"] == "pooled from 1 site, no patient rows"
    assert data["sites"] == ["<script>alert(1)</script>"]
    assert "nan" not in page.lower()


def test_the_pooled_report_says_the_disclosure_rules_behind_its_numbers(
    make_plan: Callable[..., FederatedPlan], interfant: ClinicalRecords, tmp_path: Path
) -> None:
    # Tried as a user: the pooled page showed 6-year EFS without a word on the rounded
    # and merged times, so a statistician comparing it with the central report could not
    # tell why (or by how much) the numbers differ.
    fplan = make_plan(time_unit="week", min_cell=5, min_group=10)
    site = interfant.subset(interfant.patients["study_id"].iloc[:200])
    result = combine([("x.json", json.loads(dumps(summarise(fplan, site, "X")[0])))])
    rules = (
        "Times rounded up to the end of each week; at each site, counts below 5 carried to a later "
        "time (a remainder at the end to an earlier one); groups under 10 patients refused. The "
        "estimates are those of a central analysis of the rows with these times."
    )
    assert result.rules == rules
    write_pooled_report(result, tmp_path, "p")
    assert f"Disclosure rules: {rules}" in (tmp_path / "p.html").read_text(encoding="utf-8")
    assert json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))["rules"] == rules
