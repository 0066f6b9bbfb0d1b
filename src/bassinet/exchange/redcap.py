"""REDCap in: a project's dictionary and records, mapped onto the registry and imported.

1. :func:`propose_mapping` reads the data dictionary (and the records, for their
   events and data access groups) and writes a mapping file the data manager edits:
   which REDCap field is which registry field, which form is which long sheet, what
   each choice code means in the registry's codes, and which events exist.
2. :func:`import_redcap` checks the mapping against the dictionary (every choice of a
   mapped field must map: an unmapped choice is refused before any record is read),
   turns the records into the registry's sheets, and imports them with
   :func:`bassinet.registry.import_files`: the same validation, all-or-nothing or
   quarantine, and audit trail as every import. Problems are reported in REDCap's
   terms: the records file's line, the record, the event and the REDCap field.

Rows to sheets: a form named under ``sheets`` (``mrd``, ``transplants``, ...) gives one
row of that sheet for every REDCap row (event, repeat instance) in which any of its
mapped fields has a value; ``by_event`` adds constant values per event, so that a
longitudinal project whose MRD form sits in an "end of induction" event needs no time
point field. Every other mapped field is a patient field, merged over the record's rows
(two different values in two events are an error).
"""

from __future__ import annotations

import csv
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine

from bassinet.errors import ConfigurationError, DataError
from bassinet.exchange.redcap_dictionary import SPECIAL_COLUMNS, Dictionary
from bassinet.exchange.redcap_dictionary import Field as RedcapField
from bassinet.registry.importer import ImportReport, import_files
from bassinet.registry.problems import ImportRejected, Problem
from bassinet.registry.reading import RawSheet, read_csv
from bassinet.registry.sheets import SHEETS, YES, Column
from bassinet.registry.sheets import canonical_label as _key

CHECKED = {"1", "checked"}
PLACEHOLDER = "CHANGE ME"
UNCHECKED = {"0", "unchecked", ""}


class SheetFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    form: str | None = Field(default=None, description="The REDCap form (instrument) of a long sheet.")
    fields: dict[str, str] = Field(default_factory=dict, description="REDCap field -> registry column.")
    by_event: dict[str, dict[str, str]] = Field(default_factory=dict)


class RedcapMapping(BaseModel):
    """How a REDCap project maps onto the registry (the file :func:`propose_mapping` writes)."""

    model_config = ConfigDict(extra="forbid")

    centre: str | None = Field(default=None, description="One centre for every record.")
    centre_field: str | None = Field(default=None, description="A field naming each record's centre.")
    study_group: str | None = None
    events: list[str] = Field(default_factory=list)
    sheets: dict[str, SheetFields] = Field(default_factory=dict)
    codes: dict[str, dict[str, str | None]] = Field(default_factory=dict)
    date_format: Literal["YMD", "DMY", "MDY"] = Field(
        default="YMD",
        description="How the records export writes dates: REDCap's default YYYY-MM-DD (YMD), "
        "or the DD/MM/YYYY (DMY) or MM/DD/YYYY (MDY) chosen in its export options.",
    )


