"""The derived variables a plan can name: grouping, population filters and model terms.

Each is computed from the dated records, once per patient, with the registry's own rules
(risk groups by the protocol engine; "younger than 6 months" by calendar months; WBC at
or above 300 x10^9/L; poor prednisone response at or above 1000 blasts/uL on day 8).
A variable has a label for tables and, for yes/no variables, the words for each side.

``transplanted`` is a time-dependent exposure: a plan may use it only as the exposure
of a Mantel-Byar or landmark analysis, never as a baseline group (immortal time bias).

Speed (issue 17): the patient facts are built from the columns, not row by row. Dates
are converted once per distinct value (a registry has a few thousand distinct birth
dates), with the same calendar arithmetic as :class:`~bassinet.protocols.facts.PatientFacts`;
the comparisons run on whole arrays. The Interfant-06 rule is still the protocol
engine's own :func:`~bassinet.protocols.interfant06.risk_group`, called once for each
distinct pattern of the facts it reads (leukemia type; KMT2A germline, rearranged or
unknown; younger than 6 months; WBC at or above its threshold, below it or unknown;
day-8 blasts likewise), on the first patient with that pattern. A row the columns
cannot vouch for (a missing or unreadable date, a diagnosis outside the first year, a
count below 0 or infinite, a partner without a rearrangement) goes through
``PatientFacts.from_record`` itself, so it is refused with the same message, in the
same row order, as before. :func:`analysis_frame` keeps each variable's column on the
records object (:meth:`~bassinet.endpoints.ClinicalRecords.memo`), so every analysis
frame of one records object is built from one computation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from bassinet.endpoints import ClinicalRecords
from bassinet.protocols import interfant06
from bassinet.protocols.facts import PatientFacts, first_birthday, six_months_after


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


def _as_day(x: object) -> dt.date | None:
    """A cell as a date, read as ``PatientFacts.from_record`` reads it; None if it is no date."""
    if isinstance(x, str):
        x = dt.date.fromisoformat(x[:10])
    elif isinstance(x, dt.datetime):  # a pandas Timestamp is a datetime (NaT too: its date() is NaT)
        x = x.date()
    return x if isinstance(x, dt.date) and not isinstance(x, dt.datetime) else None


def _day_numbers(column: pd.Series) -> tuple[np.ndarray, np.ndarray, list[dt.date | None]]:
    """Proleptic day numbers of a date column, which rows hold no readable date, and the distinct dates.

    Each distinct cell is converted once; returns ``(codes, numbers, dates)`` with
    ``numbers[codes]`` the day number per row (``codes`` -1 where the cell is no date).
    """
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    dates: list[dt.date | None] = []
    for value in uniques:
        try:
            dates.append(_as_day(value))
        except (TypeError, ValueError):
            dates.append(None)
    bad = np.array([d is None for d in dates] + [True], dtype=bool)  # the sentinel -1 takes the last
    codes = np.where(bad[codes], -1, codes)
    numbers = np.array([d.toordinal() if d is not None else 0 for d in dates] + [0], dtype=np.int64)
    return codes, numbers, dates


def _calendar(dates: list[dt.date | None], shift: Callable[[dt.date], dt.date]) -> np.ndarray:
    out = np.zeros(len(dates) + 1, dtype=np.int64)  # the last for the rows without a date
    for k, d in enumerate(dates):
        if d is not None:
            try:
                out[k] = shift(d).toordinal()
            except (OverflowError, ValueError):  # past year 9999: the row is left to from_record
                out[k] = np.iinfo(np.int64).min
    return out


def _text(p: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """A text column's values and which are None (as ``from_record`` reads None, NaN and NaT)."""
    if column not in p:
        return np.full(len(p), None, dtype=object), np.ones(len(p), dtype=bool)
    values = p[column].to_numpy(dtype=object)
    return values, np.asarray(p[column].isna().to_numpy(), dtype=bool)


