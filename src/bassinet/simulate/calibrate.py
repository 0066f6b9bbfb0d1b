"""Calibration you can see: simulate many replicates, analyse each, compare with the published figures.

For each cohort, :data:`TARGETS` lists the published figures (the seed texts in
../shared/seeds/). :func:`calibrate` simulates ``replicates`` cohorts with seeds
``seed, seed + 1, ...``, analyses each the way the studies did (endpoints derived from
the rows by :mod:`bassinet.endpoints`, risk groups by the protocol engine, estimates and
tests by :mod:`bassinet.survival`), and reports for every figure the target, the mean
over replicates and the 2.5-97.5% range. A calibrated simulator has every target inside
its range.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bassinet.endpoints import ClinicalRecords, derive, get_endpoint
from bassinet.errors import ConfigurationError
from bassinet.protocols import interfant06
from bassinet.protocols.facts import PatientFacts
from bassinet.simulate.hsct_infants import simulate_hsct_infants
from bassinet.simulate.interfant06 import STUDY_GROUPS, simulate_interfant06
from bassinet.simulate.registry_rows import RegistryRows
from bassinet.survival import cumulative_incidence, kaplan_meier, logrank

YEAR = 365.25


@dataclass(frozen=True)
class Target:
    """A published figure: its name, value and unit ("%", "n" or "P")."""

    name: str
    value: float
    unit: str


TARGETS: dict[str, tuple[Target, ...]] = {
    "interfant06": (
        Target("LR patients", 167, "n"),
        Target("MR patients", 320, "n"),
        Target("HR patients", 164, "n"),
        Target("eligible for randomisation", 407, "n"),
        Target("randomised", 330, "n"),
        Target("6-year EFS, all", 46.1, "%"),
        Target("6-year OS, all", 58.2, "%"),
        Target("6-year EFS, original countries", 49.4, "%"),
        Target("6-year OS, original countries", 62.1, "%"),
        Target("6-year EFS, other countries", 39.0, "%"),
        Target("6-year OS, other countries", 49.7, "%"),
        Target("6-year EFS, HR", 20.9, "%"),
        Target("HR transplanted", 76, "n"),
        Target("MR with MRD >= 1e-4 before OCTADAD", 23, "n"),
        Target("of those, transplanted", 16, "n"),
        Target("transplant-related deaths among MR/HR transplanted", 14.4, "%"),
        Target("6-year CIR, ADE/MAE", 47.5, "%"),
        Target("6-year CIR, IB", 54.9, "%"),
        Target("6-year death in remission, ADE/MAE", 10.2, "%"),
        Target("6-year death in remission, IB", 8.3, "%"),
        Target("6-year DFS, ADE/MAE", 39.3, "%"),
        Target("6-year DFS, IB", 36.8, "%"),
        Target("3-year DFS, ADE/MAE", 45.3, "%"),
        Target("3-year DFS, IB", 38.6, "%"),
        Target("EFS, t(4;11) or t(11;19) vs other KMT2A-r, log-rank", 0.005, "P"),
    ),
    "hsct-infants": (
        Target("3-year OS, AML in CR1", 74.5, "%"),
        Target("3-year OS, AML in CR2 or later", 71.4, "%"),
        Target("3-year OS, AML without remission", 33.3, "%"),
        Target("AML by remission status, log-rank", 0.0105, "P"),
        Target("3-year OS, AML in remission, FCM MRD positive", 74.3, "%"),
        Target("3-year OS, AML in remission, FCM MRD negative", 74.3, "%"),
        Target("3-year OS, AML, haploidentical", 74.4, "%"),
        Target("3-year OS, AML, matched unrelated", 70.0, "%"),
        Target("AML haploidentical vs matched unrelated, log-rank", 0.464, "P"),
        Target("3-year OS, ALL in CR1", 91.1, "%"),
        Target("3-year OS, ALL in CR2 or later", 72.7, "%"),
        Target("ALL CR1 vs CR2 or later, log-rank", 0.191, "P"),
        Target("3-year OS, ALL MRD positive", 60.0, "%"),
        Target("3-year OS, ALL MRD negative", 85.6, "%"),
        Target("ALL MRD positive vs negative, log-rank", 0.026, "P"),
        Target("3-year OS, ALL in remission, unrelated", 91.7, "%"),
        Target("3-year OS, ALL in remission, haploidentical", 81.7, "%"),
        Target("ALL unrelated vs haploidentical, log-rank", 0.274, "P"),
        Target("3-year OS, ALL KMT2A-r", 86.7, "%"),
        Target("3-year OS, ALL without KMT2A-r", 74.0, "%"),
        Target("ALL KMT2A-r vs not, log-rank", 0.146, "P"),
        Target("median follow-up, months", 39.0, "n"),
    ),
}


@dataclass(frozen=True)
class FigureCheck:
    """One published figure against its simulated distribution."""

    target: Target
    mean: float
    low: float
    high: float
    missing: int

    @property
    def inside(self) -> bool:
        return self.low <= self.target.value <= self.high


@dataclass(frozen=True)
class Calibration:
    """The calibration report of one simulator."""

    cohort: str
    seed: int
    replicates: int
    figures: tuple[FigureCheck, ...]

    @property
    def all_inside(self) -> bool:
        return all(f.inside for f in self.figures)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "figure": [f.target.name for f in self.figures],
                "unit": [f.target.unit for f in self.figures],
                "target": [f.target.value for f in self.figures],
                "mean": [f.mean for f in self.figures],
                "2.5%": [f.low for f in self.figures],
                "97.5%": [f.high for f in self.figures],
                "inside": [f.inside for f in self.figures],
            }
        )

    def to_text(self) -> str:
        """The report as a fixed-width table (what ``bassinet simulate calibrate`` prints)."""
        width = max(len(f.target.name) for f in self.figures)
        lines = [
            f"{self.cohort}: {self.replicates} replicates, "
            f"seeds {self.seed} to {self.seed + self.replicates - 1}",
            f"{'figure':<{width}}  {'target':>8}  {'mean':>8}  {'2.5%':>8}  {'97.5%':>8}  inside",
        ]
        for f in self.figures:
            fmt = _format(f.target.unit)
            lines.append(
                f"{f.target.name:<{width}}  {fmt(f.target.value):>8}  {fmt(f.mean):>8}  "
                f"{fmt(f.low):>8}  {fmt(f.high):>8}  {'yes' if f.inside else 'NO'}"
            )
        inside = sum(f.inside for f in self.figures)
        lines.append(f"{inside} of {len(self.figures)} published figures inside the simulated 95% range")
        return "\n".join(lines)


def _format(unit: str) -> Callable[[float], str]:
    if unit == "P":
        return lambda x: f"{x:.3g}"
    if unit == "%":
        return lambda x: f"{x:.1f}"
    return lambda x: f"{x:.1f}" if x != int(x) else f"{int(x)}"


def records_of(rows: RegistryRows) -> ClinicalRecords:
    """The dated records of simulated rows, for :func:`bassinet.endpoints.derive`."""
    return ClinicalRecords.from_tables(
        rows.frame("patients"), rows.frame("remissions"), rows.frame("events"), rows.frame("transplants")
    )


def _km_at(frame: pd.DataFrame, years: float) -> float:
    if not len(frame):
        return float("nan")
    curve = kaplan_meier(frame["time_days"].to_numpy(float), frame["status"].to_numpy())
    return 100 * float(curve.at([years * YEAR]).surv[0])  # type: ignore[union-attr]


def _incidence_at(frame: pd.DataFrame, years: float) -> float:
    if not len(frame):
        return float("nan")
    fit = cumulative_incidence(frame["time_days"].to_numpy(float), frame["status"].to_numpy())
    at = fit.at([years * YEAR])  # type: ignore[union-attr]
    return 100 * float(at.estimate[0, at.causes.index(1)]) if 1 in at.causes else 0.0


def _logrank_p(frame: pd.DataFrame, group: pd.Series) -> float:
    g = group.reindex(frame["study_id"]).to_numpy()
    keep = pd.notna(g)
    if len(set(g[keep])) < 2:
        return float("nan")
    test = logrank(frame["time_days"].to_numpy(float)[keep], frame["status"].to_numpy()[keep], g[keep])
    return float(test.p_value)


def analyse_interfant06(rows: RegistryRows, cutoff: dt.date) -> dict[str, float]:
    """The published Interfant-06 figures, computed from one simulated trial's rows."""
    records = records_of(rows)
    patients = rows.frame("patients").set_index("study_id")
    risk = pd.Series(
        {
            sid: interfant06.risk_group(PatientFacts.from_record({**p, "study_id": sid})).outcome
            for sid, p in patients.iterrows()
        }
    )
    remissions = rows.frame("remissions")
    in_cr = set(remissions.loc[remissions["status"] == "CR", "study_id"])
    randomising = {g[0] for g in STUDY_GROUPS if g[3]}
    eligible = risk.isin(["MR", "HR"]) & risk.index.isin(in_cr) & patients["study_group"].isin(randomising)
    arm = patients["randomisation_arm"]
    transplanted = set(rows.frame("transplants")["study_id"])
    mrd = rows.frame("mrd")
    high = mrd[
        (mrd["time_point"] == "start_of_octadad")
        & (pd.to_numeric(mrd["value"], errors="coerce") >= interfant06.MRD_SCT_THRESHOLD)
        & (pd.to_datetime(mrd["measured_on"]) >= pd.Timestamp(interfant06.AMENDMENT_DATE))
    ]
    mr_high = set(high["study_id"]) & set(risk.index[risk == "MR"])
    events = rows.frame("events")
    trm_deaths = set(events.loc[events["death_cause"] == "transplant_related", "study_id"])
    sct_mrhr = transplanted & set(risk.index[risk.isin(["MR", "HR"])])

    d = derive(records, ["EFS", "OS"], cutoff=cutoff)
    efs, os_ = d[d["endpoint"] == "EFS"], d[d["endpoint"] == "OS"]
    original = patients["original_country"] == "yes"
    orig_ids, other_ids = set(original.index[original]), set(original.index[~original])
    from_rand = derive(
        records,
        [
            e.from_origin("randomisation")
            for e in (get_endpoint("DFS"), get_endpoint("CIR"), get_endpoint("NRM"))
        ],
        cutoff=cutoff,
    )

    def rand(endpoint: str, arm_code: str) -> pd.DataFrame:
        f = from_rand[from_rand["endpoint"] == endpoint]
        return f[f["study_id"].map(arm) == arm_code]

    def among(frame: pd.DataFrame, ids: set[str]) -> pd.DataFrame:
        return frame[frame["study_id"].isin(ids)]

    rearranged = patients["kmt2a_status"] == "rearranged"
    partner_class = pd.Series(
        np.where(patients["kmt2a_partner"].isin(["AFF1", "MLLT1"]), "t(4;11)/t(11;19)", "other"),
        index=patients.index,
    ).where(rearranged)
    return {
        "LR patients": float((risk == "LR").sum()),
        "MR patients": float((risk == "MR").sum()),
        "HR patients": float((risk == "HR").sum()),
        "eligible for randomisation": float(eligible.sum()),
        "randomised": float(arm.notna().sum()),
        "6-year EFS, all": _km_at(efs, 6),
        "6-year OS, all": _km_at(os_, 6),
        "6-year EFS, original countries": _km_at(among(efs, orig_ids), 6),
        "6-year OS, original countries": _km_at(among(os_, orig_ids), 6),
        "6-year EFS, other countries": _km_at(among(efs, other_ids), 6),
        "6-year OS, other countries": _km_at(among(os_, other_ids), 6),
        "6-year EFS, HR": _km_at(among(efs, set(risk.index[risk == "HR"])), 6),
        "HR transplanted": float(len(transplanted & set(risk.index[risk == "HR"]))),
        "MR with MRD >= 1e-4 before OCTADAD": float(len(mr_high)),
        "of those, transplanted": float(len(mr_high & transplanted)),
        "transplant-related deaths among MR/HR transplanted": 100
        * len(trm_deaths & sct_mrhr)
        / max(1, len(sct_mrhr)),
        "6-year CIR, ADE/MAE": _incidence_at(rand("CIR", "ADE_MAE"), 6),
        "6-year CIR, IB": _incidence_at(rand("CIR", "IB"), 6),
        "6-year death in remission, ADE/MAE": _incidence_at(rand("NRM", "ADE_MAE"), 6),
        "6-year death in remission, IB": _incidence_at(rand("NRM", "IB"), 6),
        "6-year DFS, ADE/MAE": _km_at(rand("DFS", "ADE_MAE"), 6),
        "6-year DFS, IB": _km_at(rand("DFS", "IB"), 6),
        "3-year DFS, ADE/MAE": _km_at(rand("DFS", "ADE_MAE"), 3),
        "3-year DFS, IB": _km_at(rand("DFS", "IB"), 3),
        "EFS, t(4;11) or t(11;19) vs other KMT2A-r, log-rank": _logrank_p(efs, partner_class),
    }