def load_redcap_mapping(path: Path) -> RedcapMapping:
    """Read and check a REDCap mapping file."""
    try:
        document: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"REDCap mapping {path}: cannot be read: {exc}") from exc
    try:
        return RedcapMapping.model_validate(document)
    except ValidationError as exc:
        lines = [f"  at {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ConfigurationError(f"REDCap mapping {path}:\n" + "\n".join(lines)) from exc


# -- proposing a mapping --------------------------------------------------------------------------

#: Names a REDCap project commonly gives a registry column (matched after the form prefix).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "sex": ("gender",),
    "date_of_birth": ("dob", "birth_date", "birthdate", "birth"),
    "diagnosis_date": ("dx_date", "date_dx", "diag_date", "date_diagnosis", "diagnosis"),
    "leukemia_type": ("leukemia", "leuk_type", "dx_type", "type", "diagnosis", "dx"),
    "immunophenotype": ("immuno", "phenotype"),
    "kmt2a_status": ("kmt2a", "mll", "mll_status", "kmt2a_r"),
    "kmt2a_partner": ("partner", "mll_partner", "fusion_partner"),
    "wbc": ("wbc_dx", "leukocytes", "wbc_diagnosis"),
    "cns_status": ("cns",),
    "day8_blasts": ("blasts_d8", "d8_blasts", "pb_blasts_d8"),
    "randomisation_arm": ("arm", "rand_arm", "randomization_arm"),
    "randomisation_date": ("rand_date", "randomization_date"),
    "last_contact_date": ("last_contact", "date_last_contact", "lfu_date", "last_fu", "last_followup"),
    "vital_status": ("vital", "alive", "status_vital"),
    "time_point": ("tp", "timepoint"),
    "assessment_date": ("date",),
    "measured_on": ("date", "measured", "sample_date"),
    "method": ("mrd_method",),
    "value": ("result", "level", "mrd"),
    "start_date": ("date", "start"),
    "transplant_date": ("date", "sct_date", "hsct_date"),
    "donor_type": ("donor",),
    "stem_cell_source": ("source", "scs"),
    "remission_status": ("status", "disease_status"),
    "engraftment_date": ("engraftment",),
    "event_type": ("type", "event"),
    "event_date": ("date",),
    "relapse_site": ("site",),
    "death_cause": ("cause",),
}
#: Choice labels a REDCap project commonly uses for a registry code.
LABELS = {"male": "M", "female": "F", "boy": "M", "girl": "F", "t 4;11": "AFF1", "t 11;19": "MLLT1",
          "t 9;11": "MLLT3", "t 10;11": "MLLT10", "mll r": "rearranged", "germline": "germline",
          "flow cytometry": "FCM", "flow": "FCM", "living": "alive", "deceased": "dead",
          "haplo": "haploidentical", "msd": "matched_sibling", "mud": "matched_unrelated",
          "not done": "unknown", "not known": "unknown", "not tested": "unknown",
          "unknown": "unknown"}  # fmt: skip
SHEET_FORMS = {"remissions": ("remission",), "mrd": ("mrd",), "courses": ("course", "treatment"),
               "transplants": ("transplant", "hsct", "sct"), "events": ("event", "outcome")}  # fmt: skip


def _sheet_of_form(form: str) -> str:
    for sheet, stems in SHEET_FORMS.items():
        if any(stem in form.casefold() for stem in stems):
            return sheet
    return "patients"


def _fits(column: Column, f: RedcapField | None) -> bool:
    """Whether a REDCap field can hold a registry column's values (a coded field is no date)."""
    if f is None:
        return True
    if f.coded:
        return column.kind in ("code", "yes_no")
    if f.validation.startswith("date"):
        return column.kind == "date"
    return column.kind not in ("code", "yes_no") or (f.type == "text" and not f.validation)


def _guess_column(sheet: str, name: str, form: str, f: RedcapField | None = None) -> str | None:
    columns = [c for c in SHEETS[sheet].columns if c.name != "study_id" and _fits(c, f)]
    folded = name.casefold()
    candidates = [folded]
    for stem in (form.casefold(), *SHEET_FORMS.get(sheet, ())):
        if folded.startswith(stem + "_"):
            candidates.append(folded[len(stem) + 1 :])
    if sheet != "patients" and "_" in folded:
        candidates.append(folded.partition("_")[2])  # a form's own prefix: ev_type, tx_date
    for candidate in candidates:
        for column in columns:
            c = column.name
            if candidate in (c, c.replace("_", "")) or candidate in SYNONYMS.get(c, ()):
                return c
    return None


