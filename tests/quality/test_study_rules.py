"""Study-defined rules in YAML: evaluated without Python's eval, refused with a named problem."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bassinet.errors import DataError
from bassinet.quality import Severity, check_patient, load_rules, parse_rules
from tests.quality.cases import AS_OF, D, course, infant, mrd

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "quality_rules.yaml"


def rules(body: str) -> str:
    return "rules:\n" + textwrap.indent(textwrap.dedent(body), "  ")


ONE = rules(
    """\
    - id: high_wbc_without_mrd
      when: 'wbc != null and wbc >= 300 and mrd.length == 0'
      field: wbc
      severity: warning
      message: WBC of 300 or more and no MRD
    """
)


def test_a_true_rule_reports_its_finding() -> None:
    (rule,) = parse_rules(ONE)
    (finding,) = list(rule.check(infant(wbc=300.0), AS_OF))
    assert (finding.check, finding.record, finding.field) == ("high_wbc_without_mrd", "patient", "wbc")
    assert finding.severity is Severity.WARNING
    assert finding.message == "WBC of 300 or more and no MRD"


def test_a_false_rule_reports_nothing_at_its_boundary() -> None:
    (rule,) = parse_rules(ONE)
    assert list(rule.check(infant(wbc=299.9), AS_OF)) == []
    assert list(rule.check(infant({"mrd": [mrd("day_15", D(2020, 3, 15))]}, wbc=400.0), AS_OF)) == []


def test_a_comparison_with_a_missing_value_is_no_finding() -> None:
    (rule,) = parse_rules(rules("- {id: r, when: 'wbc > 300', field: wbc, severity: error, message: m}\n"))
    assert list(rule.check(infant(wbc=None), AS_OF)) == []
    assert len(list(rule.check(infant(wbc=301.0), AS_OF))) == 1


def test_rules_see_records_dates_as_of_and_age() -> None:
    text = rules(
        """\
        - id: induction_late
          when: >-
            [c for c in courses if c["course"] == "induction"
            and c["start_date"] > diagnosis_date + t"P14D"].length > 0
          field: courses
          severity: warning
          message: induction started more than 14 days after diagnosis
        - id: old_at_diagnosis
          when: 'age_days >= 300 and as_of > d"2021-01-01"'
          field: diagnosis_date
          severity: warning
          message: diagnosed at 300 days or older
        """
    )
    late, old = parse_rules(text)
    on_time = infant({"courses": [course("induction", D(2020, 3, 15))]})
    too_late = infant({"courses": [course("induction", D(2020, 3, 16))]})
    assert list(late.check(on_time, AS_OF)) == []
    assert [f.check for f in late.check(too_late, AS_OF)] == ["induction_late"]
    assert list(old.check(infant(), AS_OF)) == []  # 60 days old
    aged = infant(date_of_birth=D(2019, 5, 6))  # 300 days before 2020-03-01
    assert [f.check for f in old.check(aged, AS_OF)] == ["old_at_diagnosis"]
    assert list(old.check(aged, D(2021, 1, 1))) == []


def test_the_example_rules_file_loads_and_runs() -> None:
    loaded = load_rules(EXAMPLE)
    assert [r.id for r in loaded] == ["rearranged_high_wbc_without_mrd", "randomised_without_induction"]
    flagged = check_patient(
        infant(wbc=350.0, randomisation_arm="IB", randomisation_date=D(2020, 5, 1)), as_of=AS_OF, rules=loaded
    )
    assert {f.check for f in flagged} == {"rearranged_high_wbc_without_mrd", "randomised_without_induction"}


BAD: list[tuple[str, str, str]] = [
    ("not YAML", "rules: [", r"^r\.yaml: not YAML"),
    ("no rules key", "checks: []", r"^r\.yaml: 'rules': Field required"),
    ("empty list", "rules: []", r"^r\.yaml: 'rules': List should have at least 1 item"),
    (
        "unknown name",
        rules("- {id: a, when: 'wcb > 3', field: wbc, severity: error, message: m}\n"),
        r"^r\.yaml: rule 'a': key 'when': unknown name 'wcb' \(did you mean 'wbc'\?\)",
    ),
    (
        "syntax error",
        rules("- {id: a, when: 'wbc >= ', field: wbc, severity: error, message: m}\n"),
        r"^r\.yaml: rule 'a': key 'when': syntax error",
    ),
    (
        "a date compared with a number",
        rules("- {id: a, when: 'diagnosis_date > 3', field: wbc, severity: error, message: m}\n"),
        r"^r\.yaml: rule 'a': key 'when': data type mismatch",
    ),
    (
        "not true or false",
        rules("- {id: a, when: 'wbc + 1', field: wbc, severity: error, message: m}\n"),
        r"^r\.yaml: rule 'a': key 'when': the expression gives a float, not true or false",
    ),
    (
        "a Python attribute",
        rules("- {id: a, when: 'study_id.__class__ == null', field: wbc, severity: error, message: m}\n"),
        r"^r\.yaml: rule 'a': key 'when': unknown attribute '__class__'",
    ),
    (
        "a Python call",
        rules("- {id: a, when: '__import__(\"os\")', field: wbc, severity: error, message: m}\n"),
        r"^r\.yaml: rule 'a': key 'when': ",
    ),
    (
        "unknown severity",
        rules("- {id: a, when: 'wbc == null', field: wbc, severity: fatal, message: m}\n"),
        r"^r\.yaml: rule 'a': key 'severity': Input should be 'error' or 'warning'",
    ),
    (
        "missing message",
        rules("- {id: a, when: 'wbc == null', field: wbc, severity: error}\n"),
        r"^r\.yaml: rule 'a': key 'message': Field required",
    ),
    (
        "unknown key",
        rules("- {id: a, when: 'wbc == null', field: wbc, severity: error, message: m, level: 3}\n"),
        r"^r\.yaml: rule 'a': key 'level': Extra inputs are not permitted",
    ),
    (
        "unknown field",
        rules("- {id: a, when: 'wbc == null', field: wbcc, severity: error, message: m}\n"),
        r"^r\.yaml: rule 'a': key 'field': unknown field 'wbcc'",
    ),
    (
        "bad id",
        rules("- {id: 'Bad Id', when: 'wbc == null', field: wbc, severity: error, message: m}\n"),
        r"^r\.yaml: rule 'Bad Id': key 'id': String should match pattern",
    ),
    (
        "an id used twice",
        rules(
            "- {id: a, when: 'wbc == null', field: wbc, severity: error, message: m}\n"
            "- {id: a, when: 'cd10 == null', field: cd10, severity: error, message: m}\n"
        ),
        r"^r\.yaml: rule 'a': key 'id': the id is already used",
    ),
    (
        "the id of a built-in check",
        rules("- {id: range, when: 'wbc == null', field: wbc, severity: error, message: m}\n"),
        r"^r\.yaml: rule 'range': key 'id': the id is already used",
    ),
]


@pytest.mark.parametrize(("case", "text", "message"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_rule_is_refused_naming_rule_key_and_problem(case: str, text: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        parse_rules(text, source="r.yaml")


def test_an_unreadable_rules_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"absent\.yaml: cannot read the rules file"):
        load_rules(tmp_path / "absent.yaml")
