"""Regenerate the example cohort in this folder: ``python examples/generate.py``.

- ``*.csv``: 60 synthetic infants in the registry's own import format.
- ``centre-export/patients.xlsx``: 15 more infants as one transplant centre keeps them,
  in its own column names, codes ("Haplo-HSCT", "HID", "MUD") and a day-first date
  format, with ``centre-export/mapping.yaml`` mapping them onto the registry's.

The patients are synthetic (:func:`bassinet.simulate.registry_rows`); no real data.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl

from bassinet.simulate import registry_rows, write_csv

HERE = Path(__file__).parent

CENTRE_COLUMNS = {
    "patients": {
        "study_id": "Pat-ID",
        "centre": "Hospital",
        "study_group": "Group",
        "sex": "Gender",
        "date_of_birth": "DOB",
        "diagnosis_date": "Dx date",
        "leukemia_type": "Diagnosis",
        "kmt2a_status": "KMT2A",
        "kmt2a_partner": "Partner",
        "wbc": "WBC (10^9/L)",
        "last_contact_date": "Last FU",
        "vital_status": "Status",
    },
    "transplants": {
        "study_id": "Pat-ID",
        "transplant_date": "HSCT date",
        "donor_type": "Donor",
        "remission_status": "Disease status",
        "mrd_value": "MRD pre-HSCT",
        "mrd_method": "MRD method",
        "engraftment_date": "Engraftment",
    },
    "events": {
        "study_id": "Pat-ID",
        "event_type": "Event",
        "event_date": "Event date",
        "relapse_site": "Site",
        "death_cause": "Cause",
    },
}
CENTRE_CODES = {
    "sex": {"M": "male", "F": "female"},
    "donor_type": {
        "haploidentical": "Haplo-HSCT",
        "matched_unrelated": "MUD",
        "matched_sibling": "MSD",
        "cord": "UCB",
    },
    "vital_status": {"alive": "A", "dead": "D"},
    "event_type": {
        "relapse": "Relapse",
        "death": "Death",
        "resistant_disease": "Refractory",
        "second_malignancy": "SMN",
    },
}


def main() -> None:
    write_csv(registry_rows(60, seed=2026, centres=4), HERE)
    rows = registry_rows(15, seed=2027, centres=1)
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    notes = workbook.create_sheet("Read me")
    notes.append(["Export of the transplant database; synthetic patients."])
    for sheet, columns in CENTRE_COLUMNS.items():
        out = workbook.create_sheet(
            {"patients": "Patients", "transplants": "HSCT", "events": "Events"}[sheet]
        )
        out.append(list(columns.values()))
        for record in rows[sheet]:
            cells = []
            for ours in columns:
                value = record.get(ours, "")
                if ours == "centre":
                    value = "Example transplant centre"
                elif ours == "study_group":
                    value = "Example transplant group"
                value = CENTRE_CODES.get(ours, {}).get(str(value), value)
                if isinstance(value, dt.date):
                    value = value.strftime("%d.%m.%Y")
                cells.append(value if value != "" else None)
            out.append(cells)
    (HERE / "centre-export").mkdir(exist_ok=True)
    workbook.save(HERE / "centre-export" / "patients.xlsx")


if __name__ == "__main__":
    main()
