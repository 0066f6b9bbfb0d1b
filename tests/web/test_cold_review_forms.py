"""Cold review of the forms and the audit page: choices and values in words, errors without codes,
the permission checked before any rule runs."""

from __future__ import annotations

import re

import pytest

from bassinet.registry.sheets import CellError, parse_mrd
from bassinet.web.context import value_words
from tests.web.conftest import Site, csrf_of
from tests.web.test_forms import NEW, _field_error, _post, _signed_in


def test_the_form_choices_are_in_words_and_post_their_codes(site: Site) -> None:
    page = _signed_in(site, "dm_rot").get("/patients/new").text
    assert '<option value="F">female</option>' in page
    assert '<option value="rearranged">rearranged</option>' in page
    page = _signed_in(site, "dm_rot").get(f"/patients/{site.patient_ids['ROT-1']}/records/mrd/new").text
    assert '<option value="end_of_induction">end of induction</option>' in page
    assert '<option value="start_of_octadad">start of OCTADAD</option>' in page
    assert ">end_of_induction<" not in page


def test_the_error_beside_a_field_has_the_rules_words_only_and_the_summary_names_the_label(
    site: Site,
) -> None:
    client = _signed_in(site, "dm_rot")
    status, page, _ = _post(client, "/patients/new", {"study_id": "COLD-1", **NEW, "wbc": "-3"})
    assert status == 400
    assert _field_error(page, "wbc") == "must be >= 0 x10^9/L"  # not "wbc: must be ..."
    summary = re.search(r'<div class="error" role="alert" id="form-problems">(.*?)</div>', page, re.S)
    assert summary is not None
    assert '<a href="#f-wbc">White cells (WBC) (x10^9/L)</a>: must be &gt;= 0' in summary.group(1)


TOO_BIG = (
    "is not an MRD fraction from 0 to 1: write the fraction of leukemic cells, not a percentage (1% is 0.01)"
)
NOT_MRD = (
    "is not an MRD result: write the fraction of leukemic cells, a number from 0 to 1 (1% is 0.01), "
    "or 'negative', or 'PNQ' (positive, not quantifiable)"
)


@pytest.mark.parametrize(("cell", "words"), [("1.5", TOO_BIG), ("-0.001", TOO_BIG), ("5%", NOT_MRD)])
def test_an_mrd_error_says_what_is_wrong_and_what_is_allowed(cell: str, words: str) -> None:
    with pytest.raises(CellError) as raised:
        parse_mrd(cell)
    assert str(raised.value) == words


def test_the_form_shows_the_mrd_rule_in_the_imports_words(site: Site) -> None:
    client = _signed_in(site, "dm_rot")
    path = f"/patients/{site.patient_ids['ROT-1']}/records/mrd/new"
    record = {"time_point": "day_15", "measured_on": "2020-04-01", "method": "PCR", "value": "12"}
    status, page, _ = _post(client, path, record)
    assert status == 400
    assert _field_error(page, "value") == TOO_BIG


def test_a_reader_posting_a_form_is_refused_before_any_rule_runs(site: Site) -> None:
    clinician = _signed_in(site, "cli_rot")
    token = csrf_of(clinician.get("/patients").text)
    bad = {"study_id": "COLD-2", **NEW, "wbc": "-3", "diagnosis_date": "2019-01-01", "csrf_token": token}
    for path in ("/patients/new", f"/patients/{site.patient_ids['ROT-1']}/records/mrd/new"):
        response = clinician.post(path, data={**bad, "value": "12"}, follow_redirects=False)
        assert response.status_code == 403, path
        assert "Your role does not allow editing patients" in response.text
        assert "field-error" not in response.text and "must be" not in response.text
        assert "is before" not in response.text and "MRD" not in response.text


@pytest.mark.parametrize(
    ("value", "field", "words"),
    [
        ("HR", "risk_group", "high risk"),
        ("data_manager", "role", "data manager"),
        ("True", "locked", "yes"),
        ("False", "locked", "no"),
        ("resistant_disease", "event_type", "resistant disease"),
        ("F", "sex", "female"),
        ("ALL", "leukemia_type", "acute lymphoblastic leukemia"),
        ("ROT_1", "study_id", "ROT_1"),  # data, not a code: shown exactly as stored
        ("2020-01-01", "diagnosis_date", "2020-01-01"),
        ("2026-11-30T03:53:05.015165+00:00", "locked_at", "2026-11-30 03:53:05 UTC"),  # an instant
        ("2026-11-30T04:53:05+01:00", "signed_at", "2026-11-30 03:53:05 UTC"),
    ],
)
def test_an_audited_value_is_shown_in_words(value: str, field: str, words: str) -> None:
    assert value_words(value, field) == words


def test_the_audit_page_shows_stored_codes_in_words(site: Site) -> None:
    manager = _signed_in(site, "dm_rot")
    status, _, _ = _post(manager, "/patients/new", {"study_id": "COLD-3", **NEW})
    assert status == 303
    monitor = _signed_in(site, "mon_rot")
    page = monitor.get("/audit", params={"patient": "COLD-3"})
    assert page.status_code == 200, page.text
    assert "<ins>female</ins>" in page.text and "<ins>alive</ins>" in page.text
    assert "<ins>F</ins>" not in page.text
