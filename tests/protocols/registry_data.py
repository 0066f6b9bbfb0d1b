"""Registry files of Interfant-06 patients for the protocol tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bassinet.registry import import_files
from tests.registry.builders import patient, write_files


def infant(study_id: str, **changes: Any) -> dict[str, Any]:
    """KMT2A-rearranged ALL, 7 months old at diagnosis (so MR), in CR after induction."""
    row = patient(
        study_id, date_of_birth="2018-10-01", diagnosis_date="2019-05-02", wbc="100", day8_blasts="500"
    )
    row.update(changes)
    return row


def remission(study_id: str, status: str = "CR") -> dict[str, Any]:
    return {
        "study_id": study_id,
        "time_point": "end_of_induction",
        "assessment_date": "2019-06-05",
        "status": status,
    }


def load(
    engine: Engine,
    folder: Path,
    patients: list[dict[str, Any]],
    remissions: list[dict[str, Any]] | None = None,
) -> None:
    remissions = remissions if remissions is not None else [remission(p["study_id"]) for p in patients]
    path, others = write_files(folder, patients, remissions=remissions)
    import_files(engine, path, long_sheets=others, actor="tester")


def make_key(engine: Engine, folder: Path) -> Path:
    """A fresh randomisation key file for the registry (mode 0600)."""
    from bassinet.protocols.keyfile import init_key

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "randomisation.key"
    init_key(engine, path, protocol="interfant-06", actor="trial office")
    return path


def ready(engine: Engine, folder: Path, patients: list[dict[str, Any]], **long: list[dict[str, Any]]) -> Path:
    """Load the patients (in CR after induction unless remissions are given), stratify them, make a key."""
    from bassinet.protocols.service import stratify

    long.setdefault("remissions", [remission(p["study_id"]) for p in patients])
    path, others = write_files(folder / "in", patients, **long)
    import_files(engine, path, long_sheets=others, actor="tester")
    stratify(engine, actor="statistician")
    return make_key(engine, folder / "key")
