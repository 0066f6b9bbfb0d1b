"""Disclosure control at the site: coarse times, small cells merged, small groups refused."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest

from bassinet.endpoints import ClinicalRecords
from bassinet.errors import ConfigurationError
from bassinet.federate import (
    Disclosure,
    FederatedPlan,
    analysis_rows,
    combine,
    load_federated_plan,
    merge_small_cells,
    summarise,
)
from bassinet.federate._messages import dumps
from bassinet.plans import PlanResult
from bassinet.survival import KaplanMeier, kaplan_meier, logrank
from tests.federate.conftest import plan_text, split_at_random


@pytest.mark.parametrize(
    ("times", "counts", "min_cell", "kept", "merged"),
    [
        # nothing below 3: nothing moves
        ([1, 2], [[3, 0], [0, 4]], 3, [1, 2], [[3, 0], [0, 4]]),
        # time 1 has one event: it joins time 2 (events are moved later, never earlier)
        ([1, 2, 3], [[1, 0], [3, 3], [0, 5]], 3, [2, 3], [[4, 3], [0, 5]]),
        # exactly min_cell is allowed
        ([1, 2], [[2, 0], [0, 2]], 2, [1, 2], [[2, 0], [0, 2]]),
        # a chain: 1 -> 2 still small -> 3
        ([1, 2, 3], [[1, 0], [1, 0], [3, 0]], 3, [3], [[5, 0]]),
        # a remainder at the end joins the last released count of its kind, earlier
        ([1, 2, 3], [[0, 3], [4, 0], [0, 1]], 3, [1, 2], [[0, 4], [4, 0]]),
        # a kind with nothing released keeps its small count (the caller then refuses)
        ([1, 2], [[4, 0], [0, 1]], 3, [1, 2], [[4, 0], [0, 1]]),
        # only the small kind moves: the censorings stay at time 1, the event goes to 2
        ([1, 2], [[1, 3], [2, 0]], 3, [1, 2], [[0, 3], [3, 0]]),
        # a rare kind does not drag the others along (whole-time merging put all at 4)
        ([1, 2, 3, 4], [[3, 1], [3, 0], [3, 1], [0, 1]], 3, [1, 2, 3, 4], [[3, 0], [3, 0], [3, 0], [0, 3]]),
        # a single time stays, even if small (the caller then refuses the table)
        ([5], [[1, 1]], 3, [5], [[1, 1]]),
    ],
)
def test_small_cells_merge_with_the_next_time(
    times: list[float], counts: list[list[int]], min_cell: int, kept: list[float], merged: list[list[int]]
) -> None:
    new_times, new_counts, moved = merge_small_cells(np.array(times, float), np.array(counts), min_cell)
    assert new_times.tolist() == kept
    assert new_counts.tolist() == merged
    assert {t for t, _ in moved} == set(map(float, times)) and set(moved.values()) == set(map(float, kept))
    # every patient is still counted once, in the same column
    assert new_counts.sum(axis=0).tolist() == np.array(counts).sum(axis=0).tolist()


@pytest.mark.parametrize(
    ("unit", "days", "expected"),
    [
        ("day", 0.0, 0.0),
        ("day", 3.0, 3.0),
        ("week", 0.0, 0.0),
        ("week", 1.0, 7.0),
        ("week", 7.0, 7.0),  # the end of the first week stays in it
        ("week", 8.0, 14.0),
        ("month", 30.4375, 30.4375),
        ("month", 31.0, 60.875),
    ],
)
def test_times_are_rounded_up_to_the_end_of_their_unit(unit: str, days: float, expected: float) -> None:
    assert Disclosure(unit, 1, 1).coarsen(days) == expected  # type: ignore[arg-type]


def test_with_merged_cells_the_pooled_analysis_is_that_of_the_merged_rows(
    make_plan: Callable[..., FederatedPlan], interfant: ClinicalRecords
) -> None:
    fplan = make_plan(time_unit="week", min_cell=3)
    sites = split_at_random(interfant, 3, seed=8)
    files = [(n, json.loads(dumps(summarise(fplan, r, n)[0]))) for n, r in sites.items()]
    for _, message in files:  # nothing below min_cell leaves
        for entry in message["analyses"]:
            for g in entry.get("groups", []):
                for column in (*g["events"], g["censored"]):
                    assert all(x == 0 or x >= 3 for x in column)
    result = combine(files)
    # the same merging applied to each site's rows, group by group, then the central analysis
    times, statuses, labels = [], [], []
    for records in sites.values():
        rows = analysis_rows(fplan, records, "os_region")
        for label in set(rows.label):
            mask = rows.label == label
            t, s = rows.time[mask], rows.status[mask]
            grid = np.unique(t)
            counts = np.stack([[((t == x) & (s == 1)).sum(), ((t == x) & (s == 0)).sum()] for x in grid])
            _, _, moved = merge_small_cells(grid, counts, 3)
            times.append(np.array([moved[(float(x), 0 if e == 1 else 1)] for x, e in zip(t, s, strict=True)]))
            statuses.append(s)
            labels.append(rows.label[mask])
    time, status, label = np.concatenate(times), np.concatenate(statuses), np.concatenate(labels)
    found = next(a for a in result.analyses if a.id == "os_region")
    assert found.test is not None
    np.testing.assert_allclose(found.test.statistic, logrank(time, status, label).chisq, rtol=1e-10)
    for g in found.groups:
        km = kaplan_meier(time[label == g.label], status[label == g.label])
        assert isinstance(km, KaplanMeier)
        at = km.at([6 * 365.25])
        np.testing.assert_allclose(g.estimates[0].estimate, 100 * at.surv[0], rtol=1e-10)
        np.testing.assert_allclose(g.estimates[0].std_err, 100 * at.std_err[0], rtol=1e-10)


def test_a_group_smaller_than_min_group_is_refused_with_the_reason_but_not_the_count(
    make_plan: Callable[..., FederatedPlan], interfant: ClinicalRecords
) -> None:
    fplan = make_plan(min_group=5)
    small = interfant.subset(interfant.patients["study_id"].iloc[:3])
    message, notes = summarise(fplan, small, "tiny")
    refused = {e["id"]: e["refused"] for e in message["analyses"] if "refused" in e}
    assert refused["os_all"] == "group 'all': fewer than min_group=5 patients"
    assert "groups" not in next(e for e in message["analyses"] if e["id"] == "os_all")
    assert "3" not in refused["os_all"]  # the file says the rule, the site's own notes say the count
    assert any(n.startswith("os_all: refused: group 'all' has 3 patients") for n in notes)
    big = interfant.subset(interfant.patients["study_id"].iloc[3:])
    result = combine(
        [("tiny", json.loads(dumps(message))), ("big", json.loads(dumps(summarise(fplan, big, "big")[0])))]
    )
    os_all = next(a for a in result.analyses if a.id == "os_all")
    assert os_all.note == "not pooled: refused by tiny: group 'all': fewer than min_group=5 patients"
    assert os_all.groups == ()


def test_a_one_patient_site_cannot_hide_its_patient_under_min_cell(
    make_plan: Callable[..., FederatedPlan], interfant: ClinicalRecords
) -> None:
    fplan = make_plan(min_cell=2)
    message, _ = summarise(fplan, interfant.subset(interfant.patients["study_id"].iloc[:1]), "one")
    reasons = [e["refused"] for e in message["analyses"] if "refused" in e]
    assert "group 'all': a count below min_cell=2 remains after merging every time" in reasons
    assert all(
        r.endswith(": a count below min_cell=2 remains after merging every time")
        or (
            r.startswith("variable '") and "a value held by fewer than min_cell=2 patients" in r
        )  # a Cox model
        for r in reasons
    ), reasons
    assert not any(e.get("groups") for e in message["analyses"])  # no table of that patient leaves


def test_the_site_file_holds_the_plan_the_version_the_site_and_count_tables_only(
    day_plan: FederatedPlan, interfant: ClinicalRecords
) -> None:
    site = interfant.subset(interfant.patients["study_id"].iloc[:40])
    message = json.loads(dumps(summarise(day_plan, site, "DCOG")[0]))
    assert set(message) == {
        "kind",
        "plan_sha256",
        "plan_text",
        "version",
        "site",
        "analyses",
        "content_sha256",
        # the report's descriptive parts: patients in the plan's population, the patient
        # flow's counts, and the follow-up table (overall survival from the origin)
        "population",
        "flow",
        "follow_up",
    }
    allowed = {"label", "n", "time", "at_risk", "events", "censored"}
    keys = {"id", "causes", "groups", "refused", "cox_levels", "unknown", "n", "exposure", "landmarks"}
    for entry in message["analyses"]:
        assert set(entry) <= keys
        for g in entry.get("groups", []):
            assert set(g) == allowed
        # a transplant analysis: counts of entries (transplants) and exits, no pairs of times
        for name, table in entry.get("exposure", {}).items():
            assert set(table) == ({"n", "time", "events", "censored", "entries"} if name == "after"
                                  else {"n", "time", "events", "censored"})  # fmt: skip
        for point in entry.get("landmarks", []):
            assert set(point) <= {"landmark", "exposed", "unexposed"}
    assert {"exposure", "landmarks"} <= {k for e in message["analyses"] for k in e}
    assert set(message["follow_up"]) == {"n", "time", "at_risk", "events", "censored"}
    text = json.dumps(message)
    for sid in site.patients["study_id"]:  # no identifier leaves
        assert str(sid) not in text


def test_a_plan_without_a_federation_block_is_refused(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "plain.yaml"
    path.write_text(plan_text().split("federation:")[0], encoding="utf-8")
    with pytest.raises(ConfigurationError, match="has no 'federation' block"):
        load_federated_plan(path)


def test_a_wrong_federation_rule_names_the_field(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "bad.yaml"
    path.write_text(plan_text(time_unit="fortnight"), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"federation\.time_unit"):
        load_federated_plan(path)
    path.write_text(plan_text(min_cell=0), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"federation\.min_cell is 0: it must be >= 1"):
        load_federated_plan(path)


def test_an_error_in_the_rest_of_the_plan_names_the_plan_and_its_line(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "typo.yaml"
    path.write_text(plan_text().replace("endpoint: OS\n", "endpoint: OSS\n", 1), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=rf"{path}:\d+: unknown endpoint 'OSS'"):
        load_federated_plan(path)


def test_the_plan_hash_covers_the_disclosure_rules(make_plan: Callable[..., FederatedPlan]) -> None:
    assert make_plan(min_cell=1).sha256 != make_plan(min_cell=2).sha256
    assert make_plan().sha256 == make_plan().sha256


def test_with_weeks_and_min_cell_5_the_six_year_estimates_stay_near_the_central_ones(
    make_plan: Callable[..., FederatedPlan], interfant: ClinicalRecords, central: PlanResult
) -> None:
    # Found by trying the feature as a user: four sites (three study groups and the rest),
    # weeks and min_cell 5. Merging whole times let a rare kind of count drag every other
    # count along, so a site's tail collapsed onto one early week (a 47-patient site
    # reported every event and censoring after week 50 at week 50) and the pooled 6-year
    # EFS was 30.3% (10 at risk) against 45.4% (158 at risk) centrally. Only the patients
    # of a small count may move, so the estimates stay within a point or two.
    fplan = make_plan(time_unit="week", min_cell=5, min_group=10)
    p = interfant.patients
    big = {"DCOG", "COALL", "AIEOP"}
    sites = {g: interfant.subset(p.loc[p["study_group"] == g, "study_id"]) for g in sorted(big)}
    sites["rest"] = interfant.subset(p.loc[~p["study_group"].isin(big), "study_id"])
    files = [(n, json.loads(dumps(summarise(fplan, r, n)[0]))) for n, r in sites.items()]
    pooled = {a.id: a for a in combine(files).analyses}
    for analysis_id in ("efs_all", "os_all"):
        estimate = pooled[analysis_id].groups[0].estimates[0]
        reference = next(a for a in central.analyses if a.id == analysis_id).groups[0].estimates[0]
        assert abs(estimate.estimate - reference.estimate) < 2.0, analysis_id
        assert abs(estimate.n_risk - reference.n_risk) <= 0.1 * reference.n_risk, analysis_id
