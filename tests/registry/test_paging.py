"""Commands that read the registry read only what they need (issue 16, item 6)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd
import pytest
from sqlalchemy import Engine, event

from bassinet.registry import export_frames, import_files, read_audit_log, read_frames, registry_session
from bassinet.registry.frames import csv_frame, export_tables, patient_page, write_audit_log
from bassinet.registry.import_format import export_chunks, load_for_export, write_rows
from bassinet.registry.import_format import registry_rows as registry_rows_of
from bassinet.simulate import registry_rows, write_csv
from tests.registry.builders import patient, write_files


def imported(engine: Engine, tmp_path: Path, n: int) -> Engine:
    rows = [patient(f"P{i:03d}", centre="Rome" if i % 2 else "Rotterdam") for i in range(n)]
    path, _ = write_files(tmp_path, rows)
    import_files(engine, path, actor="tester")
    return engine


def test_a_patient_page_is_limited_in_sql(engine: Engine, tmp_path: Path) -> None:
    imported(engine, tmp_path, 12)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(str(args[2])))
    rows, total = patient_page(engine, limit=5)
    assert total == 12
    assert [r[0] for r in rows] == ["P000", "P001", "P002", "P003", "P004"]
    assert rows[0][1:] == (
        "Rotterdam",
        "ALL",
        "rearranged",
        pd.Timestamp("2019-05-02").date(),
        pd.Timestamp("2022-06-30").date(),
        "alive",
    )
    assert any("LIMIT" in s.upper() and "patient" in s for s in statements)


def test_a_patient_page_of_one_centre_counts_that_centre(engine: Engine, tmp_path: Path) -> None:
    imported(engine, tmp_path, 12)
    rows, total = patient_page(engine, centre="Rome", limit=0)
    assert total == 6
    assert [r[0] for r in rows] == ["P001", "P003", "P005", "P007", "P009", "P011"]


def test_the_streamed_audit_log_equals_the_whole_one(engine: Engine, tmp_path: Path) -> None:
    imported(engine, tmp_path, 5)
    whole = read_audit_log(engine)
    streamed_csv = write_audit_log(engine, tmp_path / "audit.csv", chunk_rows=7)
    expected = csv_frame(whole).astype(str).replace({"<NA>": "", "None": "", "nan": ""})
    got = pd.read_csv(streamed_csv, dtype=str, keep_default_na=False)
    assert len(got) == len(whole) > 7
    pd.testing.assert_frame_equal(got, expected.reset_index(drop=True))
    streamed_parquet = pd.read_parquet(
        write_audit_log(engine, tmp_path / "audit.parquet", fmt="parquet", chunk_rows=7)
    )
    assert streamed_parquet["id"].tolist() == whole["id"].tolist()
    assert streamed_parquet["at"].tolist() == whole["at"].tolist()
    assert streamed_parquet["new_value"].tolist() == whole["new_value"].tolist()


@pytest.fixture
def cohort(engine: Engine, tmp_path: Path) -> Engine:
    paths = write_csv(registry_rows(40, seed=7), tmp_path / "in")
    import_files(engine, paths.pop("patients"), long_sheets=paths, actor="tester")
    return engine


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_streamed_tables_equal_the_whole_frames(
    cohort: Engine, tmp_path: Path, fmt: Literal["csv", "parquet"]
) -> None:
    whole = export_frames(read_frames(cohort), tmp_path / "whole", fmt=fmt)
    streamed = export_tables(cohort, tmp_path / "streamed", fmt=fmt, chunk_rows=7)
    assert [p.name for p in streamed] == [p.name for p in whole]
    for before, after in zip(whole, streamed, strict=True):
        if fmt == "csv":
            assert after.read_text(encoding="utf-8") == before.read_text(encoding="utf-8"), after.name
        else:
            expected, got = pd.read_parquet(before), pd.read_parquet(after)
            assert len(got) == len(expected)
            assert list(got.columns) == list(expected.columns)
            for column in expected.columns:
                assert [None if pd.isna(x) else x for x in got[column]] == [
                    None if pd.isna(x) else x for x in expected[column]
                ], f"{after.name} {column}"
    assert len(read_frames(cohort).remissions) > 7  # more than one chunk


def test_the_chunked_import_format_equals_the_whole_one(cohort: Engine, tmp_path: Path) -> None:
    with registry_session(cohort, actor="tester") as session:
        whole = write_rows(registry_rows_of(load_for_export(session)), tmp_path / "whole")
        session.expunge_all()
        chunked = write_rows(export_chunks(session, chunk_patients=7), tmp_path / "chunked")
    assert list(chunked) == list(whole)
    for name, path in whole.items():
        text = path.read_text(encoding="utf-8")
        assert chunked[name].read_text(encoding="utf-8") == text, name
    assert len(whole["patients"].read_text(encoding="utf-8").splitlines()) == 41
