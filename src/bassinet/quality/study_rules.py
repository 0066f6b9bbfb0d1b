"""Study-defined data-quality rules, written in YAML and evaluated safely.

A study adds its own checks without writing Python::

    rules:
      - id: high_wbc_without_mrd
        when: 'wbc != null and wbc >= 300 and mrd.length == 0'
        field: wbc
        severity: warning
        message: WBC of 300 x10^9/L or more and no MRD measurement recorded

``when`` is an expression over the patient's fields (:data:`PATIENT_FIELDS`), its records
(``remissions``, ``mrd``, ``courses``, ``transplants``, ``events``: arrays of mappings,
e.g. ``[e for e in events if e["event_type"] == "relapse"].length > 0``), ``as_of`` (the date
the checks are run for) and ``age_days`` (age at diagnosis in days). Where it is true, the
rule reports a finding on ``field`` with its ``message`` and ``severity``.

The expressions are parsed and evaluated by rule-engine (Spencer McIntyre,
https://github.com/zeroSteiner/rule-engine), a small expression language with its own
grammar: it cannot call Python, import, or reach attributes outside its own types, so a
rules file from a study office runs no code. Each rule is parsed when the file is loaded,
against the types of the fields, so an unknown field, a syntax error or a comparison of a
date with a number is refused then, naming the rule, the key and the problem, before any
patient is checked. The file's shape is validated with a pydantic schema.

A comparison with a missing value (``wbc > 300`` where ``wbc`` is null) cannot be
evaluated; it is no finding. Write ``wbc == null`` to find a missing value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rule_engine
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bassinet.errors import DataError
from bassinet.quality.findings import PATIENT, RECORD_KINDS, Finding, PatientData, Severity

_T = rule_engine.DataType
#: The record arrays are left untyped: rule-engine checks a typed array's every member against
#: its type at each evaluation, which doubles the cost of a rule over records; the members'
#: values are still typed when a rule reads them.
_RECORDS = _T.UNDEFINED

#: The patient's fields a rule may name, with their types in the expression language.
PATIENT_FIELDS: dict[str, Any] = {
    "study_id": _T.STRING,
    "centre": _T.STRING,
    "sex": _T.STRING,
    "date_of_birth": _T.DATETIME,
    "diagnosis_date": _T.DATETIME,
    "leukemia_type": _T.STRING,
    "immunophenotype": _T.STRING,
    "cd10": _T.STRING,
    "kmt2a_status": _T.STRING,
    "kmt2a_partner": _T.STRING,
    "wbc": _T.FLOAT,
    "cns_status": _T.STRING,
    "day8_blasts": _T.FLOAT,
    "protocol": _T.STRING,
    "protocol_version": _T.STRING,
    "randomisation_arm": _T.STRING,
    "randomisation_date": _T.DATETIME,
    "last_contact_date": _T.DATETIME,
    "vital_status": _T.STRING,
}

#: Every name an expression may use: the fields, the record arrays, ``as_of`` and ``age_days``.
SYMBOLS: dict[str, Any] = {
    **PATIENT_FIELDS,
    **dict.fromkeys(RECORD_KINDS, _RECORDS),
    "as_of": _T.DATETIME,
    "age_days": _T.FLOAT,
}

_CONTEXT = rule_engine.Context(
    type_resolver=rule_engine.type_resolver_from_dict(SYMBOLS), mapping_attribute_lookup=False
)


class _RuleText(BaseModel):
    """One rule as written in the file (the schema of an entry of ``rules``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    when: str = Field(min_length=1, max_length=2000)
    field: str
    severity: Severity
    message: str = Field(min_length=1, max_length=500)


class _RulesFile(BaseModel):
    """The schema of a rules file: a mapping with one key, ``rules``, a non-empty list."""

    model_config = ConfigDict(extra="forbid")

    rules: list[dict[str, Any]] = Field(min_length=1)


@dataclass(frozen=True)
class StudyRule:
    """A parsed study rule, ready to run on patients."""

    id: str
    when: str
    field: str
    severity: Severity
    message: str
    compiled: rule_engine.Rule

    def check(self, p: PatientData, as_of: dt.date) -> Iterator[Finding]:
        """The rule's finding for ``p`` if its expression is true (none if it cannot be evaluated)."""
        return self.check_symbols(p, symbol_table(p, as_of))

    def check_symbols(self, p: PatientData, symbols: dict[str, Any]) -> Iterator[Finding]:
        """As :meth:`check`, with ``p``'s values already prepared by :func:`symbol_table` (once
        for all the rules of a patient)."""
        try:
            hit = self.compiled.matches(symbols)
        except rule_engine.errors.EvaluationError:
            return
        if hit:
            yield Finding(
                p.patient_id, p.study_id, p.centre, PATIENT, self.field, self.id, self.severity, self.message
            )


def symbol_table(p: PatientData, as_of: dt.date) -> dict[str, Any]:
    """Every name a rule may use, with ``p``'s value as of ``as_of``; rule-engine only reads it."""
    values: dict[str, Any] = {name: p.fields.get(name) for name in PATIENT_FIELDS}
    values["study_id"], values["centre"] = p.study_id, p.centre
    values.update(p.records)
    values["as_of"] = as_of
    birth, diagnosis = p.date("date_of_birth"), p.date("diagnosis_date")
    values["age_days"] = None if birth is None or diagnosis is None else (diagnosis - birth).days
    return values


def _problem(exc: Exception) -> str:
    if isinstance(exc, rule_engine.errors.SymbolResolutionError):
        hint = f" (did you mean {exc.suggestion!r}?)" if exc.suggestion else ""
        return f"unknown name {exc.symbol_name!r}{hint}; names: {', '.join(sorted(SYMBOLS))}"
    if isinstance(exc, rule_engine.errors.AttributeResolutionError):
        return f"unknown attribute {exc.attribute_name!r}"
    if isinstance(exc, rule_engine.errors.RuleSyntaxError):
        token = getattr(exc, "token", None)
        where = f" at {token.value!r}" if token is not None else " (the expression ends too soon)"
        return f"syntax error{where}"
    return str(exc.args[0] if exc.args else exc)


def parse_rule(entry: object, *, known_ids: set[str] | frozenset[str] = frozenset()) -> StudyRule:
    """One rule from its YAML mapping; a DataError naming the rule, the key and the problem."""
    name = entry.get("id", "?") if isinstance(entry, dict) else "?"
    if not isinstance(entry, dict):
        raise DataError(f"rule {name!r}: each rule is a mapping of id, when, field, severity, message")
    try:
        text = _RuleText.model_validate(entry)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(x) for x in first["loc"]) or "rule"
        raise DataError(f"rule {name!r}: key {key!r}: {first['msg']}") from None
    if text.id in known_ids:
        raise DataError(f"rule {text.id!r}: key 'id': the id is already used by another rule or check")
    if text.field not in SYMBOLS or text.field in ("as_of", "age_days"):
        raise DataError(f"rule {text.id!r}: key 'field': unknown field {text.field!r}")
    try:
        compiled = rule_engine.Rule(text.when, context=_CONTEXT)
    except rule_engine.errors.EngineError as exc:
        raise DataError(f"rule {text.id!r}: key 'when': {_problem(exc)}") from None
    result = compiled.statement.expression.result_type
    if result not in (_T.BOOLEAN, _T.UNDEFINED):
        raise DataError(
            f"rule {text.id!r}: key 'when': the expression gives a {result.name.lower()}, not true or false"
        )
    return StudyRule(text.id, text.when, text.field, text.severity, text.message, compiled)


def parse_rules(
    text: str, *, source: str = "rules", reserved: frozenset[str] = frozenset()
) -> tuple[StudyRule, ...]:
    """The rules of a YAML text; a DataError naming the source, the rule, the key and the problem.

    ``reserved`` holds ids a study rule may not take (those of the built-in checks).
    """
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DataError(f"{source}: not YAML: {str(exc).splitlines()[0]}") from None
    try:
        shape = _RulesFile.model_validate(loaded)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(x) for x in first["loc"]) or "file"
        raise DataError(
            f"{source}: {key!r}: {first['msg']} (expected 'rules:' with a list of rules)"
        ) from None
    rules: list[StudyRule] = []
    seen = set(reserved)
    for entry in shape.rules:
        try:
            rule = parse_rule(entry, known_ids=seen)
        except DataError as exc:
            raise DataError(f"{source}: {exc}") from None
        seen.add(rule.id)
        rules.append(rule)
    return tuple(rules)


def load_rules(path: Path, *, reserved: frozenset[str] = frozenset()) -> tuple[StudyRule, ...]:
    """The rules of the YAML file ``path`` (see :func:`parse_rules`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{path}: cannot read the rules file: {exc.strerror}") from None
    return parse_rules(text, source=str(path), reserved=reserved)
