"""The import shapes: one row per patient, plus long sheets, and how each cell is read.

The registry reads six sheets. ``patients`` is required (one row per patient); the
long sheets ``remissions``, ``mrd``, ``courses``, ``transplants`` and ``events`` are
optional and refer to patients by ``study_id``. :data:`SHEETS` lists every column,
its kind and whether it is required; ``docs/import-format.md`` is written from it.

Cells are parsed by small hand-written functions rather than pydantic models: a
spreadsheet cell arrives as text, number or date depending on the file, and each
error must name the sheet, row, column, value and rule in the registry's words;
a function per kind of cell does that directly and is faster on 10,000-row files.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from bassinet.registry import vocabulary as v
from bassinet.registry.escaping import from_spreadsheet_cell
from bassinet.registry.reading import Cell

Kind = Literal["text", "date", "number", "code", "yes_no", "mrd", "hla"]


@dataclass(frozen=True)
class Column:
    """One registry column of an import sheet."""

    name: str
    kind: Kind
    required: bool = False
    codes: type[StrEnum] | None = None
    minimum: float | None = None
    maximum: float | None = None
    doc: str = ""
    #: Longest text the registry stores in this column (from the model's column length).
    max_length: int | None = None


@dataclass(frozen=True)
class SheetSpec:
    """An import sheet: its columns and the columns that identify a row within a patient."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    doc: str = ""
    by_name: Mapping[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.columns})


def _c(
    name: str,
    kind: Kind,
    required: bool = False,
    codes: type[StrEnum] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    doc: str = "",
) -> Column:
    return Column(
        name, kind, required, codes, minimum, maximum, doc, _text_length(name) if kind == "text" else None
    )


def _text_length(name: str) -> int | None:
    """The length of the registry column that stores the text column ``name``, from the models.

    Both stores then refuse the same text: PostgreSQL would fail the whole import on an
    overlong value, and SQLite would store it silently.
    """
    from bassinet.registry import models as m

    owner = {"centre": m.Centre.__table__.c.name, "study_group": m.StudyGroup.__table__.c.name}
    column = owner.get(name, m.Patient.__table__.c.get(name))
    length = getattr(getattr(column, "type", None), "length", None)
    return int(length) if length is not None else None


STUDY_ID = _c("study_id", "text", True, doc="Pseudonymous study identifier.")

