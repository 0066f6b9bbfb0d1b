"""The report's interim-analysis section: the design's analyses as a table, and one sentence.

Every number comes from :func:`bassinet.plans.run_plan` (:class:`~bassinet.plans._results.InterimResult`);
this module only formats them ("NE" when missing) for the template, which escapes them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bassinet.plans import InterimResult


def _fmt(x: float | None, digits: int) -> str:
    if x is None or not math.isfinite(x):
        return "NE"
    return f"{x:.{digits}f}"


@dataclass(frozen=True)
class InterimTable:
    """Rows of (label, one cell per analysis) and the caption's words."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, tuple[str, ...]], ...]
    caption: str


def interim_table(r: InterimResult) -> InterimTable:
    """The table: analysis k of K, events observed / planned, information, bounds, observed values."""
    looks = r.looks
    header = tuple(f"{k.number} of {r.k_max}" + ("" if k.observed else " (planned)") for k in looks)
    level = f"{100 * (1 - r.alpha):g}%"
    sides = "two-sided" if r.sided == 2 else "one-sided"

    def row(label: str, cells: list[str]) -> tuple[str, tuple[str, ...]]:
        return (label, tuple(cells))

    rows = [
        row("data cut-off", [k.cutoff or "\u2013" for k in looks]),
        row(
            "events observed / planned",
            [
                f"{k.events:.0f} of {r.max_events:.0f}" if k.observed else f"{k.events:.1f} planned"
                for k in looks
            ],
        ),
        row("information fraction", [_fmt(k.information, 3) for k in looks]),
        row("efficacy bound, z", [_fmt(k.efficacy_z, 3) for k in looks]),
        row(f"efficacy bound, nominal {sides} P", [_fmt(k.efficacy_p, 4) for k in looks]),
        row("efficacy bound, hazard ratio below", [_fmt(k.efficacy_hr, 3) for k in looks]),
    ]
    if any(k.futility_z is not None for k in looks):
        rows += [
            row(
                "futility bound, z",
                [_fmt(k.futility_z, 3) if k.futility_z is not None else "\u2013" for k in looks],
            ),
            row(
                "futility bound, hazard ratio above",
                [_fmt(k.futility_hr, 3) if k.futility_hr is not None else "\u2013" for k in looks],
            ),
        ]
    rows += [
        row("observed z (favouring experimental)", [_fmt(k.z, 3) if k.observed else "\u2013" for k in looks]),
        row(
            f"hazard ratio {r.experimental} vs {r.control}",
            [_fmt(k.hazard_ratio, 3) if k.observed else "\u2013" for k in looks],
        ),
        row(
            f"repeated {level} CI",
            [
                f"{_fmt(k.rci_lower, 3)}\u2013{_fmt(k.rci_upper, 3)}" if k.observed else "\u2013"
                for k in looks
            ],
        ),
        row("repeated P", [_fmt(k.repeated_p, 4) if k.observed else "\u2013" for k in looks]),
        row(
            f"conditional power, design's HR {r.planned_hazard_ratio:.3f}",
            [_fmt(k.conditional_power, 3) if k.conditional_power is not None else "\u2013" for k in looks],
        ),
        row(
            "conditional power, observed HR",
            [
                _fmt(k.conditional_power_observed, 3)
                if k.conditional_power_observed is not None
                else "\u2013"
                for k in looks
            ],
        ),
    ]
    caption = (
        f"Interim analysis {r.stage} of {r.k_max}: {r.title} ({r.design}; at most "
        f"{r.max_events:.0f} events). Bounds recomputed by the spending function at the information "
        f"observed; z is the log-rank statistic, positive when {r.experimental} has fewer events than "
        "expected; hazard ratios by Schoenfeld's approximation; conditional power is the probability "
        f"of rejecting by that analysis, given the z so far. Decision: {r.decision}."
    )
    return InterimTable(header, tuple(rows), caption)
