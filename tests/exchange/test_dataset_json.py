"""Dataset-JSON 1.1 for ADSL and ADTTE: valid by odmlib's model, the same values as the XPT files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pyreadstat
from odmlib.dataset_json_1_1.model import DatasetJSON
from sqlalchemy import Engine

from bassinet.endpoints import ENDPOINTS, ClinicalRecords, derive
from bassinet.endpoints._adam import to_adtte
from bassinet.exchange import export_registry
from bassinet.registry import read_frames

CUTOFF = dt.date(2025, 6, 30)


def written(filled: Engine, tmp_path: Path) -> dict[str, dict[str, object]]:
    files = export_registry(
        filled, "dataset-json", tmp_path, actor="stats", study="IF06", cutoff=CUTOFF
    ).files
    assert [p.name for p in files] == ["adsl.json", "adtte.json", "define.json", "adsl.xpt", "adtte.xpt"]
    return {p.stem: json.loads(p.read_text()) for p in files if p.suffix == ".json"}


def test_both_datasets_load_into_odmlibs_dataset_json_model(filled: Engine, tmp_path: Path) -> None:
    documents = written(filled, tmp_path)
    for name in ("adsl", "adtte"):
        model = DatasetJSON.from_dict(documents[name])
        assert model.datasetJSONVersion == "1.1.0" and model.name == name.upper()
        assert model.records == len(documents[name]["rows"])  # type: ignore[arg-type]
    assert documents["adsl"]["records"] == 40


def test_adtte_values_equal_the_sas_transport_file_beside_it(filled: Engine, tmp_path: Path) -> None:
    documents = written(filled, tmp_path)
    xpt, _ = pyreadstat.read_xport(str(tmp_path / "adtte.xpt"))
    records = ClinicalRecords.from_frames(read_frames(filled))
    adtte = to_adtte(derive(records, list(ENDPOINTS), cutoff=CUTOFF), study="IF06")
    assert len(adtte) == len(xpt)
    document = documents["adtte"]
    names = [c["name"] for c in document["columns"]]  # type: ignore[attr-defined]
    frame = pd.DataFrame(document["rows"], columns=names)
    assert list(frame["AVAL"]) == list(xpt["AVAL"])
    assert list(frame["CNSR"]) == [int(x) for x in xpt["CNSR"]]
    assert list(frame["USUBJID"]) == list(xpt["USUBJID"])
    assert list(frame["ADT"]) == [d.isoformat() for d in pd.to_datetime(xpt["ADT"]).dt.date]


def test_define_lists_every_variable_with_label_type_and_origin(filled: Engine, tmp_path: Path) -> None:
    documents = written(filled, tmp_path)
    define = documents["define"]
    datasets = {d["name"]: d for d in define["datasets"]}  # type: ignore[attr-defined]
    for name in ("ADSL", "ADTTE"):
        columns = [c["name"] for c in documents[name.lower()]["columns"]]  # type: ignore[attr-defined]
        variables = datasets[name]["variables"]
        assert [v["name"] for v in variables] == columns
        assert all(v["label"] and v["dataType"] and v["origin"] in ("Assigned", "Derived", "Predecessor")
                   for v in variables)  # fmt: skip
    aval = next(v for v in datasets["ADTTE"]["variables"] if v["name"] == "AVAL")
    assert aval["origin"] == "Derived" and aval["dataType"] == "double"
    assert define["dataCutoff"] == "2025-06-30"
