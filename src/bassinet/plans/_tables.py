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
    # Per arm: lost to follow-up (alive, last contact over a year before the cut-off) and analysed.
    cutoff = pd.Timestamp(plan.cutoff)
    chosen = p.loc[arms[randomised].index]
    alive = chosen["vital_status"].astype(str) != "dead" if "vital_status" in chosen else True
    lost = alive & (pd.to_datetime(chosen["last_contact_date"]) < cutoff - pd.Timedelta(days=365))
    analysed = pd.to_datetime(chosen["randomisation_date"]) <= cutoff
    for arm in sorted(arms[randomised].unique()):
        mine = chosen["randomisation_arm"] == arm
        shown = CATALOGUE["arm"].show(arm)
        steps.append(FlowStep(f"lost to follow-up: {shown}", int((mine & lost).sum())))
        steps.append(FlowStep(f"analysed: {shown}", int((mine & analysed).sum())))
    return tuple(steps)


def continuous_summary(values: np.ndarray, summary: str) -> tuple[float, float, float] | None:
    """Median and (range or interquartile range) of the known values, or ``None`` if none is known.

    Quartiles as R's ``quantile(x, c(0.25, 0.75))`` (type 7, linear interpolation).
    """
    known = values[~np.isnan(values)]
    if not len(known):
        return None
    if summary == "iqr":
        low, high = np.quantile(known, [0.25, 0.75])
    else:
        low, high = known.min(), known.max()
    return float(np.median(known)), float(low), float(high)


def _figure(x: float) -> str:
    return f"{x:.1f}" if abs(x) < 100 else f"{x:.0f}"


def characteristics_table(
    plan: Plan, variables: pd.DataFrame, base: pd.Series
) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """Table 1: categories as n (%) of those known, continuous items as median (range or IQR), missing counts.

    Returns the columns ``(summary word, grouping label, column heads...)`` and the rows
    ``(variable label, "", ...)`` for a variable's heading (its cells filled for a
    continuous item) and ``("", level, cells...)`` for each level and for "missing".
    """
    spec = plan.characteristics
    if spec is None:
        return (), ()
    frame = variables[base]
    if spec.by:
        grouping = CATALOGUE[spec.by]
        by = frame[spec.by].map(lambda v: None if v is None or v != v else grouping.show(v))
        levels = [grouping.show(v) for v in grouping.order(list(frame[spec.by].dropna().unique()))]
    else:
        by, levels = pd.Series("all", index=frame.index), []
    columns: list[pd.Series] = [by == level for level in levels] + [pd.Series(True, index=frame.index)]
    heads = [f"{level} (n = {int(mask.sum())})" for level, mask in zip(levels, columns, strict=False)]
    heads.append(f"all (n = {len(frame)})")
    word = "IQR" if spec.summary == "iqr" else "range"
    header = (word, CATALOGUE[spec.by].label if spec.by else "", *heads)
    rows: list[tuple[str, ...]] = []
    masks = [mask.to_numpy(bool) for mask in columns]  # arrays: no index alignment per cell
    for name in spec.variables:
        variable = CATALOGUE[name]
        raw = frame[name]
        missing = raw.isna().to_numpy(bool)  # None, NaN and NaT
        if variable.continuous:
            values = pd.to_numeric(raw, errors="coerce").to_numpy(float)
            cells = []
            for mask in masks:
                found = continuous_summary(values[mask], spec.summary)
                cells.append(
                    "\u2013"
                    if found is None
                    else f"{_figure(found[0])} ({_figure(found[1])}\u2013{_figure(found[2])})"
                )
            rows.append((f"{variable.label}, median ({word})", "", *cells))
        else:
            rows.append((variable.label, "", *("" for _ in columns)))
            known_values = raw[~missing]
            codes, uniques = pd.factorize(known_values)  # each distinct value shown once
            shown = np.array([variable.show(v) for v in uniques], dtype=object)[codes]
            for value in [variable.show(v) for v in variable.order(list(known_values.unique()))]:
                cells = []
                for mask in masks:
                    known = shown[mask[~missing]]
                    count = int((known == value).sum())
                    cells.append(f"{count} ({100 * count / len(known):.0f}%)" if len(known) else "0")
                rows.append(("", value, *cells))
        if missing.any():
            rows.append(("", "missing", *(str(int((missing & mask).sum())) for mask in masks)))
    return header, tuple(rows)


def follow_up(plan: Plan, records: ClinicalRecords, base: pd.Series, origin: str) -> dict[str, float]:
    d = derive(records, [get_endpoint("OS").from_origin(origin)], cutoff=plan.cutoff).set_index("study_id")  # type: ignore[arg-type]
    chosen = base.index[base.to_numpy(bool)]
    d = d.loc[chosen[chosen.isin(d.index)]]
    t = d["time_days"].to_numpy(float) / plan.days_per_unit
    if not len(t):
        return {}
    fu = reverse_km_follow_up(t, d["status"].to_numpy(int))
    return {
        "reverse_km_median": float(fu.median),
        "observed_median": float(np.median(t)),
        "observed_min": float(t.min()),
        "observed_max": float(t.max()),
    }