def _folded(text: str) -> str:
    """A label without its accents (``Pré-B`` -> ``Pre-B``), for proposing a code only."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _guess_code(sheet: str, column: str, code: str, label: str) -> str | None:
    spec = SHEETS[sheet].by_name[column]
    if spec.kind == "yes_no":
        return "yes" if _key(code) in YES or _key(label) in YES else "no"
    if spec.codes is None:
        return None
    for text in (_folded(label), code):
        word = _key(re.sub(r"[()]", " ", text))
        word = LABELS.get(word, word)
        for member in spec.codes:
            if _key(member.value) == _key(word):
                return member.value
    return None


def propose_mapping(dictionary: Dictionary, records: RawSheet | None = None) -> str:
    """A mapping file (YAML text with comments) proposed from the dictionary and the records."""
    sheets: dict[str, dict[str, Any]] = {}
    codes: dict[str, dict[str, str | None]] = {}
    unmapped: list[str] = []
    for f in dictionary.fields.values():
        if f.name == dictionary.record_id or f.type in ("calc", "file", "descriptive"):
            continue
        sheet = _sheet_of_form(f.form)
        column = _guess_column(sheet, f.name, f.form, f)
        if column is None and sheet != "patients":
            column = _guess_column("patients", f.name, f.form, f)
            sheet = "patients" if column else sheet
        if column is None:
            unmapped.append(f"{f.name} ({f.form}: {f.label})")
            continue
        entry = sheets.setdefault(sheet, {"form": f.form} if sheet != "patients" else {})
        entry.setdefault("fields", {})[f.name] = column
        if f.coded:
            codes[f.name] = {c: _guess_code(sheet, column, c, lab) for c, lab in f.choices.items()}
    document: dict[str, Any] = {}
    header = [
        "REDCap -> Bassinet mapping proposed by `bassinet import-redcap --propose-mapping`.",
        "Check every line; a code mapped to null must be decided (a registry code, or '' for",
        "missing) before the import runs. Give one centre, or the field naming each record's.",
    ]
    columns = records.header if records else ()
    if "redcap_data_access_group" in columns:
        document["centre_field"] = "redcap_data_access_group"
    else:
        document["centre"] = PLACEHOLDER
    if records is not None and "redcap_event_name" in columns:
        index = columns.index("redcap_event_name")
        document["events"] = sorted({str(c[index]) for _, c in records.rows if len(c) > index and c[index]})
    document["sheets"] = sheets
    document["codes"] = codes
    text = "\n".join(f"# {line}" for line in header) + "\n"
    text += yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    dated = [
        i
        for i, c in enumerate(columns)
        if c in dictionary.fields and dictionary.fields[c].validation.startswith("date")
    ]
    odd = next(
        (str(cells[i]) for _, cells in (records.rows if records else []) for i in dated
         if i < len(cells) and _DAY_FIRST_OR_MONTH_FIRST.fullmatch(str(cells[i] or "").strip())),
        None,
    )  # fmt: skip
    if odd is not None:
        text += (
            f"# The records hold dates such as {odd}, not YYYY-MM-DD: add date_format: DMY (day first)\n"
            "# or date_format: MDY (month first), as chosen in REDCap's export options.\n"
        )
    if unmapped:
        text += "# Fields not mapped (not imported):\n" + "".join(f"#   {u}\n" for u in unmapped)
    return text


# -- checking the mapping against the dictionary --------------------------------------------------


def check_mapping(mapping: RedcapMapping, dictionary: Dictionary) -> None:
    """Refuse a mapping that names unknown fields or leaves a choice of a mapped field unmapped."""
    problems = []
    if (mapping.centre is None) == (mapping.centre_field is None):
        problems.append("give either `centre:` (one centre) or `centre_field:` (a field naming it)")
    if mapping.centre == PLACEHOLDER:
        problems.append(f"centre: still '{PLACEHOLDER}': name the centre the records come from")
    for sheet, spec in mapping.sheets.items():
        if sheet not in SHEETS:
            problems.append(f"sheets: '{sheet}' is not a registry sheet ({', '.join(SHEETS)})")
            continue
        for theirs, ours in spec.fields.items():
            f = dictionary.fields.get(theirs)
            if f is None:
                problems.append(f"sheets.{sheet}: field '{theirs}' is not in the data dictionary")
                continue
            column = SHEETS[sheet].by_name.get(ours)
            if column is None or ours == "study_id":
                names = ", ".join(c.name for c in SHEETS[sheet].columns if c.name != "study_id")
                problems.append(
                    f"sheets.{sheet}: field '{theirs}' maps to '{ours}', not a column of {sheet} ({names})"
                )
                continue
            if not f.coded:
                continue
            table = mapping.codes.get(theirs, {})
            allowed = {m.value for m in column.codes} if column.codes else {"yes", "no"}
            for code, label in f.choices.items():
                target = table.get(code)
                if target == "":
                    continue
                if target is None or (_key(target) not in {_key(a) for a in allowed}):
                    shown = "is not mapped" if target is None else f"maps to '{target}'"
                    problems.append(
                        f"field '{theirs}': choice '{code}' ({label}) {shown}; it must map to one of "
                        f"{', '.join(sorted(allowed))} (or '' for missing) under codes.{theirs}"
                    )
    for sheet, spec in mapping.sheets.items():
        if sheet not in SHEETS:
            continue
        given = {*spec.fields.values(), "study_id", *(c for values in spec.by_event.values() for c in values)}
        if sheet == "patients":
            given |= {"centre", "study_group"}
        for column in SHEETS[sheet].columns:
            if column.required and column.name not in given:
                problems.append(
                    f"sheets.{sheet}: no field maps to '{column.name}', which the registry requires: "
                    f"map the REDCap field that holds it"
                )
    if problems:
        raise DataError("the REDCap mapping does not fit the data dictionary:\n  " + "\n  ".join(problems))


# -- records to registry sheets -------------------------------------------------------------------


@dataclass
class _Origin:
    line: int
    record: str
    event: str


@dataclass
class _Sheets:
    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    origins: dict[str, list[_Origin]] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # sheet: registry col -> REDCap
    #: Where each patient value was read: (record, registry column) -> the REDCap row (event).
    patient_values: dict[tuple[str, str], _Origin] = field(default_factory=dict)


_DAY_FIRST_OR_MONTH_FIRST = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(.*)")


def _date(f: RedcapField, raw: str, mapping: RedcapMapping, where: str) -> str:
    """A date field's value as YYYY-MM-DD, read in the export's ``date_format``."""
    match = _DAY_FIRST_OR_MONTH_FIRST.fullmatch(raw)
    if match is None:
        return raw  # YYYY-MM-DD, or something the registry's date rule reports
    if mapping.date_format == "YMD":
        raise DataError(
            f"{where}: field '{f.name}' ({raw}) is not a date as REDCap exports it by default "
            "(YYYY-MM-DD): if the records were exported with the DD/MM/YYYY or MM/DD/YYYY date "
            "format, say so with `date_format: DMY` or `date_format: MDY` in the mapping"
        )
    first, second, year, rest = match.groups()
    day, month = (first, second) if mapping.date_format == "DMY" else (second, first)
    return f"{year}-{int(month):02d}-{int(day):02d}{rest}"


def _value(f: RedcapField, raw: str, mapping: RedcapMapping, where: str) -> str:
    if not f.coded:
        return _date(f, raw, mapping, where) if f.validation.startswith("date") else raw
    code = raw if raw in f.choices else None
    if code is None:
        same = _key(unicodedata.normalize("NFC", raw))
        code = next(
            (c for c, lab in f.choices.items() if _key(unicodedata.normalize("NFC", lab)) == same), None
        )
    if code is None:
        raise DataError(
            f"{where}: field '{f.name}' ({raw}) is not one of its choices "
            f"({', '.join(f'{c} = {lab}' for c, lab in f.choices.items())})"
        )
    return mapping.codes[f.name].get(code) or ""


def _records_to_sheets(records: RawSheet, dictionary: Dictionary, mapping: RedcapMapping) -> _Sheets:
    header = list(records.header)
    record_id = dictionary.record_id
    if record_id not in header:
        raise DataError(f"{records.source}: no column '{record_id}', the data dictionary's record id field")
    checkboxes: dict[str, list[tuple[int, str]]] = {}
    for index, column in enumerate(header):
        if "___" in column:
            found = dictionary.checkbox_column(column)
            if found is None:
                raise DataError(
                    f"{records.source}: column '{column}' is a checkbox column, but the data dictionary "
                    f"has no checkbox field '{column.partition('___')[0]}' with choice "
                    f"'{column.partition('___')[2]}'"
                )
            checkboxes.setdefault(found[0].name, []).append((index, found[1]))
        elif (
            column not in dictionary.fields
            and column not in SPECIAL_COLUMNS
            and not column.endswith("_complete")
        ):
            raise DataError(f"{records.source}: column '{column}' is not a field of the data dictionary")
    position = {c: i for i, c in enumerate(header)}
    owner = {
        theirs: (sheet, ours) for sheet, s in mapping.sheets.items() for theirs, ours in s.fields.items()
    }
    result = _Sheets()
    patients: dict[str, dict[str, str]] = {}
    first_seen: dict[tuple[str, str], str] = {}
    first_line: dict[str, int] = {}
    result.origins["patients"] = []
    for sheet, s in mapping.sheets.items():
        result.columns[sheet] = {ours: theirs for theirs, ours in s.fields.items()}
    events = set(mapping.events)
    for line, cells in records.rows:
        cell = {c: str(cells[i]).strip() if i < len(cells) and cells[i] is not None else "" for c, i in
                position.items()}  # fmt: skip
        rid, event = cell[record_id], cell.get("redcap_event_name", "")
        where = f"{records.source} line {line} (record {rid}" + (f", event {event})" if event else ")")
        if not rid:
            raise DataError(f"{records.source} line {line}: field '{record_id}' (the record id) is empty")
        if "redcap_event_name" in position and event not in events:
            raise DataError(
                f"{where}: field 'redcap_event_name' ({event}) is not an event of the mapping "
                f"({', '.join(sorted(events)) or 'none listed'}): add it under `events:`"
            )
        first_line.setdefault(rid, line)
        values: dict[str, str] = {}
        for name, f in dictionary.fields.items():
            if name not in owner:
                continue
            if f.type == "checkbox":
                ticked = [c for i, c in checkboxes.get(name, []) if _key(str(cells[i] or "")) in CHECKED]
                if len(ticked) > 1:
                    raise DataError(
                        f"{where}: checkbox field '{name}' has {len(ticked)} choices ticked "
                        f"({', '.join(ticked)}); {owner[name][1]} takes one"
                    )
                values[name] = _value(f, ticked[0], mapping, where) if ticked else ""
            elif cell.get(name):
                values[name] = _value(f, cell[name], mapping, where)
        for sheet, s in mapping.sheets.items():
            present = {owner[n][1]: v for n, v in values.items() if owner[n][0] == sheet and v}
            if sheet == "patients":
                target = patients.setdefault(rid, {"study_id": rid})
                for column, value in present.items():
                    if column in target and target[column] != value:
                        raise DataError(
                            f"{where}: field '{result.columns[sheet][column]}' ({value}) differs from "
                            f"{first_seen[(rid, column)]}, where it is {target[column]}"
                        )
                    target[column] = value
                    result.patient_values.setdefault((rid, column), _Origin(line, rid, event))
                    first_seen.setdefault(
                        (rid, column), f"line {line}" + (f" (event {event})" if event else "")
                    )
                if mapping.centre_field:
                    centre = cell.get(mapping.centre_field, "")
                    if centre:
                        target.setdefault("centre", centre)
                continue
            if not present:
                continue
            row = {"study_id": rid, **s.by_event.get(event, {}), **present}
            result.rows.setdefault(sheet, []).append(row)
            result.origins.setdefault(sheet, []).append(_Origin(line, rid, event))
    for rid, row in patients.items():
        if mapping.centre:
            row["centre"] = mapping.centre
        if mapping.study_group:
            row["study_group"] = mapping.study_group
        result.rows.setdefault("patients", []).append(row)
        result.origins["patients"].append(_Origin(first_line[rid], rid, ""))
    return result


def _write(folder: Path, sheets: _Sheets) -> dict[str, Path]:
    paths = {}
    for sheet, rows in sheets.rows.items():
        mapped = sheets.columns.get(sheet, {})
        columns = [
            c.name for c in SHEETS[sheet].columns if c.name in mapped or any(c.name in r for r in rows)
        ]
        path = folder / f"{sheet}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows([[r.get(c, "") for c in columns] for r in rows])
        paths[sheet] = path
    return paths


def _translate(problems: Iterable[Problem], sheets: _Sheets, records: RawSheet) -> list[Problem]:
    """Problems in the registry's sheets, named by the REDCap file, line, record and field."""
    out = []
    for p in problems:
        origin = None
        if p.row is not None and p.sheet in sheets.origins and 2 <= p.row < 2 + len(sheets.origins[p.sheet]):
            origin = sheets.origins[p.sheet][p.row - 2]
        if origin is None:
            out.append(p)
            continue
        if p.sheet == "patients" and p.field:
            origin = sheets.patient_values.get((origin.record, p.field), origin)
        column = sheets.columns.get(p.sheet, {}).get(p.field or "", p.column)
        where = f"record {origin.record}" + (f", event {origin.event}" if origin.event else "")
        out.append(
            Problem(
                records.source,
                f"{p.sheet}: {where}",
                origin.line or None,
                column,
                p.value,
                p.rule,
                field=p.field,
            )
        )
    return out


