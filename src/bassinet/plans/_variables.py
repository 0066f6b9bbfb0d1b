"""The derived variables a plan can name: grouping, population filters and model terms.

Each is computed from the dated records, once per patient, with the registry's own rules
(risk groups by the protocol engine; "younger than 6 months" by calendar months; WBC at
or above 300 x10^9/L; poor prednisone response at or above 1000 blasts/uL on day 8).
A variable has a label for tables and, for yes/no variables, the words for each side.

``transplanted`` is a time-dependent exposure: a plan may use it only as the exposure
of a Mantel-Byar or landmark analysis, never as a baseline group (immortal time bias).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from bassinet.endpoints import ClinicalRecords
from bassinet.protocols import interfant06
from bassinet.protocols.facts import PatientFacts


@dataclass(frozen=True)
class Variable:
    """A derived variable: its label, how it is computed, and the words for its values."""

    name: str
    label: str
    compute: Callable[[ClinicalRecords, pd.DataFrame], pd.Series]
    values: Mapping[Any, str] | None = None
    time_dependent: bool = False
    continuous: bool = False

    def order(self, values: list[object]) -> list[object]:
        """``values`` in the catalogue's order where it has one, else sorted."""
        known = list(self.values or {})
        return sorted(values, key=lambda v: (known.index(v) if v in known else len(known), str(v)))

    def show(self, value: object) -> str:
        if self.values and value in self.values:
            return self.values[value]
        return str(value)


def _patient(column: str) -> Callable[[ClinicalRecords, pd.DataFrame], pd.Series]:
    return lambda records, p: p[column].where(p[column].notna(), None)


def _facts(records: ClinicalRecords, p: pd.DataFrame) -> pd.Series:
    return pd.Series(
        {sid: PatientFacts.from_record({**row, "study_id": sid}) for sid, row in p.iterrows()}, dtype=object
    )


def _risk_group(records: ClinicalRecords, p: pd.DataFrame) -> pd.Series:
    return _facts(records, p).map(lambda f: interfant06.risk_group(f).outcome)


def _young(records: ClinicalRecords, p: pd.DataFrame) -> pd.Series:
    return _facts(records, p).map(lambda f: f.under_six_months)


def _first_transplant(records: ClinicalRecords, column: str) -> pd.Series:
    t = records.transplants.sort_values("transplant_date").drop_duplicates("study_id").set_index("study_id")
    return t[column] if column in t else pd.Series(dtype=object)


def _in_cr(records: ClinicalRecords, p: pd.DataFrame) -> pd.Series:
    r = records.remissions
    cr = set(r.loc[r["status"] == "CR", "study_id"])
    assessed = set(r["study_id"])
    return pd.Series(
        [(sid in cr) if sid in assessed else None for sid in p.index], index=p.index, dtype=object
    )


def _partner_class(records: ClinicalRecords, p: pd.DataFrame) -> pd.Series:
    def one(status: object, partner: object) -> str | None:
        if status == "germline":
            return "KMT2A germline"
        if status != "rearranged":
            return None
        return "t(4;11) or t(11;19)" if partner in ("AFF1", "MLLT1") else "other KMT2A-r"

    return pd.Series(
        [one(s, q) for s, q in zip(p["kmt2a_status"], p["kmt2a_partner"], strict=True)],
        index=p.index,
        dtype=object,
    )


def _mrd_before_transplant(records: ClinicalRecords, p: pd.DataFrame) -> pd.Series:
    t = records.transplants.sort_values("transplant_date").drop_duplicates("study_id").set_index("study_id")
    if "mrd_result" in t:  # the registry's frames: result and value apart
        positive = (t["mrd_result"] == "positive_nq") | (
            (t["mrd_result"] == "quantified") & (t["mrd_value"] > 0)
        )
        known = t["mrd_result"].notna()
    else:  # import rows: one cell, "negative" or a fraction
        positive = t["mrd_value"].notna() & (t["mrd_value"].astype(str) != "negative")
        known = t["mrd_value"].notna()
    return positive.where(known, None).reindex(p.index)


YES_NO = {True: "yes", False: "no"}


def _age_months(records: ClinicalRecords, p: pd.DataFrame) -> pd.Series:
    if "date_of_birth" not in p:
        return pd.Series(float("nan"), index=p.index)
    days = (pd.to_datetime(p["diagnosis_date"]) - pd.to_datetime(p["date_of_birth"])).dt.days
    return days.astype(float) / 30.4375


