"""An arm on record is an allocation; an import may not change it, blank it or leave it out."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from bassinet.registry import import_files
from bassinet.registry import models as m
from bassinet.registry.problems import ImportRejected
from bassinet.registry.store import registry_session
from tests.registry.builders import patient, write_files

ARMED = {"randomisation_arm": "ADE_MAE", "randomisation_date": "2019-06-08"}


def _state(engine: Engine) -> tuple[list[tuple[str, str | None, object]], int]:
    with registry_session(engine, actor="reader") as session:
        rows = [
            (p.study_id, p.randomisation_arm.value if p.randomisation_arm else None, p.randomisation_date)
            for p in session.scalars(select(m.Patient).order_by(m.Patient.study_id))
        ]
        audit = session.scalar(select(func.count()).select_from(m.AuditEntry)) or 0
    return rows, audit


def _import(
    engine: Engine, folder: Path, rows: list[dict[str, str]], columns: list[str] | None = None
) -> None:
    from tests.registry.builders import write_sheet

    folder.mkdir(parents=True, exist_ok=True)
    path = write_sheet(folder / "patients.csv", rows, columns)
    import_files(engine, path, actor="data manager")


def test_an_imported_arm_becomes_a_recorded_allocation(engine: Engine, tmp_path: Path) -> None:
    _import(engine, tmp_path / "a", [patient("P1", **ARMED)])
    with registry_session(engine, actor="reader") as session:
        allocation = session.scalars(select(m.Allocation)).one()
    assert (allocation.arm, allocation.source, allocation.position) == ("ADE_MAE", "recorded", None)
    assert str(allocation.allocated_on) == "2019-06-08"


@pytest.mark.parametrize(
    ("changes", "drop_columns", "says"),
    [
        ({"randomisation_arm": "IB"}, (), "the file says IB"),
        ({"randomisation_arm": "", "randomisation_date": ""}, (), "the file says empty"),
        ({}, ("randomisation_arm", "randomisation_date"), "the file has no column"),
    ],
)
def test_an_import_that_would_change_an_allocated_arm_is_refused_and_changes_nothing(
    engine: Engine, tmp_path: Path, changes: dict[str, str], drop_columns: tuple[str, ...], says: str
) -> None:
    _import(engine, tmp_path / "a", [patient("P1", **ARMED)])
    before = _state(engine)
    row = patient("P1", **{**ARMED, **changes}, wbc="500")
    columns = [c for c in row if c not in drop_columns]
    with pytest.raises(ImportRejected) as caught:
        _import(engine, tmp_path / "b", [row], columns)
    message = str(caught.value)
    assert "randomisation_arm" in message and "conflicts with the allocation of patient 'P1'" in message
    assert "(recorded, allocated 2019-06-08): the registry holds randomisation_arm ADE_MAE" in message
    assert says in message
    assert _state(engine) == before


def test_reimporting_the_same_arm_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    _import(engine, tmp_path / "a", [patient("P1", **ARMED)])
    before = _state(engine)
    _import(engine, tmp_path / "b", [patient("P1", **ARMED)])
    assert _state(engine) == before


def test_a_known_study_id_under_another_centre_is_a_move_that_needs_a_reason(
    engine: Engine, tmp_path: Path
) -> None:
    _import(engine, tmp_path / "a", [patient("P1"), patient("P2")])
    renamed = [patient(s, centre="Erasmus MC Rotterdam") for s in ("P1", "P2")]
    with pytest.raises(
        ImportRejected,
        match=r"patient 'P1' is in centre 'Rotterdam'.*a move from 'Rotterdam' "
        r"to 'Erasmus MC Rotterdam'; give --reason",
    ):
        _import(engine, tmp_path / "b", renamed)
    path = write_files(tmp_path / "c", renamed)[0]
    import_files(engine, path, actor="data manager", reason="centre renamed in 2024")
    with registry_session(engine, actor="reader") as session:
        patients = session.scalars(select(m.Patient).order_by(m.Patient.study_id)).all()
        assert [(p.study_id, p.centre.name) for p in patients] == [
            ("P1", "Erasmus MC Rotterdam"),
            ("P2", "Erasmus MC Rotterdam"),
        ]
        moves = session.scalars(select(m.AuditEntry).where(m.AuditEntry.field == "centre_id")).all()
    assert [e.reason for e in moves if e.action == "update"] == ["centre renamed in 2024"] * 2