def read_records(path: Path, *, encoding: str = "utf-8-sig") -> RawSheet:
    """The records export as read rows; a missing file is named as one."""
    if not path.exists():
        raise DataError(f"{path}: no such file (the records export)")
    return read_csv(path, delimiter=",", encoding=encoding)


def import_redcap(
    engine: Engine,
    dictionary: Dictionary,
    records: Path,
    mapping: RedcapMapping,
    *,
    actor: str,
    quarantine: Path | None = None,
    encoding: str = "utf-8-sig",
) -> ImportReport:
    """Import a REDCap records export through the registry's importer (see the module's description).

    ``encoding`` is the records file's (REDCap writes UTF-8, with or without a byte-order mark).

    Raises
    ------
    DataError
        A choice of a mapped field that does not map, an unknown event, a checkbox column
        without its field, a value that is not one of its field's choices; nothing is written.
    ImportRejected
        The registry's rules refuse rows; each problem names the REDCap line, record and field.
    """
    check_mapping(mapping, dictionary)
    raw = read_records(records, encoding=encoding)
    sheets = _records_to_sheets(raw, dictionary, mapping)
    if not sheets.rows.get("patients"):
        raise DataError(f"{records}: no record to import")
    with tempfile.TemporaryDirectory(prefix="bassinet-redcap-") as folder:
        paths = _write(Path(folder), sheets)
        patients = paths.pop("patients")
        try:
            return import_files(engine, patients, long_sheets=paths, actor=actor, quarantine=quarantine)
        except ImportRejected as exc:
            raise ImportRejected(_translate(exc.problems, sheets, raw)) from None


