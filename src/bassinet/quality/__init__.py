"""Data quality: built-in checks and study-defined rules over a patient's records.

Pure: the checks read :class:`PatientData` values and return :class:`Finding` values; the
application layer (:mod:`bassinet.application.quality`) loads the patients of an actor's
scope and counts the findings per centre; the CLI (``bassinet quality check``) and the web
page (``/quality``) show them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from bassinet.quality.builtin import BUILTIN_CHECKS, Check, add_years
from bassinet.quality.findings import PATIENT, RECORD_KINDS, Finding, PatientData, Severity
from bassinet.quality.study_rules import PATIENT_FIELDS, SYMBOLS, StudyRule, symbol_table
from bassinet.quality.study_rules import load_rules as _load
from bassinet.quality.study_rules import parse_rules as _parse

#: The ids of the built-in checks; a study rule may not take one of them.
BUILTIN_IDS: frozenset[str] = frozenset(c.id for c in BUILTIN_CHECKS)


def parse_rules(text: str, *, source: str = "rules") -> tuple[StudyRule, ...]:
    """Study rules from YAML text (see :mod:`bassinet.quality.study_rules`)."""
    return _parse(text, source=source, reserved=BUILTIN_IDS)


def load_rules(path: Path) -> tuple[StudyRule, ...]:
    """Study rules from a YAML file (see :mod:`bassinet.quality.study_rules`)."""
    return _load(path, reserved=BUILTIN_IDS)


def check_patient(p: PatientData, *, as_of: dt.date, rules: Iterable[StudyRule] = ()) -> list[Finding]:
    """Every finding of the built-in checks and of ``rules`` for one patient, as of ``as_of``."""
    found: list[Finding] = []
    for check in BUILTIN_CHECKS:
        found.extend(check.run(p, as_of))
    chosen = tuple(rules)
    if chosen:
        symbols = symbol_table(p, as_of)  # prepared once for all the rules
        for rule in chosen:
            found.extend(rule.check_symbols(p, symbols))
    return found


def check_patients(
    patients: Iterable[PatientData], *, as_of: dt.date, rules: Iterable[StudyRule] = ()
) -> list[Finding]:
    """:func:`check_patient` over many patients, their findings in the patients' order."""
    chosen = tuple(rules)
    found: list[Finding] = []
    for p in patients:
        found.extend(check_patient(p, as_of=as_of, rules=chosen))
    return found


__all__ = [
    "BUILTIN_CHECKS",
    "BUILTIN_IDS",
    "PATIENT",
    "PATIENT_FIELDS",
    "RECORD_KINDS",
    "SYMBOLS",
    "Check",
    "Finding",
    "PatientData",
    "Severity",
    "StudyRule",
    "add_years",
    "check_patient",
    "check_patients",
    "load_rules",
    "parse_rules",
]