CATALOGUE: dict[str, Variable] = {
    v.name: v
    for v in (
        Variable("leukemia_type", "leukemia", _patient("leukemia_type")),
        Variable("sex", "sex", _patient("sex"), {"M": "male", "F": "female"}),
        Variable(
            "cd10", "CD10", _patient("cd10"), {"positive": "CD10 positive", "negative": "CD10 negative"}
        ),
        Variable("study_group", "study group", _patient("study_group")),
        Variable("protocol", "protocol", _patient("protocol")),
        Variable(
            "region",
            "countries",
            lambda r, p: p["original_country"].map({True: "original countries", False: "other countries"}),
        ),
        Variable("risk_group", "Interfant-06 risk group", _risk_group, {"LR": "LR", "MR": "MR", "HR": "HR"}),
        Variable("age_lt_6m", "age <6 months", _young, {True: "<6 months", False: "\u22656 months"}),
        Variable("age_months", "age at diagnosis, months", _age_months, continuous=True),
        Variable(
            "wbc",
            "WBC, \u00d710\u2079/L",
            lambda r, p: pd.to_numeric(p["wbc"], errors="coerce"),
            continuous=True,
        ),
        Variable(
            "wbc_ge_300",
            "WBC \u2265300\u00d710\u2079/L",
            lambda r, p: (p["wbc"] >= 300).where(p["wbc"].notna(), None),
            {True: "WBC \u2265300\u00d710\u2079/L", False: "WBC <300\u00d710\u2079/L"},
        ),
        Variable(
            "poor_prednisone",
            "prednisone response",
            lambda r, p: (p["day8_blasts"] >= 1000).where(p["day8_blasts"].notna(), None),
            {True: "poor prednisone response", False: "good prednisone response"},
        ),
        Variable(
            "kmt2a_r",
            "KMT2A rearranged",
            lambda r, p: (p["kmt2a_status"] == "rearranged").where(p["kmt2a_status"] != "unknown", None),
            {True: "KMT2A-r", False: "KMT2A germline"},
        ),
        Variable("kmt2a_partner_class", "KMT2A partner", _partner_class),
        Variable(
            "arm",
            "randomised arm",
            lambda r, p: p["randomisation_arm"].where(p["randomisation_arm"].notna(), None),
            {"IB": "IB", "ADE_MAE": "ADE/MAE"},
        ),
        Variable("randomised", "randomised", lambda r, p: p["randomisation_arm"].notna(), YES_NO),
        Variable("in_cr", "complete remission after induction", _in_cr, YES_NO),
        Variable(
            "pre_transplant_status",
            "remission before transplant",
            lambda r, p: _first_transplant(r, "remission_status").reindex(p.index),
            {"CR1": "CR1", "CR2+": "CR2 or later", "NR": "no remission"},
        ),
        Variable(
            "in_remission_before_transplant",
            "in remission before transplant",
            lambda r, p: (
                _first_transplant(r, "remission_status")
                .reindex(p.index)
                .map(lambda s: None if s is None or s != s else s != "NR")
            ),
            YES_NO,
        ),
        Variable(
            "donor_type",
            "donor",
            lambda r, p: _first_transplant(r, "donor_type").reindex(p.index),
            {
                "haploidentical": "haploidentical",
                "matched_unrelated": "matched unrelated",
                "matched_sibling": "matched sibling",
                "cord": "cord blood",
            },
        ),
        Variable(
            "mrd_before_transplant",
            "MRD before transplant",
            _mrd_before_transplant,
            {True: "MRD positive", False: "MRD negative"},
        ),
        Variable(
            "transplanted",
            "allogeneic transplant",
            lambda r, p: pd.Series(p.index.isin(r.transplants["study_id"]), index=p.index),
            YES_NO,
            time_dependent=True,
        ),
    )
}


def analysis_frame(records: ClinicalRecords, names: list[str]) -> pd.DataFrame:
    """One row per patient (index ``study_id``) with the named derived variables."""
    p = records.patients.set_index("study_id")
    return pd.DataFrame({name: CATALOGUE[name].compute(records, p) for name in names}, index=p.index)
