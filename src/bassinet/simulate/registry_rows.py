"""Random but valid registry rows, in the registry's own import format.

:func:`registry_rows` draws ``n`` infants with diagnosis, biology, response, treatment,
transplants and events whose dates obey every import rule, so the output imports
without a single problem. The distributions are plausible, not calibrated: they make
test and benchmark files of any size, deterministically for a given seed.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bassinet.registry.sheets import SHEETS

Row = dict[str, object]


@dataclass(frozen=True)
class RegistryRows:
    """Rows by sheet name, each a list of dicts keyed by the registry's column names."""

    sheets: dict[str, list[Row]]

    def __getitem__(self, sheet: str) -> list[Row]:
        return self.sheets[sheet]

    def frame(self, sheet: str) -> pd.DataFrame:
        """One sheet as a DataFrame with the registry's columns; blank cells are None."""
        columns = [c.name for c in SHEETS[sheet].columns]
        records = [
            {c: (None if r.get(c, "") == "" else r.get(c)) for c in columns}
            for r in self.sheets.get(sheet, [])
        ]
        return pd.DataFrame(records, columns=columns)


GROUPS = (("DCOG", True), ("COALL", True), ("AIEOP", True), ("CoALL-JP", False), ("PINDA", False))


def _day(origin: dt.date, days: int | np.integer[Any]) -> dt.date:
    return origin + dt.timedelta(days=int(days))


