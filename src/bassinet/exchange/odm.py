"""CDISC ODM 1.3.2 XML: the registry's forms, items and code lists, and its data with audit records.

The Operational Data Model (CDISC ODM 1.3.2, 2013) is how EDC systems and sponsors
exchange study metadata and clinical data. Bassinet writes one file:

- ``Study/MetaDataVersion``: one study event (the registry), one form and item group
  per import sheet (patients; remissions, MRD, courses, transplants and events as
  repeating groups), one ``ItemDef`` per column with its data type and question, and a
  ``CodeList`` for every coded column, all from :data:`bassinet.registry.sheets.SHEETS`;
- ``AdminData``: the users who changed data (from the audit trail) and the centres as
  locations;
- ``ClinicalData``: one ``SubjectData`` per patient (``SubjectKey`` = study id, the
  centre as ``SiteRef``); every ``ItemData`` carries an ``AuditRecord`` of its last
  change (user, location, time, the import run as ``SourceID``) when the audit trail is
  given. A de-identified export leaves the audit trail out.

Values are written as the registry's import sheets hold them (MRD as a fraction,
``negative`` or ``PNQ``), so the data can be read back as an import. The XML is built
with lxml; the tests validate it against the ODM 1.3.2 schema.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
from lxml import etree

from bassinet import __version__
from bassinet.registry.frames import RegistryFrames
from bassinet.registry.sheets import SHEETS, Column

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MDV = "MDV.1"
EVENT = "SE.REGISTRY"
DATA_TYPES = {
    "text": "text",
    "date": "date",
    "number": "float",
    "code": "text",
    "yes_no": "text",
    "mrd": "text",
    "hla": "text",
}
#: Sheet column -> (table, field) whose audit entries date it, where the names differ.
AUDITED_AS = {("mrd", "value"): "result", ("transplants", "mrd_value"): "mrd_result",
              ("transplants", "hla_match"): "hla_matched"}  # fmt: skip
TABLES = {"patients": "patient", "remissions": "remission_assessment", "mrd": "mrd_measurement",
          "courses": "treatment_course", "transplants": "transplant", "events": "event"}  # fmt: skip


def _e(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ODM_NS}}}{tag}", {k: v for k, v in attributes.items()})
    if text is not None:
        element.text = text
    return element


def _oid(*parts: str) -> str:
    return ".".join(p.upper().replace(" ", "_") for p in parts)


def _text(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _mrd(result: Any, value: Any) -> str | None:
    if _text(result) is None:
        return None
    return {"negative": "negative", "positive_nq": "PNQ"}.get(str(result)) or _text(value)


def _metadata(study: etree._Element) -> None:
    mdv = _e(study, "MetaDataVersion", OID=MDV, Name="Bassinet registry", Description="Import sheets")
    protocol = _e(mdv, "Protocol")
    _e(protocol, "StudyEventRef", StudyEventOID=EVENT, OrderNumber="1", Mandatory="Yes")
    event = _e(mdv, "StudyEventDef", OID=EVENT, Name="Registry", Repeating="No", Type="Common")
    for order, name in enumerate(SHEETS, start=1):
        _e(event, "FormRef", FormOID=_oid("F", name), OrderNumber=str(order), Mandatory="Yes" if
           name == "patients" else "No")  # fmt: skip
    for name in SHEETS:
        form = _e(mdv, "FormDef", OID=_oid("F", name), Name=name, Repeating="No")
        _e(form, "ItemGroupRef", ItemGroupOID=_oid("IG", name), Mandatory="Yes")
    for name in SHEETS:
        group = _e(mdv, "ItemGroupDef", OID=_oid("IG", name), Name=name,
                   Repeating="No" if name == "patients" else "Yes")  # fmt: skip
        for order, column in enumerate(_columns(name), start=1):
            _e(group, "ItemRef", ItemOID=_oid("IT", name, column.name), OrderNumber=str(order),
               Mandatory="Yes" if column.required else "No")  # fmt: skip
    code_lists: dict[str, Column] = {}
    for name in SHEETS:
        for column in _columns(name):
            item = _e(mdv, "ItemDef", OID=_oid("IT", name, column.name), Name=column.name,
                      DataType=DATA_TYPES[column.kind])  # fmt: skip
            question = _e(item, "Question")
            _e(question, "TranslatedText", column.doc or column.name.replace("_", " "), **{XML_LANG: "en"})
            if column.codes is not None or column.kind == "yes_no":
                _e(item, "CodeListRef", CodeListOID=_oid("CL", column.name))
                code_lists[column.name] = column
    for name, column in code_lists.items():
        code_list = _e(mdv, "CodeList", OID=_oid("CL", name), Name=name, DataType="text")
        values = [m.value for m in column.codes] if column.codes else ["yes", "no"]
        for value in values:
            item = _e(code_list, "CodeListItem", CodedValue=value)
            _e(_e(item, "Decode"), "TranslatedText", value, **{XML_LANG: "en"})


def _columns(sheet: str) -> list[Column]:
    return [c for c in SHEETS[sheet].columns if c.name != "study_id"]


def _sheet_values(sheet: str, row: dict[Any, Any]) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for column in _columns(sheet):
        if sheet == "mrd" and column.name == "value":
            values["value"] = _mrd(row.get("result"), row.get("value"))
        elif sheet == "transplants" and column.name == "mrd_value":
            values["mrd_value"] = _mrd(row.get("mrd_result"), row.get("mrd_value"))
        elif sheet == "transplants" and column.name == "hla_match":
            matched, typed = _text(row.get("hla_matched")), _text(row.get("hla_typed"))
            values["hla_match"] = None if matched is None or typed is None else f"{matched}/{typed}"
        else:
            values[column.name] = _text(row.get(column.name))
    return values


def write_odm(
    frames: RegistryFrames,
    path: Path,
    *,
    study: str,
    audit_log: pd.DataFrame | None,
) -> Path:
    """Write the registry as an ODM 1.3.2 Snapshot file with metadata, data and audit records."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    root = etree.Element(
        f"{{{ODM_NS}}}ODM",
        {"FileType": "Snapshot", "FileOID": _oid("BASSINET", study, now.replace(":", "")),
         "CreationDateTime": now, "ODMVersion": "1.3.2", "Granularity": "All",
         "SourceSystem": "Bassinet", "SourceSystemVersion": __version__},
        nsmap={None: ODM_NS},
    )  # fmt: skip
    study_oid = _oid("ST", study)
    element = _e(root, "Study", OID=study_oid)
    variables = _e(element, "GlobalVariables")
    _e(variables, "StudyName", study)
    _e(variables, "StudyDescription", "Infant acute leukemia registry (Bassinet)")
    _e(variables, "ProtocolName", study)
    _metadata(element)

    last: dict[tuple[str, int, str], dict[str, Any]] = {}
    users: dict[str, str] = {}
    if audit_log is not None and len(audit_log):
        for actor in audit_log["actor"].astype(str).unique():
            users[actor] = _oid("USR", str(len(users) + 1))
        latest = audit_log.drop_duplicates(["table_name", "record_id", "field"], keep="last")
        for record in latest.to_dict("records"):
            last[(str(record["table_name"]), int(record["record_id"]), str(record["field"]))] = {
                str(k): v for k, v in record.items()
            }
    centres = {str(c): _oid("LOC", str(i)) for i, c in enumerate(sorted(set(frames.patients["centre"])), 1)}
    admin = _e(root, "AdminData", StudyOID=study_oid)
    for actor, oid in users.items():
        _e(_e(admin, "User", OID=oid), "LoginName", actor)
    for centre, oid in centres.items():
        location = _e(admin, "Location", OID=oid, Name=centre, LocationType="Site")
        _e(location, "MetaDataVersionRef", StudyOID=study_oid, MetaDataVersionOID=MDV,
           EffectiveDate=dt.date.today().isoformat())  # fmt: skip

    clinical = _e(root, "ClinicalData", StudyOID=study_oid, MetaDataVersionOID=MDV)
    grouped: dict[str, dict[object, list[dict[str, Any]]]] = {}
    for name in SHEETS:
        if name != "patients":
            grouped[name] = {}
            for record in frames[name].sort_values("id").to_dict("records"):
                grouped[name].setdefault(record["patient_id"], []).append(
                    {str(k): v for k, v in record.items()}
                )
    for patient in frames.patients.sort_values("study_id").to_dict("records"):
        location = centres[str(patient["centre"])]
        subject = _e(clinical, "SubjectData", SubjectKey=str(patient["study_id"]))
        _e(subject, "SiteRef", LocationOID=location)
        event = _e(subject, "StudyEventData", StudyEventOID=EVENT)
        for name in SHEETS:
            rows: list[dict[Any, Any]] = (
                [patient] if name == "patients" else grouped[name].get(patient["id"], [])
            )
            if not rows:
                continue
            form = _e(event, "FormData", FormOID=_oid("F", name))
            for key, row in enumerate(rows, start=1):
                attributes = {"ItemGroupOID": _oid("IG", name)}
                if name != "patients":
                    attributes["ItemGroupRepeatKey"] = str(key)
                group = _e(form, "ItemGroupData", **attributes)
                for column, value in _sheet_values(name, row).items():
                    if value is None:
                        continue
                    item = _e(group, "ItemData", ItemOID=_oid("IT", name, column), Value=value)
                    field = AUDITED_AS.get((name, column), column)
                    change = last.get((TABLES[name], int(row["id"]), field))
                    if change is not None:
                        audit = _e(item, "AuditRecord")
                        _e(audit, "UserRef", UserOID=users[str(change["actor"])])
                        _e(audit, "LocationRef", LocationOID=location)
                        _e(audit, "DateTimeStamp", pd.Timestamp(change["at"]).isoformat())
                        run = change.get("import_run_id")
                        if run is not None and not pd.isna(run):
                            _e(audit, "SourceID", f"import run {int(run)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    etree.ElementTree(root).write(str(path), xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return path
