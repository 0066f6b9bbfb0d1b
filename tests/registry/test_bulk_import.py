"""The bulk insert of an import writes what the row-by-row path writes (issue 16, item 6).

New patients and their records go in with one executemany per table and chunk, and
their audit rows with COPY on PostgreSQL; the ORM's row-by-row insert is kept as the
reference (``importer.BULK_INSERT = False``). Both must leave the same registry and the
same audit trail, on both stores, for a first import and for a re-import that adds,
changes and deletes.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bassinet.registry import import_files, importer, init_registry, make_engine, read_frames
from bassinet.registry import models as m
from bassinet.simulate import registry_rows, write_csv
from bassinet.simulate.registry_rows import RegistryRows
from tests.conftest import _reset_postgres

Snapshot = tuple[dict[str, list[tuple[object, ...]]], list[tuple[object, ...]], list[tuple[object, ...]]]


def _subset(rows: RegistryRows, study_ids: set[str]) -> RegistryRows:
    return RegistryRows(
        {n: [r for r in found if r["study_id"] in study_ids] for n, found in rows.sheets.items()}
    )


def _files() -> tuple[RegistryRows, RegistryRows]:
    """A first import of 30 patients, then all 40 with one changed and one record gone."""
    rows = registry_rows(40, seed=7)
    ids = [r["study_id"] for r in rows.sheets["patients"]]
    first = _subset(rows, set(ids[:30]))
    second = copy.deepcopy(rows)
    second.sheets["patients"][3]["wbc"] = "123.5"
    gone = second.sheets["courses"].pop(0)
    assert gone["study_id"] in ids[:30]
    return first, second


def _snapshot(url: str) -> Snapshot:
    engine = make_engine(url)
    try:
        frames = read_frames(engine)
        tables = {
            name: sorted(map(tuple, frame.astype(str).itertuples(index=False)))
            for name, frame in frames.items()
            if name != "import_runs"
        }
        with engine.connect() as connection:
            audit = sorted(
                (e.action, e.table_name, e.record_id, e.patient_id, e.field, e.old_value,
                 "(a time)" if e.field == "allocated_at" else e.new_value,  # when the import ran
                 e.actor, e.import_run_id, e.reason)
                for e in connection.execute(select(m.AuditEntry.__table__))
            )  # fmt: skip
            allocations = sorted(
                (a.patient_id, a.arm, a.stratum, a.source, str(a.allocated_on))
                for a in connection.execute(select(m.Allocation.__table__))
            )
    finally:
        engine.dispose()
    return tables, audit, allocations


def _import_both(url: str, folder: Path, bulk: bool, monkeypatch: pytest.MonkeyPatch) -> Snapshot:
    monkeypatch.setattr(importer, "BULK_INSERT", bulk)
    monkeypatch.setattr(importer, "CHUNK_PATIENTS", 7)  # several chunks
    init_registry(url)
    engine = make_engine(url)
    try:
        for step, rows in enumerate(_files()):
            paths = write_csv(rows, folder / f"in{step}")
            report = import_files(engine, paths.pop("patients"), long_sheets=paths, actor="tester")
            assert report.changed
    finally:
        engine.dispose()
    return _snapshot(url)


def test_a_bulk_import_writes_the_registry_and_audit_of_the_row_by_row_one(
    registry_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bulk = _import_both(registry_url, tmp_path / "bulk", True, monkeypatch)
    if registry_url.startswith("sqlite"):
        reference_url = f"sqlite:///{tmp_path / 'reference.db'}"
    else:
        _reset_postgres(registry_url)
        reference_url = registry_url
    reference = _import_both(reference_url, tmp_path / "reference", False, monkeypatch)
    tables, audit, allocations = bulk
    assert len(tables["patients"]) == 40
    assert len(audit) > 40 * 20
    assert {a[0] for a in audit} == {"insert", "update", "delete"}
    assert any(a[1] == "patient" and a[4] == "wbc" and a[6] == "123.5" for a in audit)
    assert allocations, "the cohort brings recorded arms"
    if registry_url.startswith("sqlite"):  # stored as SQLAlchemy stores a timestamp, not as sqlite3 adapts it
        engine = make_engine(registry_url)
        with engine.connect() as connection:
            stamps = set(connection.scalars(text("SELECT DISTINCT at FROM audit_log")))
        engine.dispose()
        assert stamps and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", t) for t in stamps), (
            stamps
        )
    assert tables == reference[0]
    assert audit == reference[1]
    assert allocations == reference[2]