SHEETS: dict[str, SheetSpec] = {
    s.name: s
    for s in (
        SheetSpec(
            "patients",
            (
                STUDY_ID,
                _c("centre", "text", True, doc="Treating centre's name."),
                _c("study_group", "text", doc="Study group of the centre."),
                _c("original_country", "yes_no", doc="Whether the study group is an original one."),
                _c("sex", "code", True, v.Sex),
                _c("date_of_birth", "date", True),
                _c("diagnosis_date", "date", True),
                _c("leukemia_type", "code", True, v.LeukemiaType),
                _c("immunophenotype", "code", codes=v.Immunophenotype),
                _c("cd10", "code", codes=v.CD10),
                _c("kmt2a_status", "code", True, v.KMT2AStatus),
                _c("kmt2a_partner", "code", codes=v.KMT2APartner),
                _c(
                    "wbc",
                    "number",
                    minimum=v.LAB_BOUNDS["wbc"][0],
                    maximum=v.LAB_BOUNDS["wbc"][1],
                    doc="White cells at diagnosis, x10^9/L.",
                ),
                _c("cns_status", "code", codes=v.CNSStatus),
                _c(
                    "day8_blasts",
                    "number",
                    minimum=v.LAB_BOUNDS["day8_blasts"][0],
                    maximum=v.LAB_BOUNDS["day8_blasts"][1],
                    doc="Day-8 peripheral blasts per uL.",
                ),
                _c("protocol", "text"),
                _c("protocol_version", "text"),
                _c("randomisation_arm", "code", codes=v.Arm),
                _c("randomisation_date", "date"),
                _c("last_contact_date", "date", True),
                _c("vital_status", "code", True, v.VitalStatus),
            ),
            doc="One row per patient.",
        ),
        SheetSpec(
            "remissions",
            (
                STUDY_ID,
                _c("time_point", "code", True, v.TimePoint),
                _c("assessment_date", "date", True),
                _c("status", "code", True, v.RemissionStatus),
            ),
            key=("time_point",),
            doc="Remission assessments, one row per patient and time point.",
        ),
        SheetSpec(
            "mrd",
            (
                STUDY_ID,
                _c("time_point", "code", True, v.TimePoint),
                _c("measured_on", "date", True),
                _c("method", "code", True, v.MRDMethod),
                _c("value", "mrd", True, doc="A fraction from 0 to 1 (1% is 0.01), 'negative' or 'PNQ'."),
            ),
            key=("time_point", "method"),
            doc="MRD measurements, one row per patient, time point and method.",
        ),
        SheetSpec(
            "courses",
            (
                STUDY_ID,
                _c("course", "code", True, v.Course),
                _c("start_date", "date", True),
            ),
            key=("course",),
            doc="Treatment courses with their start dates.",
        ),
        SheetSpec(
            "transplants",
            (
                STUDY_ID,
                _c("transplant_date", "date", True),
                _c("donor_type", "code", True, v.DonorType),
                _c("stem_cell_source", "code", codes=v.StemCellSource),
                _c("remission_status", "code", True, v.PreTransplantStatus),
                _c("mrd_value", "mrd", doc="MRD before transplant: fraction, 'negative' or 'PNQ'."),
                _c("mrd_method", "code", codes=v.MRDMethod),
                _c("engraftment_date", "date", doc="Neutrophils >= 0.5 x10^9/L, first of 3 days."),
                _c("hla_match", "hla", doc="HLA alleles matched of alleles typed: '8/8', '9/10', '12/12'."),
                _c("conditioning_intensity", "code", codes=v.ConditioningIntensity),
                _c("tbi", "yes_no", doc="Total body irradiation in the conditioning."),
                _c("serotherapy", "code", codes=v.Serotherapy),
                _c("gvhd_prophylaxis", "code", codes=v.GVHDProphylaxis),
                _c(
                    "platelet_engraftment_date",
                    "date",
                    doc="Platelets >= 20 x10^9/L, first of 7 days without transfusion.",
                ),
                _c("agvhd_grade", "code", codes=v.AcuteGVHDGrade, doc="Maximum MAGIC grade, 0 to IV."),
                _c("agvhd_date", "date", doc="Date the maximum acute GVHD grade was reached."),
                _c("cgvhd_severity", "code", codes=v.ChronicGVHDSeverity, doc="Maximum NIH severity."),
                _c("cgvhd_date", "date", doc="Date chronic GVHD was diagnosed."),
                _c("cgvhd_systemic_treatment", "yes_no", doc="Chronic GVHD needed systemic treatment."),
                _c("cmv_donor", "code", codes=v.CMVSerostatus),
                _c("cmv_recipient", "code", codes=v.CMVSerostatus),
            ),
            key=("transplant_date",),
            doc="Allogeneic stem-cell transplants.",
        ),
        SheetSpec(
            "events",
            (
                STUDY_ID,
                _c("event_type", "code", True, v.EventType),
                _c("event_date", "date", True),
                _c("relapse_site", "code", codes=v.RelapseSite),
                _c("death_cause", "code", codes=v.DeathCause),
            ),
            key=("event_type", "event_date"),
            doc="Resistant disease, relapse, death, second malignancy, each with its date.",
        ),
    )
}

YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0"}
MRD_NEGATIVE = {"negative", "neg"}
MRD_POSITIVE_NQ = {"pnq", "positive_nq", "positive-not-quantifiable", "positive not quantifiable"}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class CellError(ValueError):
    """A cell's value breaks its column's rule; the message is the rule."""


@dataclass(frozen=True)
class MRD:
    """An MRD result as read from a cell."""

    result: v.MRDResult
    value: float | None


@functools.lru_cache(maxsize=16_384)  # a registry's cells repeat a few thousand codes and words
def _key(text: str) -> str:
    return " ".join(text.strip().casefold().replace("-", " ").replace("_", " ").split())


def canonical_label(text: str) -> str:
    """``text`` as the registry compares codes and labels: case-folded, ``-`` and ``_`` as
    spaces, runs of white space as one ("Non-CR" and "non cr" are the same)."""
    return _key(text)


@functools.lru_cache(maxsize=256)
def _code_index(codes: type[StrEnum]) -> dict[str, StrEnum]:
    """The members of ``codes`` by their key (the first member of a key wins)."""
    index: dict[str, StrEnum] = {}
    for member in codes:
        index.setdefault(_key(member.value), member)
    return index


