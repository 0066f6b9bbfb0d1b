"""Values the registry cannot hold or that cannot be true are refused, the same on both stores.

Issue 16, item 2: text longer than its database column (PostgreSQL failed the whole
import with a traceback, SQLite stored it), dates outside the registry's era or in the
future, laboratory values beyond their physiological bounds; and the test-data
generator writes only rows the importer accepts.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from bassinet.registry import import_files
from bassinet.registry import models as m
from bassinet.registry import vocabulary as v
from bassinet.registry.sheets import SHEETS, CellError, check_era, parse_cell
from bassinet.registry.store import registry_session
from bassinet.simulate import registry_rows, write_csv
from tests.registry.builders import patient, write_files
from tests.registry.test_import import refused, snapshot

TODAY = dt.date(2026, 11, 29)
COLUMNS = SHEETS["patients"].by_name


@pytest.mark.parametrize(
    ("column", "limit"),
    [("study_id", 64), ("centre", 200), ("study_group", 100), ("protocol", 64), ("protocol_version", 32)],
)
def test_text_limits_come_from_the_database_columns(column: str, limit: int) -> None:
    assert COLUMNS[column].max_length == limit
    assert parse_cell(COLUMNS[column], "x" * limit, date_format=None, centre_codes={}) == "x" * limit
    with pytest.raises(
        CellError, match=f"is {limit + 1} characters long: the registry stores at most {limit}"
    ):
        parse_cell(COLUMNS[column], "x" * (limit + 1), date_format=None, centre_codes={})


@pytest.mark.parametrize(
    ("when", "accepted"),
    [
        (v.REGISTRY_ERA_START, True),
        (v.REGISTRY_ERA_START - dt.timedelta(days=1), False),
        (TODAY, True),
        (TODAY + dt.timedelta(days=1), False),
        (dt.date(1, 1, 1), False),
        (dt.date(2099, 1, 1), False),
    ],
)
def test_dates_lie_in_the_registry_era_and_not_in_the_future(when: dt.date, accepted: bool) -> None:
    if accepted:
        assert check_era(when, today=TODAY) == when
    else:
        with pytest.raises(CellError, match=r"start of the registry's era|is in the future"):
            check_era(when, today=TODAY)


@pytest.mark.parametrize(
    ("column", "value", "accepted"),
    [
        ("wbc", "0", True),
        ("wbc", "5000", True),
        ("wbc", "5000.1", False),
        ("wbc", "1e308", False),
        ("day8_blasts", "5000000", True),
        ("day8_blasts", "5000001", False),
    ],
)
def test_laboratory_values_lie_within_physiological_bounds(column: str, value: str, accepted: bool) -> None:
    if accepted:
        assert parse_cell(COLUMNS[column], value, date_format=None, centre_codes={}) == float(value)
    else:
        with pytest.raises(CellError, match=r"must be <= .* \(the physiological bound of this field\)"):
            parse_cell(COLUMNS[column], value, date_format=None, centre_codes={})


def test_a_too_long_study_id_is_a_rule_error_on_both_stores(engine: Engine, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient("P" * 65)])
    refused(
        engine, path, r"column 'study_id' \(P{65}\) is 65 characters long: the registry stores at most 64"
    )


def test_a_too_long_centre_is_quarantined_and_the_rest_imported(engine: Engine, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient("P1"), patient("P2", centre="C" * 201)])
    quarantine = tmp_path / "rejected.csv"
    report = import_files(engine, path, actor="tester", quarantine=quarantine)
    assert report.counts["patients"].inserted == 1
    assert "201 characters long" in quarantine.read_text(encoding="utf-8")
    with registry_session(engine, actor="reader") as session:
        assert session.scalars(select(m.Patient.study_id)).all() == ["P1"]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"diagnosis_date": "2099-05-02", "last_contact_date": "2099-06-01"}, "is in the future"),
        ({"date_of_birth": "0001-01-10"}, "start of the registry's era"),
        ({"wbc": "1e308"}, "must be <= 5000 x10^9/L"),
        (
            {
                "randomisation_arm": "IB",
                "randomisation_date": "2019-07-01",
                "last_contact_date": "2019-06-30",
            },
            "is before the latest record, 'randomisation_date' 2019-07-01",
        ),
    ],
)
def test_implausible_patients_are_refused_on_both_stores(
    engine: Engine, tmp_path: Path, changes: dict[str, str], words: str
) -> None:
    path, _ = write_files(tmp_path, [patient("P1", **changes)])
    refused(engine, path, words.replace("(", r"\(").replace(")", r"\)").replace("^", r"\^"))


def test_the_generator_writes_only_rows_the_importer_accepts(engine: Engine, tmp_path: Path) -> None:
    rows = registry_rows(1500, seed=3)
    paths = write_csv(rows, tmp_path / "rows")
    before = snapshot(engine)
    report = import_files(engine, paths.pop("patients"), long_sheets=paths, actor="tester")
    assert report.counts["patients"].inserted == 1500
    assert snapshot(engine)["patient"] == before["patient"] + 1500