def analyse_hsct_infants(rows: RegistryRows, cutoff: dt.date) -> dict[str, float]:
    """The published figures of the transplant cohort, computed from one simulated cohort's rows."""
    records = records_of(rows)
    patients = rows.frame("patients").set_index("study_id")
    tx = rows.frame("transplants").drop_duplicates("study_id").set_index("study_id")
    os_ = derive(records, [get_endpoint("OS").from_origin("transplant")], cutoff=cutoff)
    leukemia = patients["leukemia_type"]
    status = tx["remission_status"]
    mrd_positive: pd.Series = tx["mrd_value"].notna() & (tx["mrd_value"] != "negative")
    donor = tx["donor_type"]
    kmt2a = patients["kmt2a_status"] == "rearranged"

    def ids(mask: pd.Series) -> set[str]:
        return set(mask.index[mask.fillna(False).astype(bool)])

    aml, all_ = ids(leukemia == "AML"), ids(leukemia == "ALL")
    remission = ids(status != "NR")

    def os3(group: set[str]) -> float:
        return _km_at(os_[os_["study_id"].isin(group)], 3)

    def p(group: set[str], labels: pd.Series) -> float:
        return _logrank_p(os_[os_["study_id"].isin(group)], labels)

    unrelated = donor == "matched_unrelated"
    haplo = donor == "haploidentical"
    donor_label = donor.map({"haploidentical": "haplo", "matched_unrelated": "unrelated"})
    months = os_["time_days"].to_numpy(float) / 30.4375
    return {
        "3-year OS, AML in CR1": os3(aml & ids(status == "CR1")),
        "3-year OS, AML in CR2 or later": os3(aml & ids(status == "CR2+")),
        "3-year OS, AML without remission": os3(aml & ids(status == "NR")),
        "AML by remission status, log-rank": p(aml, status),
        "3-year OS, AML in remission, FCM MRD positive": os3(aml & remission & ids(mrd_positive)),
        "3-year OS, AML in remission, FCM MRD negative": os3(aml & remission & ids(~mrd_positive)),
        "3-year OS, AML, haploidentical": os3(aml & ids(haplo)),
        "3-year OS, AML, matched unrelated": os3(aml & ids(unrelated)),
        "AML haploidentical vs matched unrelated, log-rank": p(aml, donor_label),
        "3-year OS, ALL in CR1": os3(all_ & ids(status == "CR1")),
        "3-year OS, ALL in CR2 or later": os3(all_ & ids(status == "CR2+")),
        "ALL CR1 vs CR2 or later, log-rank": p(all_, status),
        "3-year OS, ALL MRD positive": os3(all_ & ids(mrd_positive)),
        "3-year OS, ALL MRD negative": os3(all_ & ids(~mrd_positive)),
        "ALL MRD positive vs negative, log-rank": p(all_, mrd_positive),
        "3-year OS, ALL in remission, unrelated": os3(all_ & remission & ids(unrelated)),
        "3-year OS, ALL in remission, haploidentical": os3(all_ & remission & ids(haplo)),
        "ALL unrelated vs haploidentical, log-rank": p(all_ & remission, donor_label),
        "3-year OS, ALL KMT2A-r": os3(all_ & ids(kmt2a)),
        "3-year OS, ALL without KMT2A-r": os3(all_ & ids(~kmt2a)),
        "ALL KMT2A-r vs not, log-rank": p(all_, kmt2a),
        "median follow-up, months": float(np.median(months)),
    }


