"""A REDCap project's data dictionary and records export, read as REDCap documents them.

The data dictionary is the CSV that REDCap's Designer downloads (headers "Variable /
Field Name", "Form Name", "Field Type", "Field Label", "Choices, Calculations, OR
Slider Labels", ...) or the API's metadata export (``field_name``, ``form_name``,
``field_type``, ``select_choices_or_calculations``, ...); both are accepted. A choice
list is ``code, label | code, label``; ``yesno`` and ``truefalse`` fields have the
fixed choices 1/0.

The records export is REDCap's flat CSV: one row per record, or per record and event
(``redcap_event_name``) and per instance of a repeating instrument or event
(``redcap_repeat_instrument``, ``redcap_repeat_instance``); a checkbox field ``f`` is
one column per choice, ``f___CODE`` (REDCap writes a code's ``-`` and ``.`` as ``_``),
holding 1/0 in a raw export and Checked/Unchecked in a label export.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bassinet.errors import DataError
from bassinet.registry.reading import read_csv

HEADERS = {
    "variable / field name": "field_name",
    "form name": "form_name",
    "section header": "section_header",
    "field type": "field_type",
    "field label": "field_label",
    "choices, calculations, or slider labels": "select_choices_or_calculations",
    "text validation type or show slider number": "text_validation_type_or_show_slider_number",
}
CODED_TYPES = {"radio", "dropdown", "checkbox", "yesno", "truefalse"}
FIXED_CHOICES = {"yesno": {"1": "Yes", "0": "No"}, "truefalse": {"1": "True", "0": "False"}}
SPECIAL_COLUMNS = ("redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
                   "redcap_data_access_group", "redcap_survey_identifier")  # fmt: skip


@dataclass(frozen=True)
class Field:
    """One field of the data dictionary."""

    name: str
    form: str
    type: str
    label: str
    choices: Mapping[str, str]
    validation: str = ""

    @property
    def coded(self) -> bool:
        return self.type in CODED_TYPES


@dataclass(frozen=True)
class Dictionary:
    """A REDCap data dictionary: its fields in order; the first is the record id."""

    source: str
    fields: Mapping[str, Field]

    @property
    def record_id(self) -> str:
        return next(iter(self.fields))

    def checkbox_column(self, column: str) -> tuple[Field, str] | None:
        """The checkbox field and choice code a ``field___code`` column stands for, if any."""
        name, sep, suffix = column.partition("___")
        field = self.fields.get(name)
        if not sep or field is None or field.type != "checkbox":
            return None
        for code in field.choices:
            if export_code(code) == suffix.casefold():
                return field, code
        return None


def export_code(code: str) -> str:
    """A choice code as REDCap writes it in a checkbox column's name."""
    return code.replace("-", "_").replace(".", "_").casefold()


def parse_choices(field: str, text: str) -> dict[str, str]:
    """``"1, Male | 2, Female"`` -> ``{"1": "Male", "2": "Female"}``."""
    choices: dict[str, str] = {}
    for part in text.split("|"):
        if not part.strip():
            continue
        code, comma, label = part.partition(",")
        if not comma or not code.strip():
            raise DataError(f"data dictionary: field '{field}': choice '{part.strip()}' is not 'code, label'")
        if code.strip() in choices:
            raise DataError(f"data dictionary: field '{field}': choice code '{code.strip()}' appears twice")
        choices[code.strip()] = label.strip()
    return choices


def read_dictionary(path: Path, *, encoding: str = "utf-8-sig") -> Dictionary:
    """Read a REDCap data dictionary CSV (Designer download or API metadata export)."""
    if not path.exists():
        raise DataError(f"{path}: no such file (the data dictionary)")
    sheet = read_csv(path, delimiter=",", encoding=encoding)
    names = [HEADERS.get(h.strip().casefold(), h.strip().casefold()) for h in sheet.header]
    for needed in ("field_name", "form_name", "field_type"):
        if needed not in names:
            raise DataError(
                f"{path}: not a REDCap data dictionary: no column '{needed}' "
                "(expected REDCap's 'Variable / Field Name', 'Form Name', 'Field Type', ...)"
            )
    fields: dict[str, Field] = {}
    for number, cells in sheet.rows:
        row = {n: str(c or "").strip() for n, c in zip(names, cells, strict=False)}
        name, kind = row["field_name"], row["field_type"]
        if not name:
            raise DataError(f"{path} row {number}: the field has no name")
        if kind == "descriptive":
            continue
        choices: dict[str, str] = {}
        if kind in FIXED_CHOICES:
            choices = dict(FIXED_CHOICES[kind])
        elif kind in CODED_TYPES:
            text = row.get("select_choices_or_calculations", "")
            choices = parse_choices(name, text)
            if not choices:
                raise DataError(f"{path} row {number}: field '{name}' ({kind}) has no choices")
        if name in fields:
            raise DataError(f"{path} row {number}: field '{name}' appears twice")
        fields[name] = Field(
            name,
            row["form_name"],
            kind,
            row.get("field_label", ""),
            choices,
            row.get("text_validation_type_or_show_slider_number", ""),
        )
    if not fields:
        raise DataError(f"{path}: the data dictionary has no fields")
    return Dictionary(str(path), fields)
