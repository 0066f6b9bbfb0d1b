"""The simulated transplant items: drawn on their own stream, plausible, and what the registry accepts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine

from bassinet.endpoints import ClinicalRecords, derive
from bassinet.registry import import_files, read_frames
from bassinet.simulate import hsct_infants, simulate_hsct_infants, write_csv
from bassinet.simulate.calibrate import records_of

ITEMS = [
    "hla_match",
    "conditioning_intensity",
    "tbi",
    "serotherapy",
    "gvhd_prophylaxis",
    "platelet_engraftment_date",
    "agvhd_grade",
    "agvhd_date",
    "cgvhd_severity",
    "cgvhd_date",
    "cgvhd_systemic_treatment",
    "cmv_donor",
    "cmv_recipient",
]
GVHD = ["GRFS", "AGVHD24", "AGVHD34", "CGVHD"]


@pytest.mark.parametrize("seed", [6, 41])
def test_the_items_leave_every_earlier_simulated_value_as_it_was(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    with_items = simulate_hsct_infants(seed=seed)

    def nothing(rng: Any, row: dict[str, object], **_: Any) -> dict[str, object]:
        return row

    monkeypatch.setattr(hsct_infants, "transplant_items", nothing)
    without = simulate_hsct_infants(seed=seed)
    for sheet, rows in without.sheets.items():
        kept = [{k: value for k, value in row.items() if k not in ITEMS} for row in with_items[sheet]]
        assert kept == rows, sheet
    assert all(set(ITEMS) <= set(row) for row in with_items["transplants"])


def test_gvhd_is_dated_inside_follow_up_and_as_frequent_as_assumed() -> None:
    rows = simulate_hsct_infants(seed=41)
    transplants = rows.frame("transplants").set_index("study_id")
    last = rows.frame("patients").set_index("study_id")["last_contact_date"].reindex(transplants.index)
    for column in ("agvhd_date", "cgvhd_date", "platelet_engraftment_date"):
        dated = transplants[column].notna()
        when = pd.to_datetime(transplants.loc[dated, column])
        assert (when > pd.to_datetime(transplants.loc[dated, "transplant_date"])).all(), column
        assert (when <= pd.to_datetime(last[dated])).all(), column
    grade_2_4 = transplants["agvhd_grade"].isin(["II", "III", "IV"]).mean()
    assert 0.15 < grade_2_4 < 0.5
    assert (transplants["agvhd_grade"].notna()).all()


def test_gvhd_endpoints_from_the_registry_equal_those_from_the_rows(engine: Engine, tmp_path: Path) -> None:
    rows = simulate_hsct_infants(seed=41)
    paths = write_csv(rows, tmp_path)
    import_files(engine, paths.pop("patients"), long_sheets=paths, actor="test")  # raises on any problem
    cutoff = dt.date(2025, 5, 31)
    key = ["endpoint", "study_id"]
    from_rows = derive(records_of(rows), GVHD, cutoff=cutoff).sort_values(key, ignore_index=True)
    stored = ClinicalRecords.from_frames(read_frames(engine))
    from_registry = derive(stored, GVHD, cutoff=cutoff).sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(from_rows, from_registry)
    events = set(from_registry["event"])
    assert {
        "acute GVHD grade III-IV",
        "chronic GVHD needing systemic treatment",
        "relapse",
        "death",
    } <= events
    assert {"acute GVHD grade II-IV", "chronic GVHD"} <= events
