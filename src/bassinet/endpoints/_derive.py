"""Deriving endpoints from dated clinical records: one row per patient per endpoint.

The records are four tables keyed by ``study_id`` (:class:`ClinicalRecords`), built
from the registry's frames (:meth:`ClinicalRecords.from_frames`) or from any tables of
the same shape. :func:`derive` reads them with an :class:`~._definitions.Endpoint` and a
data cut-off date and returns a DataFrame: patient, endpoint, origin date, end date,
time in days, status (1/0; for competing risks the cause: 1 the event, 2 competing,
0 censored) and a description of what ended the time.

Rules, in the trials' terms:

- Only events on or after the origin count (a relapse before a transplant does not end
  transplant-related mortality); an event on the origin date is an event at time 0.
- Resistant disease is an event at day 0 when the endpoint says so (EFS by default).
- Several events on one date are taken in the clinical order resistant disease,
  relapse, second malignancy, death: a death on the day of a relapse is a death after
  relapse, so the relapse is the event for EFS and CIR.
- Time is censored at the last contact or the data cut-off, whichever is first; an
  event after the cut-off is not seen. Patients whose origin is missing or after the
  cut-off have no row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np
import pandas as pd

from bassinet.endpoints._definitions import Endpoint, get_endpoint
from bassinet.errors import DataError

if TYPE_CHECKING:
    from bassinet.registry.frames import RegistryFrames

#: Order of events that fall on one date.
SEQUENCE = {
    kind: rank
    for rank, kind in enumerate(
        (
            "resistant_disease",
            "agvhd_2_4",
            "agvhd_3_4",
            "cgvhd",
            "cgvhd_systemic",
            "relapse",
            "second_malignancy",
            "death",
        )
    )
}
GVHD_WORDS = {
    "agvhd_2_4": "acute GVHD grade II-IV",
    "agvhd_3_4": "acute GVHD grade III-IV",
    "cgvhd": "chronic GVHD",
    "cgvhd_systemic": "chronic GVHD needing systemic treatment",
}
#: Which transplant records make each GVHD event: (grade column, grades, date column).
GVHD_EVENTS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "agvhd_2_4": ("agvhd_grade", ("II", "III", "IV"), "agvhd_date"),
    "agvhd_3_4": ("agvhd_grade", ("III", "IV"), "agvhd_date"),
    "cgvhd": ("cgvhd_severity", ("mild", "moderate", "severe"), "cgvhd_date"),
    "cgvhd_systemic": ("cgvhd_severity", ("mild", "moderate", "severe"), "cgvhd_date"),
}
T = TypeVar("T")
COLUMNS = ["study_id", "endpoint", "origin", "origin_date", "end_date", "time_days", "status", "event"]


def _dates(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_datetime(frame[column]) if column in frame else pd.Series(pd.NaT, index=frame.index)


@dataclass(frozen=True)
class ClinicalRecords:
    """The dated records endpoints are derived from, each a DataFrame with ``study_id``.

    Attributes
    ----------
    patients
        ``diagnosis_date``, ``last_contact_date``, ``vital_status``, ``randomisation_date``.
    remissions
        ``assessment_date``, ``status`` ("CR" or "no_CR").
    events
        ``event_type`` (resistant_disease, relapse, death, second_malignancy), ``event_date``.
    transplants
        ``transplant_date``; for the GVHD endpoints also ``agvhd_grade``, ``agvhd_date``,
        ``cgvhd_severity``, ``cgvhd_date``, ``cgvhd_systemic_treatment`` (missing columns
        read as no GVHD recorded).
    """

    patients: pd.DataFrame
    remissions: pd.DataFrame
    events: pd.DataFrame
    transplants: pd.DataFrame

    @classmethod
    def from_tables(
        cls,
        patients: pd.DataFrame,
        remissions: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
        transplants: pd.DataFrame | None = None,
    ) -> ClinicalRecords:
        """Records from tables keyed by ``study_id``; dates may be text, dates or timestamps."""
        empty = {
            "remissions": ["study_id", "assessment_date", "status"],
            "events": ["study_id", "event_type", "event_date"],
            "transplants": ["study_id", "transplant_date", "agvhd_date", "cgvhd_date"],
        }
        given = {"remissions": remissions, "events": events, "transplants": transplants}
        tables = {}
        for name, frame in given.items():
            frame = pd.DataFrame(columns=empty[name]) if frame is None or not len(frame) else frame.copy()
            for column in empty[name]:
                if column.endswith("_date"):
                    frame[column] = _dates(frame, column)
            tables[name] = frame
        patients = patients.copy()
        for column in ("diagnosis_date", "last_contact_date", "randomisation_date"):
            patients[column] = _dates(patients, column)
        return cls(patients, tables["remissions"], tables["events"], tables["transplants"])

    @classmethod
    def from_frames(cls, frames: RegistryFrames) -> ClinicalRecords:
        """Records from the registry's frames (``read_frames``), with ``study_id`` on every table."""
        ids = frames.patients.set_index("id")["study_id"]

        def keyed(frame: pd.DataFrame) -> pd.DataFrame:
            return frame.assign(study_id=frame["patient_id"].map(ids))

        return cls.from_tables(
            frames.patients,
            keyed(frames.remissions),
            keyed(frames.events),
            keyed(frames.transplants),
        )

    def memo(self, key: Hashable, build: Callable[[], T]) -> T:
        """``build()``, computed once per records object and ``key`` and kept on the object.

        The records are read, never changed, once built: what is kept here (the origin
        dates, a plan's derived variables) stays right as long as their tables are not
        changed in place. A new records object (:meth:`subset`, :meth:`from_tables`)
        starts with nothing kept.
        """
        store: dict[Hashable, Any] = self.__dict__.setdefault("_memo", {})
        if key not in store:
            store[key] = build()
        return cast(T, store[key])

    def subset(self, study_ids: Iterable[str]) -> ClinicalRecords:
        """The records of these patients only."""
        keep = set(study_ids)
        return ClinicalRecords(
            *(
                frame[frame["study_id"].isin(keep)]
                for frame in (self.patients, self.remissions, self.events, self.transplants)
            )
        )

    def origin_dates(self) -> pd.DataFrame:
        """Each patient's possible origins: diagnosis, first CR, randomisation, first transplant."""
        p = self.patients.set_index("study_id")
        cr = self.remissions[self.remissions["status"] == "CR"].groupby("study_id")["assessment_date"].min()
        transplant = self.transplants.groupby("study_id")["transplant_date"].min()
        return pd.DataFrame(
            {
                "diagnosis": p["diagnosis_date"],
                "remission": cr.reindex(p.index),
                "randomisation": p["randomisation_date"],
                "transplant": transplant.reindex(p.index),
            }
        )