def _count(p: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """A count column as floats (NaN for None) and the rows whose value ``from_record`` might refuse."""
    if column not in p:
        return np.full(len(p), np.nan), np.zeros(len(p), dtype=bool)
    series = p[column]
    if pd.api.types.is_float_dtype(series.dtype) or pd.api.types.is_integer_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        # pd.NA of a nullable column: from_record's own error (its truth is ambiguous)
        nullable = isinstance(series.dtype, pd.api.extensions.ExtensionDtype)
        doubtful = series.isna().to_numpy(bool) if nullable else np.zeros(len(p), dtype=bool)
    else:  # text or mixed cells: each as from_record converts it, else the row is doubtful
        values = np.full(len(p), np.nan)
        doubtful = np.zeros(len(p), dtype=bool)
        for i, x in enumerate(series.to_numpy(dtype=object)):
            if x is None or (isinstance(x, float) and x != x):
                continue
            try:
                values[i] = float(x)
            except (TypeError, ValueError):
                doubtful[i] = True
    with np.errstate(invalid="ignore"):
        refused = np.isinf(values) | (values < 0)
    return values, doubtful | refused


def patient_fact_table(p: pd.DataFrame) -> pd.DataFrame:
    """Per patient of ``p`` (index ``study_id``): ``under_six_months`` and the Interfant-06 ``risk_group``.

    The same values as building ``PatientFacts.from_record`` for every row and asking
    :func:`~bassinet.protocols.interfant06.risk_group`, and the same
    :class:`~bassinet.errors.DataError` for the first row it refuses, built from the
    columns (see the module's notes). Rows ``from_record`` might refuse are built by it.
    """
    n = len(p)
    if n == 0 or "date_of_birth" not in p or "diagnosis_date" not in p:
        return _fact_table_by_rows(p, np.arange(n), pd.DataFrame(index=p.index))
    born_code, born_days, born_dates = _day_numbers(p["date_of_birth"])
    diag_code, diag_days, _ = _day_numbers(p["diagnosis_date"])
    six = _calendar(born_dates, six_months_after)[born_code]
    birthday = _calendar(born_dates, first_birthday)[born_code]
    born, diagnosed = born_days[born_code], diag_days[diag_code]
    leukemia, leukemia_none = _text(p, "leukemia_type")
    status, status_none = _text(p, "kmt2a_status")
    _, partner_none = _text(p, "kmt2a_partner")
    wbc, wbc_doubtful = _count(p, "wbc")
    blasts, blasts_doubtful = _count(p, "day8_blasts")
    rearranged = ~status_none & (status == "rearranged")
    doubtful = (
        (born_code < 0) | (diag_code < 0) | (diagnosed < born) | (diagnosed >= birthday)
        | wbc_doubtful | blasts_doubtful | (~partner_none & ~rearranged)
    )  # fmt: skip
    for name in ("leukemia_type", "kmt2a_status", "kmt2a_partner"):  # pd.NA: from_record's own error
        if name in p:
            gaps = np.flatnonzero(p[name].isna().to_numpy(bool))
            doubtful[gaps] |= np.array([x is pd.NA for x in p[name].to_numpy(dtype=object)[gaps]], dtype=bool)
    under = diagnosed < six
    # The facts the rule reads, as small codes: leukemia (AML, unknown, other), KMT2A
    # (unknown, germline, other), under 6 months, WBC and day-8 blasts (unknown, below, at or above).
    leukemia_code = np.where(leukemia_none, 1, np.where(leukemia == "AML", 0, 2))
    kmt2a_code = np.where(status_none | (status == "unknown"), 0, np.where(status == "germline", 1, 2))
    with np.errstate(invalid="ignore"):
        wbc_code = np.where(np.isnan(wbc), 0, np.where(wbc >= interfant06.WBC_THRESHOLD, 2, 1))
        blasts_code = np.where(
            np.isnan(blasts), 0, np.where(blasts >= interfant06.POOR_PREDNISONE_BLASTS, 2, 1)
        )
    pattern = (((leukemia_code * 3 + kmt2a_code) * 2 + under) * 3 + wbc_code) * 3 + blasts_code
    pattern = np.where(doubtful, -1, pattern)
    kinds, first = np.unique(pattern, return_index=True)
    outcome_of: dict[int, str | None] = {}
    for kind, row in zip(kinds.tolist(), first.tolist(), strict=True):
        if kind >= 0:
            outcome_of[kind] = interfant06.risk_group(_facts_of_row(p, row)).outcome
    groups = np.empty(n, dtype=object)
    for kind, outcome in outcome_of.items():
        groups[pattern == kind] = outcome
    table = pd.DataFrame(
        {"under_six_months": pd.Series(under, index=p.index), "risk_group": groups},
        index=p.index,
    )
    return _fact_table_by_rows(p, np.flatnonzero(doubtful), table)


def _facts_of_row(p: pd.DataFrame, row: int) -> PatientFacts:
    return PatientFacts.from_record({**p.iloc[row], "study_id": p.index[row]})


def _fact_table_by_rows(p: pd.DataFrame, rows: np.ndarray, table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with ``rows`` (positions, in order) built by ``PatientFacts.from_record`` (it may refuse)."""
    if not len(table.columns):
        table = pd.DataFrame(
            {"under_six_months": pd.Series(None, index=p.index, dtype=object),
             "risk_group": pd.Series(None, index=p.index, dtype=object)},
        )  # fmt: skip
    for row in rows.tolist():
        facts = _facts_of_row(p, row)
        table.iloc[row, 0] = facts.under_six_months
        table.iloc[row, 1] = interfant06.risk_group(facts).outcome
    return table


def _risk_group(records: ClinicalRecords, p: pd.DataFrame) -> pd.Series:
    return patient_fact_table(p)["risk_group"].rename_axis(None)  # as the row-by-row Series was


def _young(records: ClinicalRecords, p: pd.DataFrame) -> pd.Series:
    return patient_fact_table(p)["under_six_months"].rename_axis(None)  # as the row-by-row Series was


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
    if t.empty or not {"mrd_result", "mrd_value"} & set(t.columns):
        # Nobody transplanted: the registry's frame then has only its key columns.
        return pd.Series(None, index=p.index, dtype=object)
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
    """One row per patient (index ``study_id``) with the named derived variables.

    Each variable is computed once per records object (kept by
    :meth:`~bassinet.endpoints.ClinicalRecords.memo`); every call returns a new frame.
    """
    columns = {name: records.memo(("variable", name), partial(_compute, records, name)) for name in names}
    index = records.memo(("variable index",), lambda: records.patients.set_index("study_id").index)
    return pd.DataFrame(columns, index=index)


def _compute(records: ClinicalRecords, name: str) -> pd.Series:
    p = records.memo(("patients by study_id",), lambda: records.patients.set_index("study_id"))
    return CATALOGUE[name].compute(records, p)
