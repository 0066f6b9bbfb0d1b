"""REDCap projects built in the tests, in REDCap's documented download formats.

The data dictionary has the Designer's 18 columns ("Variable / Field Name", "Form Name",
..., "Field Annotation"); choices are "code, label | code, label". The records export is
the flat CSV: the record id first, then ``redcap_event_name`` (longitudinal projects),
``redcap_repeat_instrument`` and ``redcap_repeat_instance`` (repeating instruments), the
fields in dictionary order (a checkbox as ``field___code`` columns) and ``FORM_complete``.
"""

from __future__ import annotations

import csv
from pathlib import Path

DICTIONARY_HEADER = [
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
    "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
]  # fmt: skip

# (field, form, type, label, choices, validation)
BASELINE = [
    ("record_id", "enrolment", "text", "Record ID", "", ""),
    ("sex", "enrolment", "radio", "Sex", "1, Male | 2, Female", ""),
    ("dob", "enrolment", "text", "Date of birth", "", "date_ymd"),
    ("dx_date", "enrolment", "text", "Date of diagnosis", "", "date_ymd"),
    ("leukemia_type", "enrolment", "dropdown", "Leukemia", "1, ALL | 2, AML", ""),
    ("kmt2a", "enrolment", "radio", "KMT2A status", "0, Germline | 1, Rearranged | 9, Unknown", ""),
    ("kmt2a_partner", "enrolment", "dropdown", "Partner",
     "1, t(4;11) | 2, t(11;19) | 3, t(9;11) | 4, t(10;11) | 5, Other", ""),
    ("wbc", "enrolment", "text", "WBC at diagnosis (x10^9/L)", "", "number"),
    ("cns", "enrolment", "checkbox", "CNS status", "1, CNS1 | 2, CNS2 | 3, CNS3", ""),
    ("comments", "enrolment", "notes", "Comments", "", ""),
    ("last_contact", "follow_up", "text", "Date of last contact", "", "date_ymd"),
    ("vital_status", "follow_up", "radio", "Vital status", "1, Alive | 2, Dead", ""),
]  # fmt: skip
MRD_FORM = [
    ("mrd_tp", "mrd", "dropdown", "Time point", "1, End of induction | 2, End of consolidation", ""),
    ("mrd_date", "mrd", "text", "Date of sample", "", "date_ymd"),
    ("mrd_method", "mrd", "radio", "Method", "1, PCR | 2, Flow cytometry", ""),
    ("mrd_value", "mrd", "text", "MRD level (fraction)", "", "number"),
]  # fmt: skip


def write_dictionary(path: Path, fields: list[tuple[str, str, str, str, str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(DICTIONARY_HEADER)
        for name, form, kind, label, choices, validation in fields:
            row = [name, form, "", kind, label, choices, "", validation] + [""] * 10
            writer.writerow(row)
    return path


def write_records(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(c, "") for c in header])
    return path


FLAT_HEADER = ["record_id", "sex", "dob", "dx_date", "leukemia_type", "kmt2a", "kmt2a_partner", "wbc",
               "cns___1", "cns___2", "cns___3", "comments", "enrolment_complete", "last_contact",
               "vital_status", "follow_up_complete"]  # fmt: skip


def flat_rows() -> list[dict[str, str]]:
    """Two infants, one row each, raw codes."""
    return [
        {"record_id": "101", "sex": "2", "dob": "2019-01-10", "dx_date": "2019-05-02", "leukemia_type": "1",
         "kmt2a": "1", "kmt2a_partner": "1", "wbc": "412", "cns___1": "1", "cns___2": "0", "cns___3": "0",
         "comments": "mother asked about trial", "enrolment_complete": "2", "last_contact": "2022-06-30",
         "vital_status": "1", "follow_up_complete": "2"},
        {"record_id": "102", "sex": "1", "dob": "2020-03-01", "dx_date": "2020-11-20", "leukemia_type": "1",
         "kmt2a": "0", "kmt2a_partner": "", "wbc": "35.5", "cns___1": "0", "cns___2": "0", "cns___3": "0",
         "enrolment_complete": "2", "last_contact": "2023-01-15", "vital_status": "1",
         "follow_up_complete": "1"},
    ]  # fmt: skip
