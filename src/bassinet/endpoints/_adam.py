"""The derived endpoints as CDISC ADaM: ADSL (one row per subject) and ADTTE (one per subject and endpoint).

Trial statisticians exchange time-to-event data as ADaM's Basic Data Structure for
time-to-event analysis (ADTTE) with the subject-level ADSL beside it (CDISC ADaM
Implementation Guide 1.3; ADaM Basic Data Structure for Time-to-Event Analyses 1.0).
The variables written are the required and common ones:

- ADSL: STUDYID, USUBJID, SUBJID, SITEID (a code) and SITENAM, SEX, AGE and AGEU (days),
  LEUKTYP, RISKGR, ARM, TRT01P, RANDFL, ITTFL, RANDDT, RFSTDTC (diagnosis), DTHFL, DTHDT,
  LSTALVDT.
- ADTTE: STUDYID, USUBJID, PARAMCD, PARAM, AVAL (days), AVALU, STARTDT, ADT, CNSR,
  EVNTDESC, CNSDTDSC. CNSR is 0 for the event; ADaM reserves positive values for
  censoring, so 1 is censored and, for an endpoint with competing events, 2 is a
  competing event (EVNTDESC says which).

:func:`write_xpt` writes both as SAS transport (XPORT version 5) files (Bassinet's own
writer, :mod:`bassinet.endpoints._xport`, byte for byte the files pyreadstat writes),
the format regulators and SAS read, with a label on every variable. Read them back with
pyreadstat (or R's ``foreign::read.xport``): pandas' ``read_sas`` misreads stored zeros
as tiny numbers in some files (pandas issue 50670).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from bassinet.endpoints._definitions import ENDPOINTS
from bassinet.endpoints._derive import ClinicalRecords

#: The ADaM variable labels (at most 40 characters, as SAS transport v5 allows).
LABELS = {
    "STUDYID": "Study Identifier",
    "USUBJID": "Unique Subject Identifier",
    "SUBJID": "Subject Identifier for the Study",
    "SITEID": "Study Site Identifier",
    "SITENAM": "Study Site Name",
    "SEX": "Sex",
    "AGE": "Age at Diagnosis",
    "AGEU": "Age Units",
    "ARM": "Description of Planned Arm",
    "TRT01P": "Planned Treatment for Period 01",
    "RANDDT": "Date of Randomization",
    "RANDFL": "Randomized Population Flag",
    "ITTFL": "Intent-To-Treat Population Flag",
    "RISKGR": "Interfant-06 Risk Group",
    "LEUKTYP": "Leukemia Type",
    "RFSTDTC": "Date of Diagnosis",
    "DTHFL": "Subject Death Flag",
    "DTHDT": "Date of Death",
    "LSTALVDT": "Date Last Known Alive",
    "PARAMCD": "Parameter Code",
    "PARAM": "Parameter",
    "AVAL": "Analysis Value",
    "AVALU": "Analysis Value Unit",
    "STARTDT": "Time-to-Event Origin Date for Subject",
    "ADT": "Analysis Date",
    "CNSR": "Censor (0 event, 1 censored, 2 competing)",
    "EVNTDESC": "Event or Censoring Description",
    "CNSDTDSC": "Censor Date Description",
}

#: PARAMCD suffix of an endpoint measured from another origin than its own (OS from transplant: OSTX).
ORIGIN_CODES = {"diagnosis": "DX", "remission": "CR", "randomisation": "RND", "transplant": "TX"}


def paramcd(endpoint: str, origin: str) -> str:
    """The ADTTE parameter code: the endpoint's name, with the origin's code if not its own origin."""
    own = ENDPOINTS[endpoint].origin if endpoint in ENDPOINTS else origin
    return (endpoint.upper() + ("" if origin == own else ORIGIN_CODES.get(origin, origin[:3].upper())))[:8]


def to_adsl(records: ClinicalRecords, *, study: str, risk_group: pd.Series | None = None) -> pd.DataFrame:
    """The subject-level dataset of the patients in ``records``.

    ``risk_group`` (indexed by study ID) fills RISKGR; RANDFL and ITTFL are "Y" for the
    randomised (the randomised comparison is by intention to treat), SITEID numbers the
    centres in order of name, SITENAM keeps the name.
    """
    p = records.patients.reset_index(drop=True)
    ev = records.events
    died = ev[ev["event_type"] == "death"]
    deaths = pd.to_datetime(died.groupby("study_id")["event_date"].min(), errors="coerce")
    born = pd.to_datetime(p["date_of_birth"]) if "date_of_birth" in p else pd.Series(pd.NaT, index=p.index)
    arm = p["randomisation_arm"] if "randomisation_arm" in p else pd.Series(None, index=p.index, dtype=object)
    randomised = arm.notna()
    centre = p["centre"].astype(str) if "centre" in p else pd.Series("", index=p.index)
    codes = {name: f"{k + 1:03d}" for k, name in enumerate(sorted(centre.unique()))}
    death_date = pd.to_datetime(p["study_id"].map(deaths.to_dict()), errors="coerce")
    groups = (
        p["study_id"].map(risk_group.to_dict()).fillna("").astype(str)
        if risk_group is not None
        else pd.Series("", index=p.index)
    )
    frame = pd.DataFrame(
        {
            "STUDYID": study,
            "USUBJID": study + "-" + p["study_id"].astype(str),
            "SUBJID": p["study_id"].astype(str),
            "SITEID": centre.map(codes),
            "SITENAM": centre.str[:200],
            "SEX": p["sex"].astype(str) if "sex" in p else "",
            "AGE": (pd.to_datetime(p["diagnosis_date"]) - born).dt.days.astype(float),
            "AGEU": "DAYS",
            "LEUKTYP": p["leukemia_type"].fillna("").astype(str) if "leukemia_type" in p else "",
            "RISKGR": groups,
            "ARM": arm.fillna("NOT RANDOMISED").astype(str),
            "TRT01P": arm.map({"IB": "IB", "ADE_MAE": "ADE + MAE"}).fillna("").astype(str),
            "RANDFL": randomised.map({True: "Y", False: "N"}),
            "ITTFL": randomised.map({True: "Y", False: "N"}),
            "RANDDT": pd.to_datetime(p["randomisation_date"]),
            "RFSTDTC": pd.to_datetime(p["diagnosis_date"]).dt.strftime("%Y-%m-%d"),
            "DTHFL": death_date.notna().map({True: "Y", False: ""}),
            "DTHDT": death_date,
            "LSTALVDT": pd.to_datetime(p["last_contact_date"]),
        }
    )
    return frame


def to_adtte(derived: pd.DataFrame, *, study: str) -> pd.DataFrame:
    """The time-to-event dataset of :func:`~bassinet.endpoints.derive`'s frame.

    One parameter per endpoint and origin: PARAMCD is the endpoint's name from its own
    origin (OS, EFS, DFS, CIR, NRM, TRM) and carries the origin's code otherwise (OSTX:
    OS from transplant; DFSRND: DFS from randomisation), so that no two origins share one.
    """
    censored = derived["status"] == 0
    competing = derived["status"] == 2
    titles = {name: e.title for name, e in ENDPOINTS.items()}
    # Parameter code and name depend on the endpoint and origin only: made once per pair.
    endpoints, endpoint_names = pd.factorize(derived["endpoint"].astype(str))
    origins, origin_names = pd.factorize(derived["origin"].astype(str))
    pairs = [(e, o) for e in endpoint_names for o in origin_names]
    code_of = np.array([paramcd(e, o) for e, o in pairs] + [""], dtype=object)
    param_of = np.array([f"{titles.get(e, e)} from {o}".capitalize() for e, o in pairs] + [""], dtype=object)
    pair = endpoints * len(origin_names) + origins
    return pd.DataFrame(
        {
            "STUDYID": study,
            "USUBJID": study + "-" + derived["study_id"].astype(str),
            "PARAMCD": code_of[pair] if len(pair) else [],  # no rows: the empty column of before
            "PARAM": param_of[pair],
            "AVAL": derived["time_days"].astype(float),
            "AVALU": "DAYS",
            "STARTDT": derived["origin_date"],
            "ADT": derived["end_date"],
            "CNSR": derived["status"].map({1: 0, 0: 1, 2: 2}).astype(int),
            "EVNTDESC": _per_distinct(derived["event"].where(~censored, ""), str.upper),
            "CNSDTDSC": _per_distinct(
                derived["event"].where(censored, ""), lambda x: x.replace("censored: ", "").upper()
            )
            + competing.map({True: "COMPETING EVENT", False: ""}),
        }
    ).reset_index(drop=True)


def _per_distinct(values: pd.Series, change: Callable[[str], str]) -> pd.Series:
    """``change`` applied to each text value, computed once per distinct value (NaN where not text)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    done = [change(u) if isinstance(u, str) else np.nan for u in uniques] + [np.nan]
    return pd.Series(np.array(done, dtype=object)[codes], index=values.index)


