"""Small registry files for tests: one valid patient, changed only where a test says so."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from bassinet.registry.sheets import SHEETS

Row = dict[str, Any]


def patient(study_id: str = "P001", **changes: Any) -> Row:
    """A valid infant: born 2019-01-10, diagnosed 2019-05-02, alive at 2022-06-30."""
    row: Row = {
        "study_id": study_id,
        "centre": "Rotterdam",
        "study_group": "DCOG",
        "original_country": "yes",
        "sex": "F",
        "date_of_birth": "2019-01-10",
        "diagnosis_date": "2019-05-02",
        "leukemia_type": "ALL",
        "immunophenotype": "pro_B",
        "cd10": "negative",
        "kmt2a_status": "rearranged",
        "kmt2a_partner": "AFF1",
        "wbc": "412",
        "cns_status": "CNS1",
        "day8_blasts": "1200",
        "protocol": "Interfant-06",
        "protocol_version": "1.0",
        "randomisation_arm": "",
        "randomisation_date": "",
        "last_contact_date": "2022-06-30",
        "vital_status": "alive",
    }
    row.update(changes)
    return row


def write_sheet(
    path: Path, rows: list[Row], columns: list[str] | None = None, encoding: str = "utf-8"
) -> Path:
    """A CSV file of ``rows``; the columns are the union of the rows' keys unless given."""
    if columns is None:
        columns = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(c, "") for c in columns])
    return path


def write_files(folder: Path, patients: list[Row], **long: list[Row]) -> tuple[Path, dict[str, Path]]:
    """A patients CSV and one CSV per long sheet given; returns (patients, {sheet: path})."""
    folder.mkdir(parents=True, exist_ok=True)
    patients_path = write_sheet(folder / "patients.csv", patients)
    others = {}
    for sheet, rows in long.items():
        assert sheet in SHEETS, sheet
        columns = [c.name for c in SHEETS[sheet].columns if any(c.name in r for r in rows)]
        others[sheet] = write_sheet(folder / f"{sheet}.csv", rows, columns)
    return patients_path, others