def parse_date(raw: Cell, date_format: str | None) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, bool | int | float):
        raise CellError("is a number, not a date: format the column as dates (YYYY-MM-DD)")
    text = str(raw).strip()
    if date_format:
        try:
            return dt.datetime.strptime(text, date_format).date()
        except ValueError as exc:
            raise CellError(f"is not a date in the form {date_format} ({exc})") from exc
    if ISO_DATE.match(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError as exc:
            raise CellError(f"is not a calendar date ({exc})") from exc
    raise CellError("is not a date in the form YYYY-MM-DD")


def check_era(when: dt.date, *, today: dt.date | None = None) -> dt.date:
    """``when`` if it lies in the registry's era (:data:`~.vocabulary.REGISTRY_ERA_START` to today)."""
    today = today or dt.date.today()
    if when < v.REGISTRY_ERA_START:
        raise CellError(f"is before {v.REGISTRY_ERA_START.isoformat()}, the start of the registry's era")
    if when > today:
        raise CellError(f"is in the future (today is {today.isoformat()})")
    return when


def parse_number(raw: Cell) -> float:
    if isinstance(raw, bool):
        raise CellError("is not a number")
    if isinstance(raw, int | float):
        number = float(raw)
    else:
        try:
            number = float(str(raw).strip())
        except ValueError as exc:
            raise CellError("is not a number (use a point as the decimal mark)") from exc
    if not math.isfinite(number):
        raise CellError("must be a finite number")
    return number


def parse_code(raw: Cell, codes: type[StrEnum], centre_codes: Mapping[str, str]) -> StrEnum:
    text = str(raw).strip()
    mapped = centre_codes.get(_key(text), text)
    member = _code_index(codes).get(_key(mapped))
    if member is not None:
        return member
    allowed = ", ".join(m.value for m in codes)
    raise CellError(f"is not a known code: use one of {allowed}, or map it in the mapping file")


@dataclass(frozen=True)
class HLAMatch:
    """An HLA match as read from a cell: ``matched`` alleles of ``typed``."""

    matched: int
    typed: int

    def __str__(self) -> str:
        return f"{self.matched}/{self.typed}"


HLA_MATCH = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_hla(raw: Cell) -> HLAMatch:
    """``"9/10"``: alleles matched of alleles typed, typed 8, 10 or 12, matched 0 to typed."""
    typed_options = ", ".join(map(str, v.HLA_TYPED_ALLELES))
    found = HLA_MATCH.match(str(raw)) if isinstance(raw, str) else None
    if found is None:
        raise CellError(
            f"is not an HLA match: give alleles matched of alleles typed, such as 8/8 or 9/10 "
            f"(typed: {typed_options})"
        )
    matched, typed = int(found.group(1)), int(found.group(2))
    if typed not in v.HLA_TYPED_ALLELES:
        raise CellError(f"compares {typed} alleles: HLA typing compares {typed_options}")
    if matched > typed:
        raise CellError(f"matches {matched} alleles of {typed}: no more can match than were typed")
    return HLAMatch(matched, typed)


def parse_mrd(raw: Cell) -> MRD:
    if isinstance(raw, str):
        word = raw.strip().casefold()
        if word in MRD_NEGATIVE:
            return MRD(v.MRDResult.NEGATIVE, None)
        if word in MRD_POSITIVE_NQ:
            return MRD(v.MRDResult.POSITIVE_NQ, None)
    try:
        number = parse_number(raw)
    except CellError as exc:
        raise CellError(
            "is not an MRD result: write the fraction of leukemic cells, a number from 0 to 1 "
            "(1% is 0.01), or 'negative', or 'PNQ' (positive, not quantifiable)"
        ) from exc
    if not 0.0 <= number <= 1.0:
        raise CellError(
            "is not an MRD fraction from 0 to 1: write the fraction of leukemic cells, "
            "not a percentage (1% is 0.01)"
        )
    return MRD(v.MRDResult.QUANTIFIED, number)


def parse_cell(
    column: Column, raw: Cell, *, date_format: str | None, centre_codes: Mapping[str, str]
) -> object:
    """The value of one cell, or ``None`` for a blank one; raises :class:`CellError`."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if column.required:
            raise CellError("is required")
        return None
    if column.kind == "text":
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        text = from_spreadsheet_cell(str(raw).strip())
        if column.max_length is not None and len(text) > column.max_length:
            raise CellError(
                f"is {len(text)} characters long: the registry stores at most "
                f"{column.max_length} in this column"
            )
        return text
    if column.kind == "date":
        return check_era(parse_date(raw, date_format))
    if column.kind == "number":
        number = parse_number(raw)
        unit = f" {v.LAB_BOUNDS[column.name][2]}" if column.name in v.LAB_BOUNDS else ""
        if column.minimum is not None and number < column.minimum:
            raise CellError(f"must be >= {column.minimum:g}{unit}")
        if column.maximum is not None and number > column.maximum:
            raise CellError(f"must be <= {column.maximum:g}{unit} (the physiological bound of this field)")
        return number
    if column.kind == "code":
        assert column.codes is not None
        return parse_code(raw, column.codes, centre_codes)
    if column.kind == "yes_no":
        word = str(raw).strip().casefold()
        if word in YES:
            return True
        if word in NO:
            return False
        raise CellError("is not yes or no")
    if column.kind == "hla":
        return parse_hla(raw)
    return parse_mrd(raw)