def registry_rows(n: int, *, seed: int = 0, centres: int = 12) -> RegistryRows:
    """``n`` synthetic infants in the registry's import format."""
    rng = np.random.default_rng(seed)
    sheets: dict[str, list[Row]] = {name: [] for name in SHEETS}
    cutoff = dt.date(2025, 5, 31)
    for i in range(n):
        group, original = GROUPS[int(rng.integers(len(GROUPS)))]
        centre = f"{group} centre {int(rng.integers(centres)) + 1}"
        born = dt.date(2006, 1, 1) + dt.timedelta(days=int(rng.integers(0, 365 * 12)))
        diagnosed = _day(born, rng.integers(1, 364))
        leukemia = "ALL" if rng.random() < 0.6 else "AML"
        rearranged = rng.random() < 0.75
        kmt2a = "rearranged" if rearranged else ("germline" if rng.random() < 0.95 else "unknown")
        partner = (
            str(rng.choice(["AFF1", "MLLT1", "MLLT3", "MLLT10", "other"], p=[0.5, 0.2, 0.12, 0.08, 0.1]))
            if rearranged
            else ""
        )
        study_id = f"P{seed:02d}-{i + 1:06d}"
        patient: Row = {
            "study_id": study_id,
            "centre": centre,
            "study_group": group,
            "original_country": "yes" if original else "no",
            "sex": "M" if rng.random() < 0.5 else "F",
            "date_of_birth": born,
            "diagnosis_date": diagnosed,
            "leukemia_type": leukemia,
            "immunophenotype": ("pro_B" if rearranged else "common_B") if leukemia == "ALL" else "myeloid",
            "cd10": ("negative" if rearranged else "positive") if leukemia == "ALL" else "",
            "kmt2a_status": kmt2a,
            "kmt2a_partner": partner,
            "wbc": round(min(float(rng.lognormal(4.5, 1.2)), 2500.0), 1),
            "cns_status": str(rng.choice(["CNS1", "CNS2", "CNS3"], p=[0.8, 0.12, 0.08])),
            "day8_blasts": float(min(int(rng.lognormal(6, 2)), 2_000_000)) if leukemia == "ALL" else "",
            "protocol": "Interfant-06" if leukemia == "ALL" else "",
            "protocol_version": "1.0" if leukemia == "ALL" else "",
            "randomisation_arm": "",
            "randomisation_date": "",
        }
        end = diagnosed
        records: list[tuple[str, Row]] = []
        resistant = rng.random() < 0.05
        induction_end = _day(diagnosed, 33)
        records.append(("courses", {"course": "induction", "start_date": _day(diagnosed, 7)}))
        if resistant:
            records.append(
                (
                    "remissions",
                    {
                        "time_point": "end_of_induction",
                        "assessment_date": induction_end,
                        "status": "no_CR",
                    },
                )
            )
            records.append(("events", {"event_type": "resistant_disease", "event_date": induction_end}))
            end = induction_end
        else:
            records.append(
                (
                    "remissions",
                    {
                        "time_point": "end_of_induction",
                        "assessment_date": induction_end,
                        "status": "CR",
                    },
                )
            )
            records.append(
                (
                    "mrd",
                    {
                        "time_point": "end_of_induction",
                        "measured_on": induction_end,
                        "method": "PCR",
                        "value": str(rng.choice([f"{10 ** rng.uniform(-5, -1):.2e}", "negative", "PNQ"])),
                    },
                )
            )
            end = induction_end
            if leukemia == "ALL" and kmt2a == "rearranged" and rng.random() < 0.8:
                arm = "IB" if rng.random() < 0.5 else "ADE_MAE"
                patient["randomisation_arm"], patient["randomisation_date"] = (
                    arm,
                    _day(induction_end, 2),
                )
                end = _day(induction_end, 2)  # the last contact and any death come after it
        if not resistant and rng.random() < 0.25:
            transplant = _day(diagnosed, rng.integers(120, 300))
            records.append(
                (
                    "transplants",
                    {
                        "transplant_date": transplant,
                        "donor_type": str(
                            rng.choice(["matched_sibling", "matched_unrelated", "haploidentical", "cord"])
                        ),
                        "stem_cell_source": "bone_marrow",
                        "remission_status": "CR1",
                        "mrd_value": "negative",
                        "mrd_method": "FCM",
                        "engraftment_date": _day(transplant, rng.integers(10, 30)),
                    },
                )
            )
            end = _day(transplant, 30)
        relapse = None
        if not resistant and rng.random() < 0.35:
            relapse = _day(end, rng.integers(30, 700))
            records.append(
                (
                    "events",
                    {"event_type": "relapse", "event_date": relapse, "relapse_site": "bone_marrow"},
                )
            )
            end = relapse
        dies = (relapse is not None and rng.random() < 0.6) or rng.random() < 0.1 or resistant
        if dies:
            death = _day(end, rng.integers(1, 400))
            records.append(
                (
                    "events",
                    {
                        "event_type": "death",
                        "event_date": death,
                        "death_cause": "leukemia" if relapse or resistant else "toxicity",
                    },
                )
            )
            patient["last_contact_date"], patient["vital_status"] = death, "dead"
        else:
            last = _day(end, rng.integers(1, 3000))
            patient["last_contact_date"], patient["vital_status"] = (
                max(min(last, cutoff), end),
                "alive",
            )
        sheets["patients"].append(patient)
        for sheet, row in records:
            sheets[sheet].append({"study_id": study_id, **row})
    return RegistryRows(sheets)


def _cell(value: object) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def write_csv(rows: RegistryRows, folder: Path) -> dict[str, Path]:
    """One CSV file per sheet in ``folder``; returns the paths by sheet name."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, records in rows.sheets.items():
        if not records:
            continue
        path = paths[name] = folder / f"{name}.csv"
        columns = [c.name for c in SHEETS[name].columns]
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for record in records:
                writer.writerow([_cell(record.get(c, "")) for c in columns])
    return paths


def write_xlsx(rows: RegistryRows, path: Path) -> Path:
    """One workbook with a sheet per registry sheet (dates as real Excel dates)."""
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    for name, records in rows.sheets.items():
        if not records:
            continue
        sheet = workbook.create_sheet(name)
        columns = [c.name for c in SHEETS[name].columns]
        sheet.append(columns)
        for record in records:
            sheet.append([(record.get(c) if record.get(c) != "" else None) for c in columns])
    workbook.save(path)
    return path
