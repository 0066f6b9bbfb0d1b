"""Publication figures drawn from plan results: survival and incidence curves with the number at
risk under the axis, censoring marks and optional bands; a forest plot of hazard ratios.

Functions take results and return a matplotlib ``Figure`` (``plot_curves(result, ax=None)``
draws onto a given axis); :func:`to_svg` turns a figure into SVG text for inline HTML.
Nothing here computes a statistic: the curves, bands and numbers at risk come from
:mod:`bassinet.plans`.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from bassinet.plans._results import AnalysisResult, ModelTerm

COLOURS = ("#1f4e79", "#c0504d", "#4f8f3a", "#7f5f9f", "#d08a1f")
# text.parse_math off: a group label from the data ("$x$", "a_b") is drawn as written, not as TeX.
plt.rcParams.update(
    {"svg.fonttype": "none", "font.size": 9, "font.family": "DejaVu Sans", "text.parse_math": False}
)


def plot_curves(result: AnalysisResult) -> Figure:
    """Kaplan-Meier (or cumulative incidence) by group, censoring marks, number at risk below."""
    groups = result.groups
    rows = len(groups)
    fig = plt.figure(figsize=(6.4, 3.6 + 0.22 * rows))
    top = fig.add_axes((0.2, 0.14 + 0.055 * (rows + 1), 0.76, 0.74 - 0.055 * (rows + 1)))
    for k, g in enumerate(groups):
        colour = COLOURS[k % len(COLOURS)]
        label = g.label if g.label != "all" else "all patients"
        top.step(
            g.curve.time,
            [100 * v for v in g.curve.value],
            where="post",
            color=colour,
            lw=1.6,
            label=f"{label} (n = {g.n})",
        )
        if result.bands:
            top.fill_between(
                g.curve.time, [100 * v for v in g.curve.lower], [100 * v for v in g.curve.upper],
                step="post", color=colour, alpha=0.15, lw=0,
            )  # fmt: skip
        top.plot(g.curve.censored, [100 * v for v in g.curve.censored_value], "|", color=colour, ms=6, mew=1)
    top.set_ylim(0, 100)
    top.set_xlim(0, result.ticks[-1] if result.ticks else None)
    top.set_xticks(result.ticks)
    top.set_ylabel(f"{result.endpoint_title.capitalize()} (%)")
    top.set_xlabel(f"{result.time_unit.capitalize()} from {result.origin}")
    top.spines[["top", "right"]].set_visible(False)
    if len(groups) > 1 or result.test:
        title = result.groups_label or ""
        note = f"{result.test.name} P = {result.test.p_value:.3g}" if result.test else ""
        top.legend(
            title=f"{title}{'; ' if title and note else ''}{note}",
            frameon=False, fontsize=8, title_fontsize=8,
            loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=min(3, len(groups)),
        )  # fmt: skip
    # The number at risk, one row a group, under the axis at the ticks.
    fig.text(0.02, 0.05 + 0.055 * rows, "Number at risk", fontsize=8, weight="bold")
    for k, g in enumerate(groups):
        y = 0.04 + 0.055 * (rows - 1 - k)
        fig.text(
            0.02,
            y,
            (g.label if g.label != "all" else "all")[:18],
            fontsize=7,
            color=COLOURS[k % len(COLOURS)],
        )
        for tick, n in zip(result.ticks, g.at_risk, strict=True):
            x = top.transData.transform((tick, 0))[0]
            fig.text(fig.transFigure.inverted().transform((x, 0))[0], y, str(n), fontsize=7, ha="center")
    return fig


def plot_forest(terms: tuple[ModelTerm, ...], title: str) -> Figure:
    """Hazard ratios with 95% intervals on a log axis, one row a term."""
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(terms) + 1.2))
    for i, term in enumerate(reversed(terms)):
        ax.plot([term.lower, term.upper], [i, i], color=COLOURS[0], lw=1.4)
        ax.plot(term.hazard_ratio, i, "s", color=COLOURS[0], ms=6)
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_yticks(range(len(terms)))
    ax.set_yticklabels([t.label for t in reversed(terms)], fontsize=8)
    ax.set_xlabel("Hazard ratio (95% CI), log scale")
    ax.set_title(title, fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def to_svg(fig: Figure) -> str:
    """The figure as SVG text (without the XML prolog), for an inline ``<svg>`` in HTML."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]