def check_cutoff(records: ClinicalRecords, cutoff: dt.date) -> pd.Timestamp:
    """The cut-off as a timestamp, refused before the first diagnosis or with follow-up missing."""
    stamp = pd.Timestamp(cutoff)
    patients = records.patients
    if not len(patients):
        raise DataError("the records hold no patients: there is nothing to derive")
    first = patients["diagnosis_date"].min()
    if stamp < first:
        raise DataError(
            f"data cut-off {stamp.date()} is before the first diagnosis ({first.date()}): "
            "the cut-off must follow the patients' diagnoses"
        )
    missing = patients[patients["last_contact_date"].isna()]
    if len(missing):
        raise DataError(
            f"patient {missing['study_id'].iloc[0]}: last_contact_date is missing: every patient needs "
            f"a follow-up date to be censored at ({len(missing)} patients have none)"
        )
    return stamp


def derive(
    records: ClinicalRecords,
    endpoints: Iterable[Endpoint | str],
    *,
    cutoff: dt.date,
) -> pd.DataFrame:
    """One row per patient per endpoint, censored at the last contact and at ``cutoff``.

    Parameters
    ----------
    records
        The dated records (:class:`ClinicalRecords`).
    endpoints
        Endpoints or their names (``"OS"``, ``"EFS"``, ...).
    cutoff
        The data cut-off date: events after it are not seen.

    Returns
    -------
    pandas.DataFrame
        Columns ``study_id, endpoint, origin, origin_date, end_date, time_days, status,
        event``.
    """
    stamp = check_cutoff(records, cutoff)
    origins = records.memo(("origin dates",), records.origin_dates)
    frames = []
    for e in endpoints:
        endpoint = e if isinstance(e, Endpoint) else get_endpoint(e)
        # Kept per records object: a plan derives one endpoint for several analyses.
        build = partial(_derive_one, records, origins, endpoint, stamp)
        one = records.memo(("derived", endpoint, stamp), build)
        frames.append(one.copy())
    kept = [f for f in frames if len(f)]  # pandas warns on concatenating empty frames (their dtypes)
    if not kept:
        return frames[0] if frames else pd.DataFrame(columns=COLUMNS)
    return pd.concat(kept, ignore_index=True)


