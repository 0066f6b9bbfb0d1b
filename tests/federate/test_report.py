"""The pooled report says it is pooled and escapes what came from the site files."""

from __future__ import annotations

import json
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