COHORTS: dict[
    str, tuple[Callable[..., RegistryRows], Callable[[RegistryRows, dt.date], dict[str, float]], dt.date]
] = {
    "interfant06": (simulate_interfant06, analyse_interfant06, dt.date(2018, 12, 31)),
    "hsct-infants": (simulate_hsct_infants, analyse_hsct_infants, dt.date(2025, 5, 31)),
}


def get_cohort(
    name: str,
) -> tuple[Callable[..., RegistryRows], Callable[[RegistryRows, dt.date], dict[str, float]], dt.date]:
    try:
        return COHORTS[name]
    except KeyError:
        raise ConfigurationError(f"cohort {name!r} is not known; cohorts: {', '.join(COHORTS)}") from None


def calibrate(
    cohort: str,
    *,
    replicates: int = 200,
    seed: int = 1,
    progress: Callable[[int], None] | None = None,
) -> Calibration:
    """Simulate ``replicates`` cohorts (seeds ``seed``, ``seed + 1``, ...) and compare with the targets."""
    simulate, analyse, cutoff = get_cohort(cohort)
    if replicates < 2:
        raise ConfigurationError(f"--replicates is {replicates}: a range needs at least 2 replicates")
    values: dict[str, list[float]] = {t.name: [] for t in TARGETS[cohort]}
    for k in range(replicates):
        figures = analyse(simulate(seed=seed + k), cutoff)
        for name in values:
            values[name].append(figures[name])
        if progress is not None:
            progress(k + 1)
    checks = []
    for target in TARGETS[cohort]:
        x = np.asarray(values[target.name], dtype=float)
        ok = x[np.isfinite(x)]
        low, high = np.quantile(ok, [0.025, 0.975]) if len(ok) else (np.nan, np.nan)
        checks.append(
            FigureCheck(
                target,
                float(ok.mean()) if len(ok) else np.nan,
                float(low),
                float(high),
                int(len(x) - len(ok)),
            )
        )
    return Calibration(cohort, seed, replicates, tuple(checks))
