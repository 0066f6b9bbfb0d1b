"""Counts that describe a registry at a glance, from its frames (no database access)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bassinet.registry.frames import RegistryFrames


@dataclass(frozen=True)
class RegistrySummary:
    """Counts of patients, biology, treatment and events."""

    patients: int
    centres: int
    study_groups: int
    by_type_and_kmt2a: pd.DataFrame
    events: pd.Series
    transplants_by_donor: pd.Series
    vital_status: pd.Series
    diagnosis_years: tuple[int, int] | None
    follow_up_days_median: float | None


def summarise(frames: RegistryFrames) -> RegistrySummary:
    """A :class:`RegistrySummary` of the registry's frames."""
    patients = frames.patients
    by_type = (
        pd.crosstab(patients["leukemia_type"], patients["kmt2a_status"]) if len(patients) else pd.DataFrame()
    )
    years = None
    follow_up = None
    if len(patients):
        diagnosed = patients["diagnosis_date"]
        years = (int(diagnosed.min().year), int(diagnosed.max().year))
        alive = patients[patients["vital_status"] == "alive"]
        if len(alive):
            follow_up = float((alive["last_contact_date"] - alive["diagnosis_date"]).dt.days.median())
    return RegistrySummary(
        patients=len(patients),
        centres=len(frames.centres),
        study_groups=len(frames.study_groups),
        by_type_and_kmt2a=by_type,
        events=frames.events["event_type"].value_counts().sort_index(),
        transplants_by_donor=frames.transplants["donor_type"].value_counts().sort_index(),
        vital_status=patients["vital_status"].value_counts().sort_index(),
        diagnosis_years=years,
        follow_up_days_median=follow_up,
    )