def read_token(spec: str) -> str:
    """A REDCap API token given as ``env:VARIABLE`` (never on the command line itself)."""
    import os

    name = spec.removeprefix("env:")
    if not spec.startswith("env:") or not name:
        raise ConfigurationError("--token must be env:VARIABLE, naming the variable that holds the token")
    token = os.environ.get(name, "").strip()
    if not token:
        raise ConfigurationError(f"--token env:{name}: the variable {name} is not set or empty")
    return token


def fetch_redcap(url: str, token: str, folder: Path) -> tuple[Path, Path]:
    """Download a project's data dictionary and its records (raw codes) with PyCap.

    Returns the paths of ``dictionary.csv`` and ``records.csv`` written in ``folder``, in
    the same formats as REDCap's own downloads, so that they go through the same import.
    """
    from redcap.project import Project
    from redcap.request import RedcapError

    if not url.endswith("/api/"):
        raise ConfigurationError(f"--api {url}: a REDCap API URL ends with /api/")
    if len(token) != 32:
        raise ConfigurationError(f"the REDCap token has {len(token)} characters; REDCap's have 32")
    try:
        project = Project(url, token)
        metadata = project.export_metadata(format_type="csv")
        records = project.export_records(
            format_type="csv", raw_or_label="raw", event_name="unique", export_data_access_groups=True
        )
    except (RedcapError, OSError) as exc:
        raise ConfigurationError(f"REDCap API at {url}: {exc}".replace(token, "***")) from None
    folder.mkdir(parents=True, exist_ok=True)
    dictionary_path, records_path = folder / "dictionary.csv", folder / "records.csv"
    dictionary_path.write_text(str(metadata), encoding="utf-8")
    records_path.write_text(str(records), encoding="utf-8")
    return dictionary_path, records_path
