"""Reading FHIR bundles written by :mod:`.fhir` back into a registry, through the importer.

Every bundle and every resource in it is validated with ``fhir.resources`` (R4 models);
a bundle holding a resource of a type Bassinet does not write, or an Observation whose
code it does not know, is refused naming the file, the entry and the value, and nothing
is written. The patients' records become the registry's sheets and go through
:func:`bassinet.registry.import_files`: the same validation, audit and all-or-nothing
as every import. Risk groups are not read back: ``bassinet stratify`` recomputes them.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine

from bassinet.errors import DataError
from bassinet.exchange.fhir import CODES, EXTENSION, STUDY_ID, TRANSPLANT_EXTENSIONS
from bassinet.registry.importer import ImportReport, import_files
from bassinet.registry.problems import ImportRejected, Problem
from bassinet.registry.sheets import SHEETS

#: Key of each row's origin, "FILE entry N", for the importer's problems (not a registry column).
ORIGIN = "_origin"
RESOURCE_TYPES = ("Patient", "Organization", "Condition", "Observation", "Procedure")
Rows = dict[str, list[dict[str, str]]]


def _validate(where: str, resource: Any) -> dict[str, Any]:
    from fhir.resources.R4B import get_fhir_model_class

    if not isinstance(resource, dict) or "resourceType" not in resource:
        raise DataError(f"{where}: not a FHIR resource (no resourceType)")
    kind = resource["resourceType"]
    if kind not in RESOURCE_TYPES:
        raise DataError(
            f"{where}: resourceType '{kind}' is not one Bassinet reads ({', '.join(RESOURCE_TYPES)})"
        )
    try:
        get_fhir_model_class(kind).model_validate(resource)
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(p) for p in first["loc"])
        raise DataError(f"{where}: {kind}.{place}: {first['msg']}") from None
    return resource


def _own(concept: dict[str, Any] | None, field: str, where: str) -> str:
    for coding in (concept or {}).get("coding", []):
        if coding.get("system") == CODES + field:
            return str(coding["code"])
    raise DataError(f"{where}: no {field} code (system {CODES + field})")


def _bundle_rows(path: Path, rows: Rows) -> None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a JSON file: {exc}") from exc
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        kind = document.get("resourceType") if isinstance(document, dict) else type(document).__name__
        raise DataError(f"{path}: resourceType '{kind}' is not a Bundle")
    entries = document.get("entry") or []
    resources = {}
    for index, entry in enumerate(entries):
        where = f"{path} entry {index}"
        resource = _validate(where, entry.get("resource"))
        resources[entry.get("fullUrl", f"#{index}")] = (where, resource)
    from fhir.resources.R4B.bundle import Bundle

    try:
        Bundle.model_validate(document)
    except ValidationError as exc:
        raise DataError(f"{path}: not a valid Bundle: {exc.errors()[0]['msg']}") from None
    patients = [(w, r) for w, r in resources.values() if r["resourceType"] == "Patient"]
    if len(patients) != 1:
        raise DataError(f"{path}: a bundle holds one Patient, this one {len(patients)}")
    where, person = patients[0]
    ids = [i for i in person.get("identifier", []) if i.get("system") == STUDY_ID]
    if not ids:
        raise DataError(f"{where}: Patient has no identifier of system {STUDY_ID}")
    study_id = str(ids[0]["value"])
    centre_where, centre = resources.get(person["managingOrganization"]["reference"], (where, {}))
    patient: dict[str, str] = {
        ORIGIN: where,
        "study_id": study_id,
        "centre": str(centre.get("name", "")),
        "sex": {"male": "M", "female": "F"}.get(person.get("gender", ""), person.get("gender", "")),
        "date_of_birth": person.get("birthDate", ""),
    }
    group = resources.get((centre.get("partOf") or {}).get("reference", ""))
    if group:
        patient["study_group"] = str(group[1].get("name", ""))
        for extension in group[1].get("extension", []):
            if extension["url"] == EXTENSION + "original-country":
                patient["original_country"] = "yes" if extension["valueBoolean"] else "no"
    del centre_where
    rows["patients"].append(patient)
    for where, r in resources.values():
        kind = r["resourceType"]
        if kind == "Condition":
            patient["leukemia_type"] = _own(r.get("code"), "leukemia_type", where)
            patient["diagnosis_date"] = r.get("onsetDateTime", "")
        elif kind == "Observation":
            _observation(where, r, study_id, patient, rows)
        elif kind == "Procedure":
            _procedure(where, r, study_id, rows)


def _observation(where: str, r: dict[str, Any], study_id: str, patient: dict[str, str], rows: Rows) -> None:
    codes = {str(c.get("system")): str(c.get("code")) for c in r["code"].get("coding", [])}
    field = codes.get(CODES + "observation", "")
    when = r.get("effectiveDateTime", "")
    concept = r.get("valueCodeableConcept")
    component = {c["code"].get("text"): c for c in r.get("component", [])}
    if not field and CODES + "event_type" in codes:
        event = {
            ORIGIN: where,
            "study_id": study_id,
            "event_type": str(codes[CODES + "event_type"]),
            "event_date": when,
        }
        if concept:
            kind = "relapse_site" if event["event_type"] == "relapse" else "death_cause"
            event[kind] = _own(concept, kind, where)
        rows["events"].append(event)
    elif field == "vital_status":
        patient["vital_status"] = _own(concept, "vital_status", where)
        patient["last_contact_date"] = when
    elif field == "remission":
        rows["remissions"].append({
            ORIGIN: where,
            "study_id": study_id,
            "time_point": _own(component["time point"]["valueCodeableConcept"], "time_point", where),
            "assessment_date": when,
            "status": _own(concept, "remission_status", where),
        })  # fmt: skip
    elif field == "mrd":
        value = (
            str(r["valueQuantity"]["value"]) if "valueQuantity" in r else _own(concept, "mrd_result", where)
        )
        rows["mrd"].append({
            ORIGIN: where,
            "study_id": study_id,
            "time_point": _own(component["time point"]["valueCodeableConcept"], "time_point", where),
            "measured_on": when,
            "method": _own(r.get("method"), "mrd_method", where),
            "value": {"positive_nq": "PNQ"}.get(value, value),
        })  # fmt: skip
    elif field == "risk_group":
        return
    elif field in SHEETS["patients"].by_name:
        if "valueQuantity" in r:
            patient[field] = str(r["valueQuantity"]["value"])
        elif "valueString" in r:
            patient[field] = str(r["valueString"])
        else:
            patient[field] = _own(concept, field, where)
        if field == "randomisation_arm":
            patient["randomisation_date"] = when
    else:
        raise DataError(
            f"{where}: Observation code {sorted(str(c) for c in codes.values())} is not one Bassinet reads"
        )


def _procedure(where: str, r: dict[str, Any], study_id: str, rows: Rows) -> None:
    codes = {c.get("system"): c.get("code") for c in r["code"].get("coding", [])}
    when = r.get("performedDateTime", "")
    if CODES + "course" in codes:
        rows["courses"].append(
            {ORIGIN: where, "study_id": study_id, "course": str(codes[CODES + "course"]), "start_date": when}
        )
        return
    transplant: dict[str, str] = {ORIGIN: where, "study_id": study_id, "transplant_date": when}
    for extension in r.get("extension", []):
        name = extension["url"].removeprefix(EXTENSION)
        if name not in TRANSPLANT_EXTENSIONS:
            raise DataError(f"{where}: Procedure extension '{extension['url']}' is not one Bassinet reads")
        value = next(v for k, v in extension.items() if k.startswith("value"))
        transplant[name] = str(value)
    result = transplant.pop("mrd_result", "")
    if result in ("negative", "positive_nq"):
        transplant["mrd_value"] = {"positive_nq": "PNQ"}.get(result, result)
    rows["transplants"].append(transplant)


def read_bundles(paths: Sequence[Path]) -> Rows:
    """The registry's sheets (rows of text cells, registry column names) held by the bundles.

    Each row also has :data:`ORIGIN`, the bundle file and entry it was read from.
    """
    rows: Rows = {name: [] for name in SHEETS}
    if not paths:
        raise DataError("no FHIR bundle given")
    for path in paths:
        _bundle_rows(path, rows)
    return rows


def import_bundles(
    engine: Engine, paths: Sequence[Path], *, actor: str, quarantine: Path | None = None
) -> ImportReport:
    """Import FHIR bundles written by :func:`~.fhir.write_bundles` through the registry's importer."""
    rows = read_bundles(paths)
    with tempfile.TemporaryDirectory(prefix="bassinet-fhir-") as folder:
        files = {}
        for sheet, records in rows.items():
            if not records:
                continue
            columns = [c.name for c in SHEETS[sheet].columns if any(c.name in r for r in records)]
            path = Path(folder) / f"{sheet}.csv"
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(columns)
                writer.writerows([[r.get(c, "") for c in columns] for r in records])
            files[sheet] = path
        patients = files.pop("patients")
        try:
            return import_files(engine, patients, long_sheets=files, actor=actor, quarantine=quarantine)
        except ImportRejected as exc:
            raise ImportRejected([_at_entry(p, rows) for p in exc.problems]) from None


def _at_entry(problem: Problem, rows: Rows) -> Problem:
    """A problem of the importer's sheets, named by the bundle file and entry the value came from."""
    records = rows.get(problem.sheet, [])
    if problem.row is None or not 2 <= problem.row < 2 + len(records):
        return problem
    source, _, entry = records[problem.row - 2][ORIGIN].rpartition(" entry ")
    return Problem(source, f"entry {entry}", None, problem.column, problem.value, problem.rule, problem.field)
