"""The pooled report is the central report: same writer, same numbers, same tables.

The simulated Interfant-06 cohort is split into its study groups; each group's file is
made from that group's records alone and sent as JSON text. The coordinator builds the
plan's result objects from the files and hands them to :func:`bassinet.report.write_report`,
the writer of ``bassinet report``. With the time unit at one day and no merging, every
number of every pooled analysis (Kaplan–Meier, Aalen–Johansen, log-rank, Gray, the
two-group hazard ratios, Mantel–Byar with Simon–Makuch curves and the time-dependent
hazard ratio, the landmark analyses, the median follow-up, the patient flow) equals the
central run's to 1e-10, and the report's tables read the same.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bassinet.endpoints import ClinicalRecords
from bassinet.errors import DataError
from bassinet.federate import (
    FederatedPlan,
    analysis_rows,
    check_answers,
    pooled_report,
    start_cox,
    step_cox,
    summarise,
    write_pooled_report,
)
from bassinet.federate._cox import answer_cox_round
from bassinet.federate._messages import dumps
from bassinet.plans import PlanResult
from bassinet.plans._exposure import exposure_analysis, landmark_analysis
from bassinet.report import render_html
from tests.federate.conftest import Sites, split_at_random, split_by_group, split_with_tiny_sites

RTOL = 1e-10
COX = ("dfs_multivariable", "efs_protocol_adjusted", "efs_protocol_adjusted_original")


def files_of(fplan: FederatedPlan, sites: Sites) -> list[tuple[str, Any]]:
    out = []
    for name, records in sites.items():
        message, _ = summarise(fplan, records, name)
        out.append((f"{name}.json", json.loads(dumps(message))))
    return out


def cox_over_files(fplan: FederatedPlan, sites: Sites, files: list[tuple[str, Any]], analysis: str) -> Any:
    round_message = json.loads(dumps(start_cox(fplan, analysis, [m for _, m in files])))
    while round_message["kind"].endswith("round"):
        answers = [
            (name, json.loads(dumps(answer_cox_round(fplan, records, name, round_message))))
            for name, records in sites.items()
        ]
        check_answers(round_message, answers)
        round_message = json.loads(dumps(step_cox(round_message, answers)))
    return round_message


@pytest.fixture(scope="module")
def by_group(day_plan: FederatedPlan, interfant: ClinicalRecords) -> tuple[Sites, list[tuple[str, Any]]]:
    sites = split_by_group(interfant)
    return sites, files_of(day_plan, sites)


@pytest.fixture(scope="module")
def pooled(day_plan: FederatedPlan, by_group: tuple[Sites, list[tuple[str, Any]]]) -> PlanResult:
    sites, files = by_group
    fits = []
    for analysis in COX:
        try:
            fits.append(cox_over_files(day_plan, sites, files, analysis))
        except DataError as exc:  # one protocol in this cohort: the central run cannot fit it either
            assert "one value only" in str(exc)
    assert [f["analysis"] for f in fits] == ["dfs_multivariable"]
    return pooled_report(files, fits)


def numbers(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every leaf of a result as ``(path, value)``, floats kept as floats."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [
            x for f in dataclasses.fields(value) for x in numbers(getattr(value, f.name), f"{path}.{f.name}")
        ]
    if isinstance(value, (list, tuple)):
        return [x for i, v in enumerate(value) for x in numbers(v, f"{path}[{i}]")]
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in numbers(v, f"{path}[{k}]")]
    return [(path, value)]


def assert_same(pooled: Any, central: Any, where: str) -> None:
    mine, theirs = numbers(pooled, where), numbers(central, where)
    assert [p for p, _ in mine] == [p for p, _ in theirs]
    for (path, a), (_, b) in zip(mine, theirs, strict=True):
        if isinstance(b, float) and isinstance(a, float):
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=1e-13, err_msg=path)
        else:
            assert a == b, path


def test_every_analysis_of_the_pooled_report_equals_the_central_one(
    pooled: PlanResult, central: PlanResult, by_group: tuple[Sites, list[tuple[str, Any]]]
) -> None:
    assert len(by_group[0]) > 5
    assert pooled.pooled.startswith(f"Pooled from {len(by_group[0])} sites, no patient rows")
    for p, c in zip(pooled.analyses, central.analyses, strict=True):
        assert p.not_estimable == c.not_estimable, p.id
        if p.id in COX and c.model:
            # the rounds land on the maximum (score ~1e-14), the central fit within its tolerance
            assert [t.label for t in p.model] == [t.label for t in c.model], p.id
            assert p.model_n == c.model_n
            for pt, ct in zip(p.model, c.model, strict=True):
                np.testing.assert_allclose(
                    [pt.hazard_ratio, pt.lower, pt.upper], [ct.hazard_ratio, ct.lower, ct.upper], rtol=1e-6
                )
            assert_same(dataclasses.replace(p, model=()), dataclasses.replace(c, model=()), p.id)
            continue
        assert_same(p, c, p.id)
    assert pooled.n == central.n
    assert_same(pooled.flow, central.flow, "flow")
    assert_same(pooled.follow_up, central.follow_up, "follow_up")
    assert pooled.methods == central.methods
    assert pooled.plan_sha256 == central.plan_sha256


def tables_text(page: str) -> list[str]:
    """The text of every table of the report's outcomes, tags, whitespace and table numbers removed.

    The numbers differ by one: the central report has a characteristics table before the
    outcomes, which the pooled one does not (medians need the patients' values); the
    interim section after the outcomes is not pooled either.
    """
    end = (
        page.index('<section id="interim">')
        if '<section id="interim">' in page
        else page.index("<h2>Methods")
    )
    outcomes = page[page.index("<h2>Outcomes</h2>") : end]
    tables = re.findall(r"<table>.*?</table>", outcomes, flags=re.S)
    text = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", t)).strip() for t in tables]
    return [re.sub(r"^Table \d+\. ", "", t) for t in text]


def test_the_pooled_report_reads_as_the_central_one_and_says_it_is_pooled(
    pooled: PlanResult, central: PlanResult, tmp_path: Path
) -> None:
    files = write_pooled_report(pooled, tmp_path, "pooled", pdf=False)
    page = files.html.read_text(encoding="utf-8")
    central_page = render_html(central)
    assert tables_text(page) == tables_text(central_page)
    assert len(tables_text(page)) >= 15
    banner = re.search(r'<p class="simulated pooled">(.*?)</p>', page)
    assert banner is not None and banner.group(1).startswith("Pooled from ")
    assert "no patient rows" in banner.group(1)
    # every sentence of the results in brief, and the figures' captions
    brief = re.findall(r'<li class="sentence">(.*?)</li>', page)
    assert brief == re.findall(r'<li class="sentence">(.*?)</li>', central_page)
    assert re.findall(r"<figcaption>(.*?)</figcaption>", page) == re.findall(
        r"<figcaption>(.*?)</figcaption>", central_page
    )
    data = json.loads(files.json.read_text(encoding="utf-8"))
    assert data["pooled"] == pooled.pooled
    assert "characteristics table not pooled" in " ".join(data["warnings"])


def test_without_the_cox_rounds_the_report_says_how_to_run_them(
    day_plan: FederatedPlan, by_group: tuple[Sites, list[tuple[str, Any]]]
) -> None:
    result = pooled_report(by_group[1])
    cox = next(a for a in result.analyses if a.id == "dfs_multivariable")
    assert "bassinet federate cox-start" in cox.not_estimable
    assert any("dfs_multivariable" in w and "--cox" in w for w in result.warnings)


def test_the_transplant_analyses_pool_with_weekly_times_as_the_central_run_on_weekly_rows(
    make_plan: Callable[..., FederatedPlan], interfant: ClinicalRecords
) -> None:
    fplan = make_plan(time_unit="week")
    result = pooled_report(files_of(fplan, split_by_group(interfant)))
    plan = fplan.loaded.plan
    scale, unit = plan.days_per_unit, plan.time_unit
    for analysis in ("sct_hr", "sct_landmark"):
        # the central computation on every patient's row, times and transplant times in weeks
        rows = analysis_rows(fplan, interfant, analysis)
        assert rows.exposure is not None
        followed = rows.time > 0
        assert np.allclose(rows.time / 7, np.round(rows.time / 7))
        t, s, e = rows.time[followed], rows.status[followed], rows.exposure[followed]
        pooled_analysis = next(a for a in result.analyses if a.id == analysis)
        assert pooled_analysis.n == len(rows.time)
        if analysis == "sct_hr":
            ticks = pooled_analysis.ticks
            groups, test, hr, _ = exposure_analysis(
                t, s, e, [6], ticks, scale, unit, min_at_risk=plan.min_at_risk
            )
            assert_same(pooled_analysis.groups, tuple(groups), "groups")
            assert test is not None and pooled_analysis.test is not None
            assert_same(pooled_analysis.test, test, "test")
            assert_same(pooled_analysis.hazard_ratio, hr, "hazard ratio")
        else:
            rows_central = landmark_analysis(t, s, e, [0.5, 1], [6], scale, unit)
            assert_same(pooled_analysis.landmarks, rows_central, "landmarks")
            assert all(r.p_value is not None for r in rows_central)


@pytest.mark.parametrize("split", ["tiny", "random"])
def test_a_one_patient_site_a_site_without_events_or_a_random_split_change_no_number(
    split: str, day_plan: FederatedPlan, interfant: ClinicalRecords, central: PlanResult
) -> None:
    sites = split_with_tiny_sites(interfant) if split == "tiny" else split_at_random(interfant, 3, seed=4)
    result = pooled_report(files_of(day_plan, sites))
    for p, c in zip(result.analyses, central.analyses, strict=True):
        if p.test_kind == "cox":
            continue
        assert p.not_estimable == c.not_estimable, p.id
        assert_same(p, c, p.id)
    assert_same(result.follow_up, central.follow_up, "follow_up")
    assert result.n == central.n
    # the same steps and reasons with the same counts (their order is checked on the study groups)
    assert {s.label: (s.n, dict(s.excluded)) for s in result.flow} == {
        s.label: (s.n, dict(s.excluded)) for s in central.flow
    }


def test_a_transplant_table_that_cannot_be_paired_is_refused_with_the_site(
    day_plan: FederatedPlan, by_group: tuple[Sites, list[tuple[str, Any]]]
) -> None:
    files = json.loads(json.dumps(by_group[1]))
    name, message = next(
        (n, m) for n, m in files
        if any(e.get("exposure", {}).get("after", {}).get("entries") for e in m["analyses"])
    )  # fmt: skip
    entry = next(e for e in message["analyses"] if e["id"] == "sct_hr")
    after = entry["exposure"]["after"]
    after["entries"] = [0] * (len(after["entries"]) - 1) + [sum(after["entries"])]  # every transplant last
    from bassinet.federate._messages import seal

    files = [(n, seal(m) if n == name else m) for n, m in files]
    with pytest.raises(
        DataError, match=r"site '[^']+', analysis sct_hr: the table after transplant is malformed"
    ):
        pooled_report(files)
