"""`bassinet explain` decides protocol and state first: AML, relapse, transplant, death, missing facts.

Each scenario is a small registry built in the test, on SQLite and PostgreSQL, read through the
command as a user would; the assertions are on what the clinician or the family reads.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.protocols.registry_data import infant, ready, remission
from tests.test_cli import run

RELAPSE = {
    "study_id": "REL",
    "event_type": "relapse",
    "event_date": "2019-11-02",
    "relapse_site": "bone_marrow",
}
DEATH = {"study_id": "DEAD", "event_type": "death", "event_date": "2020-01-15", "death_cause": "leukemia"}
TRANSPLANT = {
    "study_id": "SCT",
    "transplant_date": "2019-12-01",
    "donor_type": "matched_unrelated",
    "remission_status": "CR1",
    "mrd_value": "negative",
    "mrd_method": "PCR",
}


@pytest.fixture
def url(engine: Engine, tmp_path: Path) -> str:
    patients = [
        infant("ALL1"),
        infant(
            "AML1", leukemia_type="AML", immunophenotype="myeloid", kmt2a_status="germline", kmt2a_partner=""
        ),
        infant(
            "AMLSCT",
            leukemia_type="AML",
            immunophenotype="myeloid",
            kmt2a_status="germline",
            kmt2a_partner="",
        ),
        infant("REL"),
        infant("DEAD", vital_status="dead", last_contact_date="2020-01-15"),
        infant("SCT"),
        infant("NOKMT", kmt2a_status="unknown", kmt2a_partner=""),
        infant("RAND", randomisation_arm="ADE_MAE", randomisation_date="2019-06-08"),
    ]
    amlsct = {
        **TRANSPLANT,
        "study_id": "AMLSCT",
        "remission_status": "CR2+",
        "mrd_value": "0.002",
        "mrd_method": "FCM",
    }
    ready(
        engine,
        tmp_path,
        patients,
        remissions=[remission(p["study_id"]) for p in patients],
        events=[RELAPSE, DEATH],
        transplants=[TRANSPLANT, amlsct],
    )
    return engine.url.render_as_string(hide_password=False)


def explain(url: str, patient: str, audience: str) -> tuple[int, str, str]:
    return run("explain", patient, "--for", audience, "--registry", url)


def test_aml_says_there_are_no_aml_rules_and_gives_what_is_known(url: str) -> None:
    code, text, _ = explain(url, "AML1", "clinician")
    assert code == 0
    assert "Bassinet has no AML protocol rules yet" in text
    assert "leukemia type: AML" in text and "diagnosed 2019-05-02, at 213 days of age" in text
    assert "Interfant-06" in text  # only in saying that Interfant-06 stratifies ALL
    for absent in ("Risk group:", "MARMA", "randomisation between", "Allogeneic SCT"):
        assert absent not in text
    code, letter, _ = explain(url, "AML1", "family")
    assert code == 0 and "acute myeloid leukemia (the doctors call it AML)" in letter
    assert "cannot describe your child's treatment" in letter and "IB" not in letter


def test_a_transplanted_aml_infant_gets_the_cohort_categories(url: str) -> None:
    code, text, _ = explain(url, "AMLSCT", "clinician")
    assert code == 0
    assert "remission before transplant: CR2+" in text and "MRD before transplant: positive (FCM)" in text
    assert "2019-12-01: allogeneic transplant (matched_unrelated donor, CR2+)" in text


@pytest.mark.parametrize(
    ("patient", "event"),
    [("REL", "relapse on 2019-11-02"), ("DEAD", "death on 2020-01-15"), ("SCT", "transplant on 2019-12-01")],
)
def test_after_relapse_transplant_or_death_the_clinician_sees_the_dated_history(
    url: str, patient: str, event: str
) -> None:
    code, text, _ = explain(url, patient, "clinician")
    assert code == 0
    assert f"## State: after {event}" in text
    assert (
        "- 2019-05-02: diagnosis of ALL" in text
        and "- 2019-06-05: remission assessment at end_of_induction: CR" in text
    )
    assert text.index("## History") < text.index("## Risk group")
    assert "decisions below are those made at diagnosis" in text


@pytest.mark.parametrize(
    ("patient", "event"),
    [("REL", "relapse on 2019-11-02"), ("DEAD", "death on 2020-01-15"), ("SCT", "transplant on 2019-12-01")],
)
def test_after_relapse_transplant_or_death_the_family_letter_is_refused(
    url: str, patient: str, event: str
) -> None:
    code, text, errors = explain(url, patient, "family")
    assert code == 1 and text == ""
    assert f"no family letter for {patient}: the record shows {event}" in errors
    assert "written by the clinician who knows them, not by a program" in errors


def test_a_missing_kmt2a_result_is_named_for_both_readers(url: str) -> None:
    code, text, _ = explain(url, "NOKMT", "clinician")
    assert code == 0
    assert (
        "The result of the test for a change in a gene called KMT2A (also known as MLL) is not"
        in text
    )
    code, letter, _ = explain(url, "NOKMT", "family")
    assert code == 0
    assert "the result of the test for a change in a gene called KMT2A (also known as MLL) is not" in letter
    assert "some test results" not in letter
    # Without the group, nobody knows yet whether the consolidation is IB (LR) or randomised
    assert "decided by chance" not in letter and "chosen by chance" not in letter
    assert "depends on the treatment group, which waits for a test result" in letter


def test_the_family_of_a_randomised_child_reads_that_the_course_was_chosen_by_chance_and_why(
    url: str,
) -> None:
    code, letter, _ = explain(url, "RAND", "family")
    assert code == 0
    assert "the two courses the doctors call ADE and MAE, chosen on 2019-06-08" in letter
    assert (
        "chosen by chance (randomisation)" in letter
        and "doctors do not yet know which of two courses" in letter
    )
    code, text, _ = explain(url, "RAND", "clinician")
    assert "## Randomised: ADE_MAE" in text and "Allocation (recorded) of 2019-06-08" in text
    # the plan agrees with the allocation on record: done, never "eligible" (cold review)
    assert "Randomisation: done, arm ADE_MAE on 2019-06-08." in text
    assert "Randomisation: eligible" not in text
    assert "ADE: cytarabine, daunorubicin, etoposide" in text


def test_the_family_text_says_what_to_watch_for_and_when_to_call_with_its_source(url: str) -> None:
    code, letter, _ = explain(url, "ALL1", "family")
    assert code == 0
    assert "## What to watch for at home" in letter and "called RSV (respiratory syncytial virus)" in letter
    assert "mucositis" in letter and "liver, the kidneys and the nervous system" in letter
    assert "Call the care team at once" in letter and "has a fever" in letter
    assert "Source: the family information page 'Infant Acute Lymphoblastic Leukemia'" in letter
    assert "(reviewed December 2022)." in letter
    assert "seeds" not in letter and ".txt" not in letter  # no file path in a letter to parents
    assert "chosen by chance" not in letter  # not randomised
