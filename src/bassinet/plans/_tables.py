"""The descriptive parts of a report: the patient flow, the characteristics table, follow-up."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bassinet.endpoints import ClinicalRecords, derive, get_endpoint
from bassinet.plans._results import FlowStep
from bassinet.plans._schema import Plan
from bassinet.plans._variables import CATALOGUE
from bassinet.survival import follow_up as reverse_km_follow_up


def patient_flow(
    plan: Plan, records: ClinicalRecords, variables: pd.DataFrame, base: pd.Series
) -> tuple[FlowStep, ...]:
    if plan.flow is None:
        return ()
    n = int(base.sum())
    ids = variables.index[base]
    if plan.flow.kind == "breakdown":
        steps = [FlowStep("patients", n)]
        for name in plan.flow.by:
            counts = variables.loc[ids, name].map(CATALOGUE[name].show).value_counts()
            steps.append(
                FlowStep(CATALOGUE[name].label, n, tuple((str(k), int(v)) for k, v in counts.items()))
            )
        return tuple(steps)
    p = records.patients.set_index("study_id").loc[ids]
    groups = CATALOGUE["risk_group"].compute(records, p)
    in_cr = CATALOGUE["in_cr"].compute(records, p)
    randomisable = groups.isin(["MR", "HR"])
    reasons = {
        "risk group LR: not randomised by protocol": groups == "LR",
        "risk group unknown": groups.isna(),
        "no complete remission after induction": randomisable & (in_cr == False),  # noqa: E712
        "died or left before the remission assessment": randomisable & in_cr.isna(),
    }
    eligible = randomisable & (in_cr == True)  # noqa: E712
    if plan.flow.non_randomising_groups:
        outside = p["study_group"].isin(plan.flow.non_randomising_groups) & eligible
        reasons["study group not taking part in the randomisation"] = outside
        eligible &= ~outside
    arms = p.loc[eligible, "randomisation_arm"]
    randomised = arms.notna()
    steps = [
        FlowStep(
            "registered",
            n,
            tuple((reason, int(mask.sum())) for reason, mask in reasons.items() if mask.any()),
        ),
        FlowStep(
            "eligible for randomisation", int(eligible.sum()), (("not randomised", int((~randomised).sum())),)
        ),
        FlowStep(
            "randomised",
            int(randomised.sum()),
            tuple(
                (CATALOGUE["arm"].show(k), int(v))
                for k, v in arms[randomised].value_counts().sort_index().items()
            ),
        ),
    ]
    return tuple(steps)


def characteristics_table(
    plan: Plan, variables: pd.DataFrame, base: pd.Series
) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    spec = plan.characteristics
    if spec is None:
        return (), ()
    frame = variables[base]
    if spec.by:
        grouping = CATALOGUE[spec.by]
        by = frame[spec.by].map(grouping.show)
        levels = [grouping.show(v) for v in grouping.order(list(frame[spec.by].dropna().unique()))]
    else:
        by, levels = pd.Series("all", index=frame.index), []
    header = ("characteristic", "value", *levels, "all")
    rows = []
    for name in spec.variables:
        variable = CATALOGUE[name]
        shown = frame[name].map(lambda v, show=variable.show: "unknown" if v is None or v != v else show(v))
        for position, value in enumerate(sorted(shown.unique(), key=str)):
            cells = []
            for level in [*levels, None]:
                col = shown if level is None else shown[by == level]
                count = int((col == value).sum())
                cells.append(f"{count} ({100 * count / len(col):.0f}%)" if len(col) else "0")
            rows.append((variable.label if position == 0 else "", value, *cells))
    counts = (*(f"n = {(by == level).sum()}" for level in levels), f"n = {len(frame)}")
    return header, (("", "", *counts), *rows)


def follow_up(plan: Plan, records: ClinicalRecords, base: pd.Series, origin: str) -> dict[str, float]:
    d = derive(records, [get_endpoint("OS").from_origin(origin)], cutoff=plan.cutoff).set_index("study_id")  # type: ignore[arg-type]
    d = d.loc[[sid for sid in base.index[base] if sid in d.index]]
    t = d["time_days"].to_numpy(float) / plan.days_per_unit
    fu = reverse_km_follow_up(t, d["status"].to_numpy(int))
    return {
        "reverse_km_median": float(fu.median),
        "observed_median": float(np.median(t)),
        "observed_min": float(t.min()),
        "observed_max": float(t.max()),
    }
