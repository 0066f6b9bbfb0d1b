"""The EBMT/CIBMTR transplant items (migration 0009): cells, rules, import, export and audit.

Case tables at each rule's boundary; the import, export and audit on both stores.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError

from bassinet.registry import ImportRejected, import_files, make_engine
from bassinet.registry import models as m
from bassinet.registry import vocabulary as v
from bassinet.registry.import_format import patient_rows
from bassinet.registry.rules import PatientRecords, Record, check_patient
from bassinet.registry.sheets import SHEETS, CellError, HLAMatch, parse_cell
from bassinet.registry.store import _alembic_config, init_registry, registry_session
from tests.registry.builders import patient, write_files

D = dt.date
TRANSPLANT = D(2019, 9, 1)
HLA = SHEETS["transplants"].by_name["hla_match"]


# -- the HLA cell --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("8/8", HLAMatch(8, 8)),
        ("0/8", HLAMatch(0, 8)),  # the lowest count
        (" 9 / 10 ", HLAMatch(9, 10)),
        ("5/10", HLAMatch(5, 10)),  # haploidentical
        ("12/12", HLAMatch(12, 12)),  # the highest resolution, all matched
    ],
)
def test_an_hla_match_is_read_as_matched_of_typed(raw: str, expected: HLAMatch) -> None:
    assert parse_cell(HLA, raw, date_format=None, centre_codes={}) == expected
    assert str(expected) == raw.replace(" ", "")


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("9/8", "matches 9 alleles of 8: no more can match than were typed"),
        ("11/10", "matches 11 alleles of 10"),
        ("6/6", "compares 6 alleles: HLA typing compares 8, 10, 12"),  # cord-blood 6/6 is not kept
        ("9/9", "compares 9 alleles"),
        ("13/14", "compares 14 alleles"),
        ("10", "is not an HLA match"),
        ("-1/8", "is not an HLA match"),
        ("9 of 10", "is not an HLA match"),
        (10.0, "is not an HLA match"),
        (dt.datetime(2024, 9, 10), "is not an HLA match"),  # a spreadsheet read 9/10 as a date
    ],
)
def test_a_wrong_hla_match_is_refused_with_its_rule(raw: Any, words: str) -> None:
    with pytest.raises(CellError, match=words):
        parse_cell(HLA, raw, date_format=None, centre_codes={})


@pytest.mark.parametrize(
    ("column", "raw", "code"),
    [
        ("agvhd_grade", "iv", v.AcuteGVHDGrade.GRADE_IV),
        ("agvhd_grade", "0", v.AcuteGVHDGrade.GRADE_0),
        ("cgvhd_severity", "Moderate", v.ChronicGVHDSeverity.MODERATE),
        ("serotherapy", "atg", v.Serotherapy.ATG),
        ("conditioning_intensity", "reduced intensity", v.ConditioningIntensity.REDUCED_INTENSITY),
        ("gvhd_prophylaxis", "csa-mtx", v.GVHDProphylaxis.CSA_MTX),
        ("cmv_donor", "POSITIVE", v.CMVSerostatus.POSITIVE),
    ],
)
def test_the_new_codes_are_read_case_insensitively(column: str, raw: str, code: object) -> None:
    spec = SHEETS["transplants"].by_name[column]
    assert parse_cell(spec, raw, date_format=None, centre_codes={}) == code


@pytest.mark.parametrize(
    ("column", "raw"), [("agvhd_grade", "V"), ("agvhd_grade", "5"), ("cgvhd_severity", "grave")]
)
def test_a_grade_out_of_range_is_an_unknown_code(column: str, raw: str) -> None:
    with pytest.raises(CellError, match="is not a known code: use one of"):
        parse_cell(SHEETS["transplants"].by_name[column], raw, date_format=None, centre_codes={})


# -- rules across fields -------------------------------------------------------------------------
def transplant(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "transplant_date": TRANSPLANT,
        "donor_type": v.DonorType.HAPLOIDENTICAL,
        "remission_status": v.PreTransplantStatus.CR1,
        "engraftment_date": D(2019, 9, 15),
    }
    values.update(changes)
    return values


def patient_records(row: dict[str, Any], last: dt.date) -> PatientRecords:
    values = {
        "study_id": "P1",
        "date_of_birth": D(2019, 1, 10),
        "diagnosis_date": D(2019, 5, 2),
        "kmt2a_status": v.KMT2AStatus.REARRANGED,
        "kmt2a_partner": v.KMT2APartner.AFF1,
        "randomisation_arm": None,
        "randomisation_date": None,
        "last_contact_date": last,
        "vital_status": v.VitalStatus.ALIVE,
    }
    return PatientRecords(
        Record("in.csv", "patients", 2, values, {}),
        {"transplants": [Record("in.csv", "transplants", 2, row, {})]},
    )


II, NONE0 = v.AcuteGVHDGrade.GRADE_II, v.AcuteGVHDGrade.GRADE_0
MILD, NO_CGVHD = v.ChronicGVHDSeverity.MILD, v.ChronicGVHDSeverity.NONE
DAY = dt.timedelta(days=1)

# (name, transplant row changes, last contact, refused field or None, words)
RULE_CASES: list[tuple[str, dict[str, Any], dt.date, str | None, str]] = [
    (
        "platelets engrafted on the transplant day",
        {"platelet_engraftment_date": TRANSPLANT},
        D(2022, 6, 30),
        None,
        "",
    ),
    (
        "platelets engrafted the day before the transplant",
        {"platelet_engraftment_date": TRANSPLANT - DAY},
        D(2022, 6, 30),
        "platelet_engraftment_date",
        "is before 'transplant_date' (2019-09-01)",
    ),
    (
        "neutrophils engrafted the day before the transplant",
        {"engraftment_date": TRANSPLANT - DAY},
        D(2022, 6, 30),
        "engraftment_date",
        "is before 'transplant_date'",
    ),
    (
        "acute GVHD the day after the transplant",
        {"agvhd_grade": II, "agvhd_date": TRANSPLANT + DAY},
        D(2022, 6, 30),
        None,
        "",
    ),
    (
        "acute GVHD on the transplant day",
        {"agvhd_grade": II, "agvhd_date": TRANSPLANT},
        D(2022, 6, 30),
        "agvhd_date",
        "is not after 'transplant_date' (2019-09-01): GVHD follows the transplant",
    ),
    (
        "chronic GVHD on the transplant day",
        {"cgvhd_severity": MILD, "cgvhd_date": TRANSPLANT},
        D(2022, 6, 30),
        "cgvhd_date",
        "is not after 'transplant_date'",
    ),
    (
        "chronic GVHD on day 30: the NIH criteria allow it before day 100",
        {"cgvhd_severity": MILD, "cgvhd_date": TRANSPLANT + 30 * DAY},
        D(2022, 6, 30),
        None,
        "",
    ),
    (
        "acute GVHD on day 200 (late acute GVHD)",
        {"agvhd_grade": II, "agvhd_date": TRANSPLANT + 200 * DAY},
        D(2022, 6, 30),
        None,
        "",
    ),
    (
        "acute GVHD on the last contact",
        {"agvhd_grade": II, "agvhd_date": D(2019, 10, 1)},
        D(2019, 10, 1),
        None,
        "",
    ),
    (
        "acute GVHD the day after the last contact",
        {"agvhd_grade": II, "agvhd_date": D(2019, 10, 2)},
        D(2019, 10, 1),
        "last_contact_date",
        "is before the latest record, 'agvhd_date' 2019-10-02",
    ),
    (
        "chronic GVHD the day after the last contact",
        {"cgvhd_severity": MILD, "cgvhd_date": D(2019, 12, 2)},
        D(2019, 12, 1),
        "last_contact_date",
        "'cgvhd_date' 2019-12-02",
    ),
    (
        "acute GVHD grade II without its date",
        {"agvhd_grade": II},
        D(2022, 6, 30),
        "agvhd_grade",
        "is II without 'agvhd_date': give the date it was diagnosed",
    ),
    ("acute GVHD grade 0 without a date", {"agvhd_grade": NONE0}, D(2022, 6, 30), None, ""),
    (
        "acute GVHD grade 0 with a date",
        {"agvhd_grade": NONE0, "agvhd_date": TRANSPLANT + DAY},
        D(2022, 6, 30),
        "agvhd_date",
        "is given, but 'agvhd_grade' is 0: no GVHD",
    ),
    (
        "an acute GVHD date without a grade",
        {"agvhd_date": TRANSPLANT + DAY},
        D(2022, 6, 30),
        "agvhd_date",
        "is given without 'agvhd_grade'",
    ),
    (
        "chronic GVHD 'none' with a date",
        {"cgvhd_severity": NO_CGVHD, "cgvhd_date": TRANSPLANT + 100 * DAY},
        D(2022, 6, 30),
        "cgvhd_date",
        "'cgvhd_severity' is none: no GVHD",
    ),
    (
        "mild chronic GVHD without its date",
        {"cgvhd_severity": MILD},
        D(2022, 6, 30),
        "cgvhd_severity",
        "is mild without 'cgvhd_date'",
    ),
    (
        "systemic treatment without chronic GVHD",
        {"cgvhd_severity": NO_CGVHD, "cgvhd_systemic_treatment": True},
        D(2022, 6, 30),
        "cgvhd_systemic_treatment",
        "is yes, but 'cgvhd_severity' is none: treatment needs a chronic GVHD",
    ),
    (
        "systemic treatment with no chronic GVHD recorded",
        {"cgvhd_systemic_treatment": True},
        D(2022, 6, 30),
        "cgvhd_systemic_treatment",
        "'cgvhd_severity' is empty",
    ),
    (
        "no systemic treatment and no chronic GVHD",
        {"cgvhd_systemic_treatment": False},
        D(2022, 6, 30),
        None,
        "",
    ),
    (
        "mild chronic GVHD treated systemically",
        {"cgvhd_severity": MILD, "cgvhd_date": TRANSPLANT + 120 * DAY, "cgvhd_systemic_treatment": True},
        D(2022, 6, 30),
        None,
        "",
    ),
    ("a historical row with none of the new items", {}, D(2022, 6, 30), None, ""),
]


@pytest.mark.parametrize(
    ("name", "changes", "last", "refused", "words"), RULE_CASES, ids=[c[0] for c in RULE_CASES]
)
def test_transplant_rule_case_table(
    name: str, changes: dict[str, Any], last: dt.date, refused: str | None, words: str
) -> None:
    problems = check_patient(patient_records(transplant(**changes), last))
    if refused is None:
        assert problems == [], name
        return
    messages = [str(p) for p in problems if p.field == refused]
    assert any(words in message for message in messages), messages or [str(p) for p in problems]


# -- import, export and audit on both stores ---------------------------------------------------------
FULL = {
    "study_id": "P001",
    "transplant_date": "2019-09-01",
    "donor_type": "haploidentical",
    "stem_cell_source": "bone_marrow",
    "remission_status": "CR1",
    "engraftment_date": "2019-09-14",
    "hla_match": "5/10",
    "conditioning_intensity": "myeloablative",
    "tbi": "no",
    "serotherapy": "ATG",
    "gvhd_prophylaxis": "CsA_MTX_MMF",
    "platelet_engraftment_date": "2019-09-25",
    "agvhd_grade": "III",
    "agvhd_date": "2019-09-30",
    "cgvhd_severity": "moderate",
    "cgvhd_date": "2020-02-01",
    "cgvhd_systemic_treatment": "yes",
    "cmv_donor": "positive",
    "cmv_recipient": "negative",
}


def test_the_new_items_are_imported_exported_and_a_sql_change_is_audited(
    engine: Engine, tmp_path: Path
) -> None:
    patients, long = write_files(tmp_path, [patient()], transplants=[FULL])
    import_files(engine, patients, long_sheets=long, actor="test")
    with registry_session(engine, actor="reader") as session:
        stored = session.scalars(select(m.Transplant)).one()
        assert (stored.hla_matched, stored.hla_typed, stored.tbi) == (5, 10, False)
        assert (stored.agvhd_grade, stored.agvhd_date) == (v.AcuteGVHDGrade.GRADE_III, D(2019, 9, 30))
        assert stored.cgvhd_systemic_treatment is True
        exported = patient_rows(session.get_one(m.Patient, stored.patient_id))["transplants"]
    assert exported == [{**FULL, "mrd_value": "", "mrd_method": ""}]

    with engine.begin() as connection:
        connection.execute(text("UPDATE transplant SET agvhd_grade = 'IV', hla_matched = 6"))
    with engine.connect() as connection:
        audited = connection.execute(
            text(
                "SELECT field, old_value, new_value, actor FROM audit_log "
                "WHERE table_name = 'transplant' AND action = 'update' ORDER BY field"
            )
        ).all()
    actor = "sql:postgres" if engine.dialect.name == "postgresql" else "sql (SQLite has no database users)"
    assert [tuple(row) for row in audited] == [
        ("agvhd_grade", "III", "IV", actor),
        ("hla_matched", "5", "6", actor),
    ]


def test_an_import_breaking_a_transplant_rule_is_refused_naming_row_field_value_and_rule(
    engine: Engine, tmp_path: Path
) -> None:
    bad = {**FULL, "agvhd_date": "2019-09-01", "hla_match": "11/10"}
    patients, long = write_files(tmp_path, [patient()], transplants=[bad])
    with pytest.raises(ImportRejected) as refused:
        import_files(engine, patients, long_sheets=long, actor="test")
    text_ = str(refused.value)
    assert "[transplants] row 2: column 'hla_match' (11/10) matches 11 alleles of 10" in text_
    with registry_session(engine, actor="reader") as session:
        assert session.scalars(select(m.Transplant)).all() == []


def test_the_database_refuses_what_the_import_refuses(engine: Engine, tmp_path: Path) -> None:
    patients, long = write_files(tmp_path, [patient()], transplants=[FULL])
    import_files(engine, patients, long_sheets=long, actor="test")
    for change in ("hla_typed = 9", "hla_matched = 11", "hla_matched = NULL", "agvhd_date = transplant_date",
                   "cgvhd_date = transplant_date", "platelet_engraftment_date = '2019-08-31'",
                   "agvhd_grade = 'V'", "serotherapy = 'campath'"):  # fmt: skip
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text(f"UPDATE transplant SET {change}"))


def test_0009_upgrades_a_registry_with_transplants_and_back(registry_url: str) -> None:
    engine = make_engine(registry_url)
    command.upgrade(_alembic_config(engine), "0008")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO centre (id, name) VALUES (1, 'Rotterdam')"))
        connection.execute(
            text(
                "INSERT INTO patient (id, centre_id, study_id, sex, date_of_birth, diagnosis_date, "
                "leukemia_type, kmt2a_status, last_contact_date, vital_status) VALUES (1, 1, 'H1', 'F', "
                "'2009-10-01', '2010-01-05', 'ALL', 'rearranged', '2012-01-01', 'alive')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO transplant (id, patient_id, transplant_date, donor_type, remission_status) "
                "VALUES (1, 1, '2010-06-01', 'cord', 'CR1')"
            )
        )
    init_registry(registry_url)
    with engine.connect() as connection:
        row = connection.execute(text("SELECT donor_type, agvhd_grade, tbi FROM transplant")).one()
    assert tuple(row) == ("cord", None, None)
    command.downgrade(_alembic_config(engine), "0008")
    with engine.connect() as connection:
        columns = set(connection.execute(text("SELECT * FROM transplant")).keys())
    assert "agvhd_grade" not in columns and "donor_type" in columns
    engine.dispose()