def _may_not_fit(frame: pd.DataFrame) -> bool:
    """Whether a text cell of ``frame`` may be non-ASCII or longer than SAS transport v5 holds."""
    from bassinet.registry.escaping import XPORT_TEXT

    for column in frame.columns:
        if frame[column].dtype != object:
            continue
        text = frame[column].to_numpy(dtype=object).tolist()
        try:
            joined = "".join(text)
        except TypeError:  # gaps or numbers among the text: the text cells only
            text = [v for v in text if isinstance(v, str)]
            joined = "".join(text)
        if not joined.isascii() or max(map(len, text), default=0) > XPORT_TEXT:
            return True
    return False


def write_xpt(frame: pd.DataFrame, path: Path, *, name: str, label: str) -> Path:
    """Write ``frame`` as a SAS transport (XPORT v5) file; dates become SAS dates (``DATE9.``).

    The writer is Bassinet's own (:mod:`bassinet.endpoints._xport`, why there): the
    files are pyreadstat's, byte for byte but for the creation time, in a fraction of its time.
    """
    from bassinet.endpoints._xport import write_xport
    from bassinet.registry.escaping import check_sas_transport

    # The check reads every text cell in Python; where the whole column's text is ASCII
    # and no value is longer than the limit it cannot object, and only the names are checked.
    check_sas_transport(frame if _may_not_fit(frame) else frame.iloc[:0], dataset=name, label=label)
    formats = {c: "DATE9." for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])}
    write_xport(
        frame,
        path,
        table_name=name,
        file_label=label,
        variable_format=formats,
        column_labels=[LABELS.get(c, c)[:40] for c in frame.columns],
    )
    return path
