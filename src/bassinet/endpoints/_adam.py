"""The derived endpoints as CDISC ADaM: ADSL (one row per subject) and ADTTE (one per subject and endpoint).

Trial statisticians exchange time-to-event data as ADaM's Basic Data Structure for
time-to-event analysis (ADTTE) with the subject-level ADSL beside it (CDISC ADaM
Implementation Guide 1.3; ADaM Basic Data Structure for Time-to-Event Analyses 1.0).
The variables written are the required and common ones:

- ADSL: STUDYID, USUBJID, SUBJID, SITEID, SEX, AGE and AGEU (days), ARM, TRT01P,
  RANDDT, RFSTDTC (diagnosis), DTHFL, DTHDT, LSTALVDT.
- ADTTE: STUDYID, USUBJID, PARAMCD, PARAM, AVAL (days), AVALU, STARTDT, ADT, CNSR,
  EVNTDESC, CNSDTDSC. CNSR is 0 for the event; ADaM reserves positive values for
  censoring, so 1 is censored and, for an endpoint with competing events, 2 is a
  competing event (EVNTDESC says which).

:func:`write_xpt` writes both as SAS transport (XPORT version 5) files with pyreadstat,
the format regulators and SAS read.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bassinet.endpoints._definitions import ENDPOINTS
from bassinet.endpoints._derive import ClinicalRecords


def to_adsl(records: ClinicalRecords, *, study: str) -> pd.DataFrame:
    """The subject-level dataset of the patients in ``records``."""
    p = records.patients
    deaths = records.events[records.events["event_type"] == "death"].groupby("study_id")["event_date"].min()
    born = pd.to_datetime(p["date_of_birth"]) if "date_of_birth" in p else pd.Series(pd.NaT, index=p.index)
    arm = p["randomisation_arm"] if "randomisation_arm" in p else pd.Series(None, index=p.index)
    frame = pd.DataFrame(
        {
            "STUDYID": study,
            "USUBJID": study + "-" + p["study_id"].astype(str),
            "SUBJID": p["study_id"].astype(str),
            "SITEID": p["centre"].astype(str) if "centre" in p else "",
            "SEX": p["sex"].astype(str) if "sex" in p else "",
            "AGE": (p["diagnosis_date"] - born).dt.days,
            "AGEU": "DAYS",
            "ARM": arm.fillna("NOT RANDOMISED").astype(str),
            "TRT01P": arm.map({"IB": "IB", "ADE_MAE": "ADE + MAE"}).fillna("").astype(str),
            "RANDDT": p["randomisation_date"],
            "RFSTDTC": p["diagnosis_date"].dt.strftime("%Y-%m-%d"),
            "DTHFL": p["study_id"].isin(deaths.index).map({True: "Y", False: ""}),
            "DTHDT": p["study_id"].map(deaths),
            "LSTALVDT": p["last_contact_date"],
        }
    )
    return frame.reset_index(drop=True)


def to_adtte(derived: pd.DataFrame, *, study: str) -> pd.DataFrame:
    """The time-to-event dataset of :func:`~bassinet.endpoints.derive`'s frame."""
    censored = derived["status"] == 0
    competing = derived["status"] == 2
    titles = {name: e.title for name, e in ENDPOINTS.items()}
    param = derived["endpoint"].map(titles).fillna(derived["endpoint"])
    origin = derived["origin"].map(
        {"diagnosis": "", "remission": " from remission", "randomisation": " from randomisation",
         "transplant": " from transplant"}
    )  # fmt: skip
    return pd.DataFrame(
        {
            "STUDYID": study,
            "USUBJID": study + "-" + derived["study_id"].astype(str),
            "PARAMCD": derived["endpoint"].astype(str).str.upper().str[:8],
            "PARAM": (param + origin.fillna("")).str.capitalize(),
            "AVAL": derived["time_days"].astype(float),
            "AVALU": "DAYS",
            "STARTDT": derived["origin_date"],
            "ADT": derived["end_date"],
            "CNSR": derived["status"].map({1: 0, 0: 1, 2: 2}).astype(int),
            "EVNTDESC": derived["event"].where(~censored, "").str.upper(),
            "CNSDTDSC": derived["event"].where(censored, "").str.replace("censored: ", "").str.upper()
            + competing.map({True: "COMPETING EVENT", False: ""}),
        }
    ).reset_index(drop=True)


def write_xpt(frame: pd.DataFrame, path: Path, *, name: str, label: str) -> Path:
    """Write ``frame`` as a SAS transport (XPORT v5) file; dates become SAS dates."""
    import pyreadstat

    from bassinet.registry.escaping import check_sas_transport

    check_sas_transport(frame, dataset=name, label=label)
    out = frame.copy()
    formats = {}
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.date
            formats[column] = "DATE9."
    pyreadstat.write_xport(
        out, str(path), file_format_version=5, table_name=name, file_label=label, variable_format=formats
    )
    return path
