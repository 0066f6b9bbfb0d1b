"""What the data-quality checks read and what they report.

The checks are pure: they read a :class:`PatientData` (a patient's fields and records as
plain values, loaded once by the application layer) and return :class:`Finding` values.
Nothing here opens a database session, so the checks run the same on a saved registry, a
form being saved, or a table built in a test.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

#: The kinds of record a patient has, named as in ``bassinet delete --record KIND:ID``.
RECORD_KINDS: tuple[str, ...] = ("remissions", "mrd", "courses", "transplants", "events")

#: The date field of each record kind.
RECORD_DATE: dict[str, str] = {
    "remissions": "assessment_date",
    "mrd": "measured_on",
    "courses": "start_date",
    "transplants": "transplant_date",
    "events": "event_date",
}

PATIENT = "patient"


class Severity(StrEnum):
    """How bad a finding is: an ``error`` is wrong or missing data that an analysis would use; a
    ``warning`` is data to confirm against the source (possible but unusual)."""

    ERROR = "error"
    WARNING = "warning"


Record = Mapping[str, Any]


def _frozen(records: Mapping[str, tuple[Record, ...]] | None) -> Mapping[str, tuple[Record, ...]]:
    given = dict(records or {})
    unknown = sorted(set(given) - set(RECORD_KINDS))
    if unknown:
        raise ValueError(f"unknown record kind {unknown[0]!r}: choose from {', '.join(RECORD_KINDS)}")
    return MappingProxyType({kind: tuple(given.get(kind, ())) for kind in RECORD_KINDS})


@dataclass(frozen=True)
class PatientData:
    """One patient as the checks see it.

    Parameters
    ----------
    patient_id
        The registry's id of the patient (0 for a patient not yet saved).
    study_id, centre
        The patient's study identifier and centre name, for the findings.
    fields
        The patient's own fields by column name (``wbc``, ``diagnosis_date``, ...): dates as
        :class:`datetime.date`, codes as their text, a missing value as ``None``.
    records
        Per kind of :data:`RECORD_KINDS`, the patient's records, each a mapping of column
        name to value including ``id``.
    """

    patient_id: int
    study_id: str
    centre: str
    fields: Mapping[str, Any]
    records: Mapping[str, tuple[Record, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))
        object.__setattr__(self, "records", _frozen(self.records))

    def date(self, name: str) -> dt.date | None:
        value = self.fields.get(name)
        return value if isinstance(value, dt.date) else None


@dataclass(frozen=True)
class Finding:
    """One problem found in one field of one record.

    ``record`` is ``"patient"`` for the patient's own fields, else ``KIND:ID`` (for example
    ``events:12``) as ``bassinet delete --record`` names records; ``check`` is the id of the
    built-in check or of the study rule that found it.
    """

    patient_id: int
    study_id: str
    centre: str
    record: str
    field: str
    check: str
    severity: Severity
    message: str


def record_ref(kind: str, record: Record) -> str:
    """``KIND:ID`` of a record (``KIND:new`` for one without an id yet)."""
    return f"{kind}:{record.get('id') or 'new'}"
