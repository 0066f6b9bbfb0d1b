"""FHIR R4 out and back: one Bundle per patient, following HL7 mCODE where it applies.

Each patient becomes a ``collection`` Bundle (FHIR R4, 4.0.1; the models of
``fhir.resources.R4B`` validate every resource, R4B changing none of the elements used
here):

- **Patient** (mCODE Cancer Patient): the study id as an identifier (a pseudonym in a
  de-identified export), sex, birth date, death date; managed by the centre.
- **Organization**: the centre, part of its study group (original country as an
  extension).
- **Condition** (mCODE Primary Cancer Condition): ALL (SNOMED CT 91857003) or AML
  (91861009), onset at diagnosis.
- **Observation**: WBC (LOINC 26464-8, 10*9/L), day-8 blasts, KMT2A status and partner,
  immunophenotype, CD10, CNS status, protocol, randomised arm; MRD (value, method, time
  point); each remission assessment as disease status (LOINC 97509-4, mCODE Cancer
  Disease Status); vital status at the last contact; events (resistant disease, relapse
  with site, death with cause, second malignancy); the risk group with its protocol.
- **Procedure**: treatment courses, and stem-cell transplants (SNOMED CT 234336002)
  with donor, source, pre-transplant status and MRD, and engraftment as extensions.

Registry codes travel in Bassinet code systems (``CODES + field``) beside the
standard codings, so that :func:`read_bundles` gives back exactly what was written.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from bassinet.registry.frames import RegistryFrames

BASE = "https://bassinet.dev/fhir"
CODES = f"{BASE}/CodeSystem/"
EXTENSION = f"{BASE}/StructureDefinition/"
STUDY_ID = f"{BASE}/sid/study-id"
SNOMED, LOINC, UCUM = "http://snomed.info/sct", "http://loinc.org", "http://unitsofmeasure.org"
MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
NAMESPACE = uuid.UUID("6f1c4a52-9d8e-4f0e-9a57-3f1f0b7c2d10")

LEUKEMIA = {"ALL": ("91857003", "Acute lymphoid leukemia"), "AML": ("91861009", "Acute myeloid leukemia")}
TRANSPLANT = ("234336002", "Hemopoietic stem cell transplant")
DISEASE_STATUS = ("97509-4", "Cancer disease progression")

#: Patient fields written as Observations: field -> (LOINC code and display, or None; unit or None).
PATIENT_OBSERVATIONS: dict[str, tuple[tuple[str, str] | None, str | None]] = {
    "wbc": (("26464-8", "Leukocytes [#/volume] in Blood"), "10*9/L"),
    "day8_blasts": (None, "/uL"),
    "kmt2a_status": (None, None),
    "kmt2a_partner": (None, None),
    "immunophenotype": (None, None),
    "cd10": (None, None),
    "cns_status": (None, None),
    "protocol": (None, None),
    "protocol_version": (None, None),
    "randomisation_arm": (None, None),
}
TEXT_FIELDS = {"protocol", "protocol_version"}
TRANSPLANT_EXTENSIONS = ("donor_type", "stem_cell_source", "remission_status", "mrd_result", "mrd_value",
                         "mrd_method", "engraftment_date")  # fmt: skip


def _day(value: Any) -> str | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date().isoformat()


def _present(value: Any) -> bool:
    """Whether a cell holds a value (not None, NaN, NaT or pd.NA)."""
    if value is None:
        return False
    try:
        return not bool(pd.isna(value))
    except (TypeError, ValueError):
        return True


def _code(field: str, value: str, display: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": CODES + field, "code": str(value)}
    if display:
        coding["display"] = display
    return {"coding": [coding], "text": str(value)}


def _number(value: Any) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else number


class _Bundle:
    def __init__(self, key: str) -> None:
        self.key = key
        self.entries: list[dict[str, Any]] = []

    def url(self, name: str) -> str:
        return f"urn:uuid:{uuid.uuid5(NAMESPACE, f'{self.key}/{name}')}"

    def add(self, name: str, resource: dict[str, Any]) -> str:
        url = self.url(name)
        self.entries.append({"fullUrl": url, "resource": resource})
        return url


def _observation(subject: str, field: str, when: str | None, **value: Any) -> dict[str, Any]:
    loinc, _unit = PATIENT_OBSERVATIONS.get(field, (None, None))
    coding = [{"system": CODES + "observation", "code": field}]
    if loinc:
        coding.insert(0, {"system": LOINC, "code": loinc[0], "display": loinc[1]})
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": coding, "text": field.replace("_", " ")},
        "subject": {"reference": subject},
        **value,
    }
    if when:
        resource["effectiveDateTime"] = when
    return resource


def _quantity(value: Any, unit: str) -> dict[str, Any]:
    return {"value": _number(value), "unit": unit, "system": UCUM, "code": unit}


def patient_bundle(
    patient: pd.Series,
    children: dict[str, pd.DataFrame],
    *,
    risk_groups: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The R4 Bundle of one patient (a row of the patients frame and that patient's rows)."""
    bundle = _Bundle(f"{patient['centre']}\x1f{patient['study_id']}")
    subject = bundle.url("patient")
    group_url = None
    if _present(patient.get("study_group")):
        group: dict[str, Any] = {"resourceType": "Organization", "name": str(patient["study_group"])}
        if _present(patient.get("original_country")):
            group["extension"] = [
                {"url": EXTENSION + "original-country", "valueBoolean": bool(patient["original_country"])}
            ]
        group_url = bundle.add("study-group", group)
    centre: dict[str, Any] = {"resourceType": "Organization", "name": str(patient["centre"])}
    if group_url:
        centre["partOf"] = {"reference": group_url}
    centre_url = bundle.url("centre")
    deaths = children["events"][children["events"]["event_type"] == "death"]
    person: dict[str, Any] = {
        "resourceType": "Patient",
        "meta": {"profile": [MCODE + "mcode-cancer-patient"]},
        "identifier": [
            {"system": STUDY_ID, "value": str(patient["study_id"]), "assigner": {"reference": centre_url}}
        ],
        "gender": {"M": "male", "F": "female"}[str(patient["sex"])],
        "birthDate": _day(patient["date_of_birth"]),
        "managingOrganization": {"reference": centre_url},
    }
    if len(deaths):
        person["deceasedDateTime"] = _day(deaths["event_date"].iloc[0])
    bundle.add("patient", person)
    bundle.add("centre", centre)
    diagnosis = _day(patient["diagnosis_date"])
    snomed, display = LEUKEMIA[str(patient["leukemia_type"])]
    bundle.add(
        "condition",
        {
            "resourceType": "Condition",
            "meta": {"profile": [MCODE + "mcode-primary-cancer-condition"]},
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           "code": "active"}]},
            "verificationStatus": {"coding": [{"system":
                                               "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                               "code": "confirmed"}]},
            "code": {"coding": [{"system": SNOMED, "code": snomed, "display": display},
                                {"system": CODES + "leukemia_type", "code": str(patient["leukemia_type"])}],
                     "text": display},
            "subject": {"reference": subject},
            "onsetDateTime": diagnosis,
            "recordedDate": diagnosis,
        },
    )  # fmt: skip
    for field, (_loinc, unit) in PATIENT_OBSERVATIONS.items():
        value = patient.get(field)
        if not _present(value):
            continue
        when = _day(patient["randomisation_date"]) if field == "randomisation_arm" else diagnosis
        if unit:
            content: dict[str, Any] = {"valueQuantity": _quantity(value, unit)}
        elif field in TEXT_FIELDS:
            content = {"valueString": str(value)}
        else:
            content = {"valueCodeableConcept": _code(field, str(value))}
        bundle.add(f"obs/{field}", _observation(subject, field, when, **content))
    bundle.add(
        "obs/vital_status",
        _observation(subject, "vital_status", _day(patient["last_contact_date"]),
                     valueCodeableConcept=_code("vital_status", str(patient["vital_status"]))),
    )  # fmt: skip
    for _, row in children["remissions"].iterrows():
        resource = _observation(
            subject,
            "remission",
            _day(row["assessment_date"]),
            valueCodeableConcept=_code("remission_status", str(row["status"])),
            component=[{"code": {"text": "time point"},
                        "valueCodeableConcept": _code("time_point", str(row["time_point"]))}],
        )  # fmt: skip
        resource["code"]["coding"].insert(0, {"system": LOINC, "code": DISEASE_STATUS[0],
                                              "display": DISEASE_STATUS[1]})  # fmt: skip
        resource["meta"] = {"profile": [MCODE + "mcode-cancer-disease-status"]}
        resource["focus"] = [{"reference": bundle.url("condition")}]
        bundle.add(f"remission/{row['time_point']}", resource)
    for _, row in children["mrd"].iterrows():
        if row["result"] == "quantified":
            measured: dict[str, Any] = {"valueQuantity": _quantity(row["value"], "1")}
        else:
            measured = {"valueCodeableConcept": _code("mrd_result", str(row["result"]))}
        resource = _observation(
            subject, "mrd", _day(row["measured_on"]), method=_code("mrd_method", str(row["method"])),
            component=[{"code": {"text": "time point"},
                        "valueCodeableConcept": _code("time_point", str(row["time_point"]))}],
            **measured,
        )  # fmt: skip
        bundle.add(f"mrd/{row['time_point']}/{row['method']}", resource)
    for _, row in children["events"].iterrows():
        detail = row.get("relapse_site") if row["event_type"] == "relapse" else row.get("death_cause")
        kind = "relapse_site" if row["event_type"] == "relapse" else "death_cause"
        content = {"valueCodeableConcept": _code(kind, str(detail))} if _present(detail) else {}
        resource = _observation(subject, "event", _day(row["event_date"]), **content)
        resource["code"] = _code("event_type", str(row["event_type"]))
        bundle.add(f"event/{row['event_type']}/{_day(row['event_date'])}", resource)
    for _, row in children["courses"].iterrows():
        bundle.add(
            f"course/{row['course']}",
            {"resourceType": "Procedure", "status": "unknown", "subject": {"reference": subject},
             "category": {"text": "chemotherapy course"}, "code": _code("course", str(row["course"])),
             "performedDateTime": _day(row["start_date"])},
        )  # fmt: skip
    for _, row in children["transplants"].iterrows():
        extensions: list[dict[str, Any]] = []
        for name in TRANSPLANT_EXTENSIONS:
            value = row.get(name)
            if not _present(value):
                continue
            if name == "engraftment_date":
                extensions.append({"url": EXTENSION + name, "valueDate": _day(value)})
            elif name == "mrd_value":
                extensions.append({"url": EXTENSION + name, "valueDecimal": _number(value)})
            else:
                extensions.append({"url": EXTENSION + name, "valueCode": str(value)})
        bundle.add(
            f"transplant/{_day(row['transplant_date'])}",
            {"resourceType": "Procedure", "status": "completed", "subject": {"reference": subject},
             "code": {"coding": [{"system": SNOMED, "code": TRANSPLANT[0], "display": TRANSPLANT[1]}],
                      "text": TRANSPLANT[1]},
             "performedDateTime": _day(row["transplant_date"]), "extension": extensions},
        )  # fmt: skip
    if risk_groups is not None:
        for _, row in risk_groups.iterrows():
            group_code = row["risk_group"] if _present(row["risk_group"]) else "none"
            resource = _observation(
                subject, "risk_group", None, valueCodeableConcept=_code("risk_group", str(group_code)),
                component=[{"code": {"text": "protocol"}, "valueString": str(row["protocol"])},
                           {"code": {"text": "rules version"}, "valueString": str(row["version"])}],
            )  # fmt: skip
            if _present(row.get("decided_at")):
                resource["issued"] = pd.Timestamp(row["decided_at"]).isoformat()
            bundle.add(f"risk/{row['protocol']}", resource)
    return {"resourceType": "Bundle", "id": str(uuid.uuid5(NAMESPACE, bundle.key)), "type": "collection",
            "entry": bundle.entries}  # fmt: skip


def bundles(frames: RegistryFrames, *, risk_groups: pd.DataFrame | None = None) -> Iterator[dict[str, Any]]:
    """One Bundle (as a JSON-able dict) per patient of ``frames``, in the order of the patients frame."""
    grouped = {name: dict(tuple(frames[name].groupby("patient_id"))) for name in
               ("remissions", "mrd", "courses", "transplants", "events")}  # fmt: skip
    empty = {name: frames[name].iloc[0:0] for name in grouped}
    risks = dict(tuple(risk_groups.groupby("patient_id"))) if risk_groups is not None else {}
    for _, patient in frames.patients.iterrows():
        children = {name: grouped[name].get(patient["id"], empty[name]) for name in grouped}
        yield patient_bundle(patient, children, risk_groups=risks.get(patient["id"]))


def write_bundles(
    frames: RegistryFrames, folder: Path, *, risk_groups: pd.DataFrame | None = None
) -> list[Path]:
    """Write one ``Bundle`` JSON file per patient to ``folder`` (``patient-NNNN.json``); returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, bundle in enumerate(bundles(frames, risk_groups=risk_groups), start=1):
        path = folder / f"patient-{number:05d}.json"
        path.write_text(json.dumps(bundle, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        paths.append(path)
    return paths