def _derive_one(
    records: ClinicalRecords, origins: pd.DataFrame, endpoint: Endpoint, cutoff: pd.Timestamp
) -> pd.DataFrame:
    p = records.patients.set_index("study_id")
    origin = origins[endpoint.origin]
    keep = origin.notna() & (origin <= cutoff)
    graded = [GVHD_EVENTS[kind][0] for kind in (*endpoint.events, *endpoint.competing) if kind in GVHD_EVENTS]
    if graded:
        keep &= origin.index.isin(gvhd_recorded(records.transplants, graded))
    origin = origin[keep]
    if not len(origin):
        return pd.DataFrame(columns=COLUMNS)
    last = p.loc[origin.index, "last_contact_date"]
    censor = last.where(last <= cutoff, cutoff)
    censor_reason = np.where(last <= cutoff, "censored: last contact", "censored: data cut-off")

    kinds = {kind: 1 for kind in endpoint.events} | {kind: 2 for kind in endpoint.competing}
    events = records.events[records.events["event_type"].isin(list(kinds))][
        ["study_id", "event_type", "event_date"]
    ]
    wanted = [kind for kind in kinds if kind in GVHD_EVENTS]
    if wanted:
        gvhd = records.memo(("gvhd events",), partial(gvhd_events, records.transplants))
        kept = [f for f in (events, gvhd[gvhd["event_type"].isin(wanted)]) if len(f)]
        events = pd.concat(kept, ignore_index=True) if kept else events
    events = events[events["study_id"].isin(origin.index)]
    events = events.assign(origin_date=origin.reindex(events["study_id"]).to_numpy())
    events = events[events["event_date"] >= events["origin_date"]]
    if endpoint.resistant_at_day0:
        resistant = events["event_type"] == "resistant_disease"
        events.loc[resistant, "event_date"] = events.loc[resistant, "origin_date"]
    events = events[events["event_date"] <= cutoff]
    events = events.assign(rank=events["event_type"].map(SEQUENCE))
    first = events.sort_values(["study_id", "event_date", "rank"]).drop_duplicates("study_id")
    first = first.set_index("study_id").reindex(origin.index)

    has_event = first["event_date"].notna().to_numpy()
    end = pd.DatetimeIndex(np.where(has_event, first["event_date"].to_numpy(), censor.to_numpy()))
    status = np.where(has_event, first["event_type"].map(kinds).fillna(0).to_numpy(), 0).astype(np.int64)
    words = first["event_type"].fillna("").map(lambda kind: GVHD_WORDS.get(kind, kind.replace("_", " ")))
    description = np.where(has_event, words, censor_reason)
    if endpoint.resistant_at_day0:
        description = np.where(description == "resistant disease", "resistant disease (day 0)", description)
    before = end < pd.DatetimeIndex(origin.to_numpy())
    if before.any():
        who = origin.index[before][0]
        raise DataError(
            f"patient {who}: last_contact_date {last[who].date()} is before the {endpoint.origin} date "
            f"{origin[who].date()} that starts {endpoint.name}: follow-up cannot end before it starts"
        )
    frame = pd.DataFrame(
        {
            "study_id": origin.index.to_numpy(),
            "endpoint": endpoint.name,
            "origin": endpoint.origin,
            "origin_date": origin.to_numpy(),
            "end_date": end,
            "time_days": (end - pd.DatetimeIndex(origin.to_numpy())).days.to_numpy(),
            "status": status,
            "event": description,
        }
    )
    return frame[COLUMNS]


def gvhd_recorded(transplants: pd.DataFrame, columns: Iterable[str]) -> pd.Index:
    """The patients with a transplant whose GVHD status is recorded in any of ``columns``.

    GVHD not recorded is unknown, not absent: a transplant without an acute GVHD grade
    has no row for the acute GVHD incidences, one without a chronic GVHD severity none
    for chronic GVHD, and one with neither none for GRFS (a recorded acute grade with the
    chronic severity left empty counts as no chronic GVHD there).
    """
    present = [c for c in columns if c in transplants]
    if not present:
        return pd.Index([])
    recorded = transplants[present].notna().any(axis=1)
    ids: list[object] = transplants.loc[recorded, "study_id"].unique().tolist()
    return pd.Index(ids)


def gvhd_events(transplants: pd.DataFrame) -> pd.DataFrame:
    """The GVHD events of the transplant records as rows ``study_id, event_type, event_date``.

    A record of acute GVHD of maximum grade III or IV makes both an ``agvhd_3_4`` and an
    ``agvhd_2_4`` event at ``agvhd_date``; a chronic GVHD (mild to severe) makes a ``cgvhd``
    event at ``cgvhd_date``, and a ``cgvhd_systemic`` one too if it needed systemic
    treatment. Records without a grade or a date make none.
    """
    parts = []
    for kind, (grade_column, grades, date_column) in GVHD_EVENTS.items():
        if grade_column not in transplants or date_column not in transplants:
            continue
        hit = transplants[grade_column].isin(list(grades)) & transplants[date_column].notna()
        if kind == "cgvhd_systemic":
            treated = transplants.get("cgvhd_systemic_treatment")
            if treated is None:
                continue
            # True from the registry's frames, "yes" from import-format rows
            hit &= treated.astype(str).str.casefold().isin(["true", "yes", "1", "1.0"]).to_numpy()
        chosen = transplants.loc[hit, ["study_id", date_column]]
        parts.append(
            pd.DataFrame(
                {
                    "study_id": chosen["study_id"].to_numpy(),
                    "event_type": kind,
                    "event_date": pd.to_datetime(chosen[date_column]).to_numpy(),
                }
            )
        )
    kept = [p for p in parts if len(p)]
    if not kept:
        return pd.DataFrame(
            {
                "study_id": pd.Series(dtype=object),
                "event_type": pd.Series(dtype=object),
                "event_date": pd.Series(dtype="datetime64[ns]"),
            }
        )
    return pd.concat(kept, ignore_index=True)
