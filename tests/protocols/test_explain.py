"""Explanations for the clinician and the family."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bassinet.errors import DataError
from bassinet.protocols import PatientFacts, interfant06
from bassinet.protocols.explain import QUESTIONS, explain


def document(audience: str, **changes: object) -> object:
    base: dict[str, object] = {
        "leukemia_type": "ALL",
        "kmt2a_status": "rearranged",
        "kmt2a_partner": "AFF1",
        "wbc": 412.0,
        "day8_blasts": 1200.0,
        "cr_after_induction": True,
        "in_first_remission": True,
    }
    base.update(changes)
    facts = PatientFacts.from_dates(
        "P7", date_of_birth=dt.date(2019, 1, 10), diagnosis_date=dt.date(2019, 5, 2), **base
    )
    group, plan, sct = (
        interfant06.risk_group(facts),
        interfant06.treatment_plan(facts),
        interfant06.sct_indication(facts),
    )
    return explain(facts, group, plan, sct, audience=audience)  # type: ignore[arg-type]


def test_the_clinician_sees_every_criterion_drug_and_the_indication() -> None:
    text = document("clinician").markdown()  # type: ignore[attr-defined]
    assert "# P7: Interfant-06 decisions" in text
    assert "Risk group: HR" in text
    assert "WBC 412 x10^9/L >= 300: this criterion is met." in text
    assert "Day-8 blasts 1200/uL >= 1000: poor prednisone response: this criterion is met." in text
    assert "holds:" not in text  # rule-engine speak (cold review)
    assert "MARMA: high-dose cytarabine, high-dose methotrexate" in text
    assert "Allogeneic SCT: indicated" in text


def test_the_family_gets_the_questions_to_ask_the_care_team() -> None:
    text = document("family").markdown()  # type: ignore[attr-defined]
    for question in QUESTIONS:
        assert f"- {question}" in text
    assert "stem cell transplant" in text and "about 2 years" in text


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"kmt2a_status": "germline", "kmt2a_partner": None},
        {"kmt2a_status": "unknown", "kmt2a_partner": None},
    ],
)
def test_the_family_text_explains_every_abbreviation_where_it_first_appears(
    changes: dict[str, object],
) -> None:
    text = document("family", **changes).markdown()  # type: ignore[attr-defined]
    for abbreviation in sorted(set(re.findall(r"\b[A-Z][A-Z0-9]{1,}\b", text))):
        first = text.index(abbreviation)
        before = text[max(0, first - 40) : first]
        assert re.search(r"(called|call|known as|\()\s*$|called |call |known as ", before), (
            f"{abbreviation} is used before it is explained: ...{before}{abbreviation}"
        )


def test_html_is_escaped_and_complete() -> None:
    page = document("clinician").html()  # type: ignore[attr-defined]
    assert page.startswith("<!doctype html>") and "</html>" in page
    assert "x10^9/L &gt;= 300" in page


def test_an_unknown_audience_is_refused() -> None:
    with pytest.raises(DataError, match="audience is 'press'"):
        document("press")


def test_a_missing_fact_without_words_of_its_own_is_named_by_its_field_in_a_sentence() -> None:
    # cold review: "missing: wbc" was rule-engine speak; a good prednisone response, so WBC decides
    text = document("clinician", wbc=None, day8_blasts=500.0).markdown()  # type: ignore[attr-defined]
    assert "White cells (WBC) at diagnosis (patient form) is not recorded yet." in text
    assert "WBC at diagnosis unknown: not known yet, so this criterion cannot be judged." in text
    assert "missing: " not in text
