"""The dashboard's survival curves: Kaplan–Meier estimates drawn by the report's figure code."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from bassinet.plans import AnalysisResult, CurveData, GroupResult
from bassinet.report import plot_curves, to_svg
from bassinet.survival import KaplanMeier, kaplan_meier


def survival_svg(times: Sequence[float], events: Sequence[int], title: str) -> str:
    """An inline SVG of the Kaplan–Meier curve (Kaplan & Meier 1958) of ``times`` (years) and
    ``events`` (1 = event), with the number at risk each year, as the study report draws it.

    matplotlib writes the SVG's text XML-escaped, so a label from the data cannot become markup.
    """
    fit = kaplan_meier(np.asarray(times, dtype=float), np.asarray(events, dtype=int))
    assert isinstance(fit, KaplanMeier)
    longest = max(1.0, math.ceil(max(times)))
    step = 1 if longest <= 6 else 2 if longest <= 12 else 5
    ticks = tuple(float(t) for t in range(0, math.ceil(longest / step) * step + 1, step))
    surv = [float(s) for s in fit.surv]
    censored = [float(t) for t, c in zip(fit.time, fit.n_censor, strict=True) if c > 0]
    censored_value = [s for s, c in zip(surv, fit.n_censor, strict=True) if c > 0]
    curve = CurveData(
        time=(0.0, *(float(t) for t in fit.time)),
        value=(1.0, *surv),
        lower=(1.0, *surv),
        upper=(1.0, *surv),
        censored=tuple(censored),
        censored_value=tuple(censored_value),
    )
    at_risk = tuple(sum(1 for t in times if t >= tick) for tick in ticks)
    group = GroupResult("all", len(times), int(sum(events)), 0, (), curve, at_risk)
    result = AnalysisResult(
        id=title,
        title=title,
        endpoint=title,
        endpoint_title=title,
        origin="diagnosis",
        competing=False,
        n=len(times),
        groups_label=None,
        groups=(group,),
        ticks=ticks,
        time_unit="years",
    )
    return without_metadata(to_svg(plot_curves(result)))


def without_metadata(svg: str) -> str:
    """``svg`` without its ``<metadata>`` block (Matplotlib's RDF: "image/svg+xml", "Matplotlib
    v3.x", the date), which some browsers show as text when the SVG is inline in a page."""
    return re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.DOTALL)
