"""CDISC ODM 1.3.2: valid against the ODM schema (the XSD odmlib ships), metadata, data and audit records."""

from __future__ import annotations

from pathlib import Path

import odmlib
import pytest
from lxml import etree
from sqlalchemy import Engine

from bassinet.exchange import export_registry
from bassinet.registry import read_frames

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
XSD = Path(odmlib.__file__).parent / "schemas" / "odm" / "1.3.2" / "ODM1-3-2.xsd"


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def test_the_odm_file_is_valid_against_the_odm_1_3_2_schema(
    filled: Engine, tmp_path: Path, schema: etree.XMLSchema
) -> None:
    [path] = export_registry(filled, "odm", tmp_path, actor="stats", study="INTERFANT").files
    document = etree.parse(str(path))
    schema.assertValid(document)
    assert document.getroot().get("ODMVersion") == "1.3.2"


def test_the_schema_check_would_catch_a_broken_file(
    filled: Engine, tmp_path: Path, schema: etree.XMLSchema
) -> None:
    [path] = export_registry(filled, "odm", tmp_path, actor="stats").files
    document = etree.parse(str(path))
    item = document.find(".//odm:ItemData", NS)
    assert item is not None
    del item.attrib["ItemOID"]
    assert not schema.validate(document)


def test_metadata_lists_every_form_item_and_code_list(filled: Engine, tmp_path: Path) -> None:
    [path] = export_registry(filled, "odm", tmp_path, actor="stats").files
    root = etree.parse(str(path)).getroot()
    forms = [f.get("Name") for f in root.iterfind(".//odm:FormDef", NS)]
    assert forms == ["patients", "remissions", "mrd", "courses", "transplants", "events"]
    items = {i.get("OID") for i in root.iterfind(".//odm:ItemDef", NS)}
    assert {"IT.PATIENTS.WBC", "IT.MRD.VALUE", "IT.TRANSPLANTS.DONOR_TYPE"} <= items
    donors = root.find(".//odm:CodeList[@OID='CL.DONOR_TYPE']", NS)
    assert donors is not None
    assert [c.get("CodedValue") for c in donors] == ["matched_sibling", "matched_unrelated", "haploidentical",
                                                     "cord"]  # fmt: skip


def test_every_patient_is_a_subject_with_audit_records_of_its_values(filled: Engine, tmp_path: Path) -> None:
    frames = read_frames(filled)
    [path] = export_registry(filled, "odm", tmp_path, actor="stats").files
    root = etree.parse(str(path)).getroot()
    subjects = root.findall(".//odm:SubjectData", NS)
    assert sorted(s.get("SubjectKey") for s in subjects) == sorted(frames.patients["study_id"])
    first = frames.patients.sort_values("study_id").iloc[0]
    sex = subjects[0].find(".//odm:ItemData[@ItemOID='IT.PATIENTS.SEX']", NS)
    assert sex is not None and sex.get("Value") == first["sex"]
    audit = sex.find("odm:AuditRecord", NS)
    assert audit is not None
    user = audit.find("odm:UserRef", NS)
    assert user is not None
    login = root.find(f".//odm:User[@OID='{user.get('UserOID')}']/odm:LoginName", NS)
    assert login is not None and login.text == "loader"
    assert audit.findtext("odm:SourceID", namespaces=NS) == "import run 1"


def test_a_deidentified_odm_file_has_no_audit_records(
    filled: Engine, tmp_path: Path, key_file: Path, schema: etree.XMLSchema
) -> None:
    [path] = export_registry(filled, "odm", tmp_path, actor="stats", key_file=key_file).files
    document = etree.parse(str(path))
    schema.assertValid(document)
    assert document.find(".//odm:AuditRecord", NS) is None
    keys = {s.get("SubjectKey") for s in document.iterfind(".//odm:SubjectData", NS)}
    assert not keys & set(read_frames(filled).patients["study_id"])
