"""Interfant-06 rules: case tables at every boundary, with the rule text each row comes from.

Rule text (domain.md, seed 004): "LR: KMT2A germline (whatever the prednisone response).
HR: KMT2A rearranged AND younger than 6 months AND (WBC >= 300 x10^9/L OR poor
prednisone response [>= 1000 blasts/uL on day 8]). MR: every other KMT2A-rearranged case.
KMT2A status unknown: no group." "Allogeneic SCT: every HR patient in first remission;
from June 2009 also MR patients with MRD >= 1e-4 at the start of OCTADAD."
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from bassinet.errors import DataError
from bassinet.protocols import MRD, PatientFacts, interfant06

BORN = dt.date(2019, 1, 10)  # 6 calendar months old on 2019-07-10


def facts(*, diagnosed: dt.date = dt.date(2019, 5, 2), **changes: Any) -> PatientFacts:
    base: dict[str, Any] = {
        "leukemia_type": "ALL",
        "kmt2a_status": "rearranged",
        "wbc": 100.0,
        "day8_blasts": 500.0,
        "cr_after_induction": True,
        "in_first_remission": True,
    }
    base.update(changes)
    return PatientFacts.from_dates("P1", date_of_birth=BORN, diagnosis_date=diagnosed, **base)


@dataclass
class Case:
    name: str
    rule: str
    changes: dict[str, Any] = field(default_factory=dict)
    expected: str | None = None
    missing: tuple[str, ...] = ()


RISK_CASES = [
    Case(
        "germline, poor prednisone response",
        "LR: KMT2A germline, whatever the prednisone response",
        {"kmt2a_status": "germline", "day8_blasts": 5000.0, "wbc": 500.0},
        "LR",
    ),
    Case(
        "rearranged, one day under 6 months, WBC 300",
        "HR: WBC >= 300",
        {"diagnosed": dt.date(2019, 7, 9), "wbc": 300.0},
        "HR",
    ),
    Case(
        "rearranged, exactly 6 months, WBC 300",
        "HR needs younger than 6 months: else MR",
        {"diagnosed": dt.date(2019, 7, 10), "wbc": 300.0},
        "MR",
    ),
    Case(
        "under 6 months, WBC 299.9, good response",
        "HR: WBC >= 300",
        {"wbc": 299.9, "day8_blasts": 999.0},
        "MR",
    ),
    Case("under 6 months, WBC 300.1", "HR: WBC >= 300", {"wbc": 300.1}, "HR"),
    Case(
        "under 6 months, 999 blasts",
        "poor prednisone response: >= 1000 blasts/uL",
        {"day8_blasts": 999.0},
        "MR",
    ),
    Case(
        "under 6 months, 1000 blasts",
        "poor prednisone response: >= 1000 blasts/uL",
        {"day8_blasts": 1000.0},
        "HR",
    ),
    Case(
        "over 6 months, WBC 900 and poor response",
        "HR needs younger than 6 months: else MR",
        {"diagnosed": dt.date(2019, 11, 1), "wbc": 900.0, "day8_blasts": 5000.0},
        "MR",
    ),
    Case(
        "KMT2A unknown",
        "KMT2A status unknown: no group",
        {"kmt2a_status": "unknown"},
        None,
        ("kmt2a_status",),
    ),
    Case(
        "KMT2A not recorded",
        "KMT2A status unknown: no group",
        {"kmt2a_status": None},
        None,
        ("kmt2a_status",),
    ),
    Case("AML", "Interfant-06 is a protocol for ALL", {"leukemia_type": "AML"}, None),
    Case(
        "under 6 months, WBC unknown, good response",
        "HR if WBC >= 300: unknown WBC cannot decide",
        {"wbc": None},
        None,
        ("wbc",),
    ),
    Case(
        "under 6 months, WBC unknown, poor response",
        "HR: poor response suffices",
        {"wbc": None, "day8_blasts": 2000.0},
        "HR",
    ),
    Case(
        "over 6 months, WBC and response unknown",
        "MR: not younger than 6 months",
        {"diagnosed": dt.date(2019, 9, 1), "wbc": None, "day8_blasts": None},
        "MR",
    ),
]


@pytest.mark.parametrize("case", RISK_CASES, ids=[c.name for c in RISK_CASES])
def test_risk_group_case_table(case: Case) -> None:
    changes = dict(case.changes)
    diagnosed = changes.pop("diagnosed", dt.date(2019, 5, 2))
    decision = interfant06.risk_group(facts(diagnosed=diagnosed, **changes))
    assert decision.outcome == case.expected, case.rule
    assert decision.missing == case.missing, case.rule


def test_the_days_age_rule_counts_183_days() -> None:
    # 2019-07-10 is 181 days after birth: under 6 months by days although it is 6 calendar months
    on_the_day = PatientFacts.from_dates(
        "P",
        date_of_birth=BORN,
        diagnosis_date=dt.date(2019, 7, 10),
        age_rule="days",
        leukemia_type="ALL",
        kmt2a_status="rearranged",
        wbc=400.0,
    )
    assert on_the_day.age_days == 181
    assert interfant06.risk_group(on_the_day).outcome == "HR"


def test_a_decision_states_each_criterion_with_the_value() -> None:
    decision = interfant06.risk_group(facts(wbc=412.0, kmt2a_partner="AFF1"))
    assert decision.reasons == (
        "KMT2A rearranged (AFF1)",
        "age 112 days: younger than 6 months (diagnosed 2019-05-02, 6 months old on 2019-07-10) "
        "[6 calendar months]",
        "WBC 412 x10^9/L >= 300",
    )
    assert "day-8 blasts 500/uL < 1000: good prednisone response" in [c.text for c in decision.criteria]
    assert "boundary is taken as >= 300" in decision.notes[0]
    assert decision.protocol == "interfant-06" and decision.version


# -- randomisation eligibility and treatment plan ----------------------------------------------------

ELIGIBILITY = [
    Case("MR in CR", "MR and HR patients in CR after induction are randomised", {"wbc": 100.0}, "eligible"),
    Case("HR in CR", "MR and HR patients in CR after induction are randomised", {"wbc": 400.0}, "eligible"),
    Case(
        "MR not in CR", "only patients in CR after induction", {"cr_after_induction": False}, "not eligible"
    ),
    Case("LR in CR", "LR patients get IB, not randomised", {"kmt2a_status": "germline"}, "not eligible"),
    Case(
        "MR, remission unknown",
        "CR after induction must be known",
        {"cr_after_induction": None},
        None,
        ("cr_after_induction",),
    ),
]


@pytest.mark.parametrize("case", ELIGIBILITY, ids=[c.name for c in ELIGIBILITY])
def test_randomisation_eligibility_case_table(case: Case) -> None:
    decision = interfant06.randomisation_eligibility(facts(**case.changes))
    assert decision.outcome == case.expected, case.rule
    assert decision.missing == case.missing


def test_the_plan_lists_the_courses_and_drugs_of_the_protocol() -> None:
    plan = interfant06.treatment_plan(facts(), arm="ADE_MAE")
    assert [c.name for c in plan.courses] == ["induction", "ADE", "MAE", "MARMA", "OCTADAD", "maintenance"]
    assert plan.courses[1].drugs == ("cytarabine", "daunorubicin", "etoposide", "intrathecal therapy")
    assert all("intrathecal therapy" in c.drugs for c in plan.courses)


def test_an_lr_patient_gets_ib_and_is_not_randomised() -> None:
    plan = interfant06.treatment_plan(facts(kmt2a_status="germline"))
    assert [c.name for c in plan.courses][1] == "IB"
    assert plan.randomisation.outcome == "not eligible"


def test_an_lr_patient_cannot_be_given_the_experimental_arm() -> None:
    with pytest.raises(DataError, match="an LR patient is not randomised and gets IB"):
        interfant06.treatment_plan(facts(kmt2a_status="germline"), arm="ADE_MAE")


def test_an_eligible_patient_without_an_arm_awaits_randomisation() -> None:
    plan = interfant06.treatment_plan(facts())
    assert plan.courses[1].note == "IB, or ADE then MAE: by randomisation"


# -- transplant indication ----------------------------------------------------------------------------


def octadad(value: float | str, on: dt.date = dt.date(2010, 1, 1)) -> tuple[MRD, ...]:
    if isinstance(value, str):
        return (MRD("start_of_octadad", value, None, "PCR", on),)  # type: ignore[arg-type]
    return (MRD("start_of_octadad", "quantified", value, "PCR", on),)


SCT = [
    Case("HR in CR1", "every HR patient in first remission", {"wbc": 400.0}, "indicated"),
    Case(
        "HR not in CR1",
        "indication is for first remission",
        {"wbc": 400.0, "in_first_remission": False},
        "not indicated",
    ),
    Case("LR", "LR: no transplant", {"kmt2a_status": "germline"}, "not indicated"),
    Case(
        "MR, MRD 1e-4 after the amendment",
        "MR with MRD >= 1e-4 at the start of OCTADAD",
        {"mrd": octadad(1e-4)},
        "indicated",
    ),
    Case(
        "MR, MRD 9.99e-5 after the amendment",
        "MR with MRD >= 1e-4 at the start of OCTADAD",
        {"mrd": octadad(9.99e-5)},
        "not indicated",
    ),
    Case(
        "MR, MRD 1e-3 on the day of the amendment",
        "from June 2009",
        {"mrd": octadad(1e-3, dt.date(2009, 6, 1))},
        "indicated",
    ),
    Case(
        "MR, MRD 1e-3 the day before the amendment",
        "from June 2009",
        {"mrd": octadad(1e-3, dt.date(2009, 5, 31))},
        "not indicated",
    ),
    Case("MR, MRD negative", "MR with MRD >= 1e-4", {"mrd": octadad("negative")}, "not indicated"),
    Case(
        "MR, MRD positive not quantifiable",
        "cannot be compared with 1e-4",
        {"mrd": octadad("positive_nq")},
        None,
        ("a quantified MRD at the start of OCTADAD",),
    ),
    Case(
        "MR, no MRD at OCTADAD",
        "MRD at the start of OCTADAD needed",
        {},
        None,
        ("MRD at the start of OCTADAD",),
    ),
    Case("AML", "no Interfant-06 group", {"leukemia_type": "AML"}, None, ("risk group",)),
]


@pytest.mark.parametrize("case", SCT, ids=[c.name for c in SCT])
def test_sct_indication_case_table(case: Case) -> None:
    decision = interfant06.sct_indication(facts(**case.changes))
    assert decision.outcome == case.expected, case.rule
    assert decision.missing == case.missing


def test_the_amendment_date_is_configurable() -> None:
    late = facts(mrd=octadad(1e-3, dt.date(2009, 7, 1)))
    assert interfant06.sct_indication(late).outcome == "indicated"
    assert interfant06.sct_indication(late, amendment_date=dt.date(2009, 8, 1)).outcome == "not indicated"


# -- bad facts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: facts(wbc=-1.0), "wbc is -1.0: a white cell count is a number >= 0"),
        (lambda: facts(day8_blasts=float("nan")), "day8_blasts is nan"),
        (lambda: MRD("start_of_octadad", "quantified", 1.5), r"a quantified MRD is a fraction in \[0, 1\]"),
        (lambda: facts(diagnosed=dt.date(2020, 1, 10)), "is not before the first birthday"),
        (lambda: PatientFacts("P", age_days=400), "age_days is 400: an infant is diagnosed before"),
        (lambda: facts(kmt2a_status="germline", kmt2a_partner="AFF1"), "a partner needs a rearrangement"),
    ],
)
def test_facts_out_of_range_are_refused_naming_the_fact(build: Any, message: str) -> None:
    with pytest.raises(DataError, match=message):
        build()


def test_an_unknown_arm_is_refused() -> None:
    with pytest.raises(DataError, match="arm is 'ADE': Interfant-06 arms are IB, ADE_MAE"):
        interfant06.treatment_plan(facts(), arm="ADE")
