"""CDISC Dataset-JSON 1.1 for ADaM ADSL and ADTTE, with a define-style metadata file.

Dataset-JSON (CDISC, version 1.1, 2024) carries one dataset per JSON file: file and
study identifiers, the columns (item OID, name, label, data type, length, key
sequence) and the rows as arrays. It is written beside the SAS transport files that
``bassinet endpoints`` and ``bassinet report`` write, from the same ADaM frames (the
endpoints package's ADSL and ADTTE), so both carry the same values. ``define.json``
lists every variable of both datasets with its label, data type, length and origin
(Define-XML 2.1's ``def:Origin`` types: Assigned, Derived, Predecessor), in the spirit
of Define-XML without its XML.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd

from bassinet import __version__
from bassinet.endpoints import ENDPOINTS, ClinicalRecords, derive, to_adsl, to_adtte, write_xpt
from bassinet.registry.frames import RegistryFrames

VERSION = "1.1.0"
MDV = "MDV.ADAM.1"
#: Variable -> (label, origin, description of the derivation or source).
VARIABLES: dict[str, tuple[str, str, str]] = {
    "STUDYID": ("Study Identifier", "Assigned", "The study name given to the export."),
    "USUBJID": ("Unique Subject Identifier", "Derived", "STUDYID-SUBJID."),
    "SUBJID": ("Subject Identifier for the Study", "Predecessor", "patient.study_id"),
    "SITEID": ("Study Site Identifier", "Derived", "The centres numbered in order of name."),
    "SITENAM": ("Study Site Name", "Predecessor", "centre.name"),
    "LEUKTYP": ("Leukemia Type", "Predecessor", "patient.leukemia_type"),
    "RISKGR": ("Interfant-06 Risk Group", "Derived", "bassinet.protocols.interfant06.risk_group."),
    "RANDFL": ("Randomized Population Flag", "Derived", "Y if an arm is on record."),
    "ITTFL": ("Intent-To-Treat Population Flag", "Derived", "Y if randomised (intention to treat)."),
    "SEX": ("Sex", "Predecessor", "patient.sex"),
    "AGE": ("Age at Diagnosis", "Derived", "Days from date_of_birth to diagnosis_date."),
    "AGEU": ("Age Units", "Assigned", "DAYS"),
    "ARM": ("Description of Planned Arm", "Predecessor", "patient.randomisation_arm, else NOT RANDOMISED."),
    "TRT01P": ("Planned Treatment for Period 01", "Derived", "The randomised arm's treatment."),
    "RANDDT": ("Date of Randomization", "Predecessor", "patient.randomisation_date"),
    "RFSTDTC": ("Date of Diagnosis", "Predecessor", "patient.diagnosis_date"),
    "DTHFL": ("Subject Death Flag", "Derived", "Y if a death event is recorded."),
    "DTHDT": ("Date of Death", "Predecessor", "event.event_date of the death."),
    "LSTALVDT": ("Date Last Known Alive", "Predecessor", "patient.last_contact_date"),
    "PARAMCD": ("Parameter Code", "Assigned", "The endpoint's name."),
    "PARAM": ("Parameter", "Assigned", "The endpoint's title and origin."),
    "AVAL": ("Analysis Value", "Derived", "Days from STARTDT to ADT (bassinet.endpoints.derive)."),
    "AVALU": ("Analysis Value Unit", "Assigned", "DAYS"),
    "STARTDT": ("Time-to-Event Origin Date for Subject", "Derived", "The endpoint's origin date."),
    "ADT": ("Analysis Date", "Derived", "The date of the event or of censoring."),
    "CNSR": ("Censor (0 event, 1 censored, 2 competing)", "Derived", "Whether the time ended in the event."),
    "EVNTDESC": ("Event or Censoring Description", "Derived", "What ended the time (events)."),
    "CNSDTDSC": ("Censor Date Description", "Derived", "What ended the time (censoring)."),
}
DATASETS = {
    "ADSL": ("Subject-Level Analysis Dataset", "One record per subject", ["STUDYID", "USUBJID"]),
    "ADTTE": ("Time-to-Event Analysis Dataset", "One record per subject per parameter",
              ["STUDYID", "USUBJID", "PARAMCD"]),
}  # fmt: skip


def _data_type(series: pd.Series) -> str:
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_float_dtype(series):
        return "double"
    return "string"


def _cell(value: Any, kind: str) -> Any:
    if value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value)):
        return None
    if kind == "date":
        return pd.Timestamp(value).date().isoformat()
    if kind == "integer":
        return int(value)
    if kind == "double":
        return float(value)
    return str(value)


def _columns(name: str, frame: pd.DataFrame) -> list[dict[str, Any]]:
    keys = DATASETS[name][2]
    columns = []
    for variable in frame.columns:
        kind = _data_type(frame[variable])
        column: dict[str, Any] = {
            "itemOID": f"IT.{name}.{variable}",
            "name": variable,
            "label": VARIABLES[variable][0],
            "dataType": kind,
        }
        if kind == "string":
            column["length"] = max(1, int(frame[variable].astype(str).str.len().max() or 1))
        if variable in keys:
            column["keySequence"] = keys.index(variable) + 1
        columns.append(column)
    return columns


def dataset_json(name: str, frame: pd.DataFrame, *, study: str, created: str) -> dict[str, Any]:
    """One Dataset-JSON 1.1 document (a dict) of the ADaM dataset ``name`` (ADSL or ADTTE)."""
    columns = _columns(name, frame)
    kinds = [c["dataType"] for c in columns]
    rows = [[_cell(v, k) for v, k in zip(row, kinds, strict=True)] for row in frame.itertuples(index=False)]
    return {
        "datasetJSONCreationDateTime": created,
        "datasetJSONVersion": VERSION,
        "fileOID": f"{study}.{name}",
        "originator": "Bassinet",
        "sourceSystem": {"name": "Bassinet", "version": __version__},
        "studyOID": study,
        "metaDataVersionOID": MDV,
        "metaDataRef": "define.json",
        "itemGroupOID": f"IG.{name}",
        "records": len(rows),
        "name": name,
        "label": DATASETS[name][0],
        "columns": columns,
        "rows": rows,
    }


def define(documents: list[dict[str, Any]], *, study: str, cutoff: dt.date) -> dict[str, Any]:
    """The define-style metadata of the datasets: every variable with label, type, length and origin."""
    datasets = []
    for document in documents:
        name = document["name"]
        variables = []
        for column in document["columns"]:
            _label, origin, description = VARIABLES[column["name"]]
            variables.append({**column, "origin": origin, "description": description})
        datasets.append({
            "name": name, "itemGroupOID": document["itemGroupOID"], "label": document["label"],
            "structure": DATASETS[name][1], "keys": DATASETS[name][2], "file": f"{name.lower()}.json",
            "records": document["records"], "variables": variables,
        })  # fmt: skip
    return {
        "studyOID": study,
        "metaDataVersionOID": MDV,
        "standard": "ADaMIG 1.3; ADaM BDS for time-to-event analyses 1.0",
        "dataCutoff": cutoff.isoformat(),
        "sourceSystem": {"name": "Bassinet", "version": __version__},
        "datasets": datasets,
    }


def write_dataset_json(frames: RegistryFrames, folder: Path, *, study: str, cutoff: dt.date) -> list[Path]:
    """Write ``adsl.json``, ``adtte.json`` (every endpoint, cut at ``cutoff``), ``define.json``, and the
    same datasets as SAS transport beside them (``adsl.xpt``, ``adtte.xpt``)."""
    records = ClinicalRecords.from_frames(frames)
    adsl = to_adsl(records, study=study)
    adtte = to_adtte(derive(records, list(ENDPOINTS), cutoff=cutoff), study=study)
    created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    documents = [dataset_json("ADSL", adsl, study=study, created=created),
                 dataset_json("ADTTE", adtte, study=study, created=created)]  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for document in documents:
        path = folder / f"{document['name'].lower()}.json"
        path.write_text(json.dumps(document, ensure_ascii=False) + "\n", encoding="utf-8")
        paths.append(path)
    path = folder / "define.json"
    path.write_text(
        json.dumps(define(documents, study=study, cutoff=cutoff), indent=1) + "\n", encoding="utf-8"
    )
    paths.append(path)
    paths.append(write_xpt(adsl, folder / "adsl.xpt", name="ADSL", label="Subject-level analysis"))
    paths.append(write_xpt(adtte, folder / "adtte.xpt", name="ADTTE", label="Time-to-event analysis"))
    return paths
