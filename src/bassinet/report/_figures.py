"""Publication figures drawn from plan results: survival and incidence curves with the number at
risk under the axis, censoring marks and optional bands; a forest plot of hazard ratios.

Functions take results and return a matplotlib ``Figure``; :func:`to_svg` turns a figure
into SVG text for inline HTML. Nothing here computes a statistic: the curves, bands and
numbers at risk come from :mod:`bassinet.plans`.

Conventions journals ask for: the Okabe-Ito colour-blind-safe palette (Okabe & Ito 2008)
with a distinct line style per group, the number at risk at the body's font size,
censoring marks thinned where they would merge, curves already cut by the plan where
fewer than ``min_at_risk`` patients remain, an incidence axis scaled to the data, and
plain ticks (0.5, 1, 2, 4) on a forest plot's log axis. Labels are printed as text: a
``$`` in a group's name never starts mathematical typesetting.
"""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

from bassinet.plans import AnalysisResult, ModelTerm

#: Okabe-Ito: distinguishable with every common colour-vision deficiency.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
STYLES = ("-", "--", "-.", ":")
# text.parse_math off: a label from the data ("$x$", "a_b") is drawn as written, never as TeX.
plt.rcParams.update(
    {"svg.fonttype": "none", "font.size": 9, "font.family": "DejaVu Sans", "text.parse_math": False}
)


def text(label: str) -> str:
    """``label`` as literal text for matplotlib: with ``text.parse_math`` off it is drawn as written."""
    return label


def event_times(result: AnalysisResult) -> int:
    """The number of distinct times at which a drawn curve steps (an event time)."""
    times: set[float] = set()
    for g in result.groups:
        c = g.curve
        times.update(t for t, v, w in zip(c.time[1:], c.value[1:], c.value[:-1], strict=True) if v != w)
    return len(times)


def _thin(times: tuple[float, ...], values: tuple[float, ...], gap: float) -> tuple[list[float], list[float]]:
    """Censoring marks at least ``gap`` apart along the time axis (merging marks say nothing more)."""
    xs, ys, last = [], [], -math.inf
    for t, v in zip(times, values, strict=True):
        if t - last >= gap:
            xs.append(t)
            ys.append(v)
            last = t
    return xs, ys


def _short(label: str, width: int = 20) -> str:
    return label if len(label) <= width else label[: width - 1] + "\u2026"


def plot_curves(result: AnalysisResult) -> Figure:
    """Kaplan-Meier (or cumulative incidence) by group, censoring marks, number at risk below."""
    groups = result.groups
    rows = len(groups)
    fig = plt.figure(figsize=(6.4, 3.7 + 0.24 * rows))
    bottom = 0.16 + 0.06 * (rows + 1)
    top = fig.add_axes((0.27, bottom, 0.69, 0.8 - bottom))
    span = result.ticks[-1] if result.ticks else max((g.curve.time[-1] for g in groups), default=1.0)
    highest = 0.0
    for k, g in enumerate(groups):
        colour, style = COLOURS[k % len(COLOURS)], STYLES[k % len(STYLES)]
        label = g.label if g.label != "all" else "all patients"
        values = [100 * v for v in g.curve.value]
        highest = max(highest, *values, *(100 * u for u in g.curve.upper if result.bands))
        top.step(g.curve.time, values, where="post", color=colour, ls=style, lw=1.6,
                 label=text(f"{label} (n = {g.n})"))  # fmt: skip
        if result.bands:
            top.fill_between(
                g.curve.time, [100 * v for v in g.curve.lower], [100 * v for v in g.curve.upper],
                step="post", color=colour, alpha=0.15, lw=0,
            )  # fmt: skip
        xs, ys = _thin(g.curve.censored, g.curve.censored_value, span / 80)
        top.plot(xs, [100 * v for v in ys], "|", color=colour, ms=6, mew=1)
    if result.competing:  # an incidence: the axis scaled to the data, in steps of 10%
        top.set_ylim(0, min(100, 10 * math.ceil(max(highest, 5) * 1.1 / 10)))
    else:
        top.set_ylim(0, 100)
    top.set_xlim(0, span)
    top.set_xticks(result.ticks)
    title = result.endpoint_title  # first letter only: "GVHD" and "III-IV" keep their capitals
    top.set_ylabel(text(f"{title[:1].upper()}{title[1:]} (%)"))
    top.set_xlabel(text(f"{result.time_unit.capitalize()} from {result.origin}"))
    top.spines[["top", "right"]].set_visible(False)
    if len(groups) > 1 or result.test:
        title = result.groups_label or ""
        top.legend(
            title=text(title) if title else None, frameon=False, fontsize=8.5, title_fontsize=8.5,
            loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=min(3, len(groups)),
        )  # fmt: skip
    # The number at risk, one row a group, under the axis at the ticks, at the body's size.
    fig.text(0.02, 0.07 + 0.06 * rows, "Number at risk", fontsize=9, weight="bold")
    for k, g in enumerate(groups):
        y = 0.05 + 0.06 * (rows - 1 - k)
        fig.text(0.02, y, text(_short(g.label if g.label != "all" else "all")), fontsize=9,
                 color=COLOURS[k % len(COLOURS)])  # fmt: skip
        for tick, n in zip(result.ticks, g.at_risk, strict=True):
            x = top.transData.transform((tick, 0))[0]
            fig.text(fig.transFigure.inverted().transform((x, 0))[0], y, str(n), fontsize=9, ha="center")
    return fig


def plot_forest(terms: tuple[ModelTerm, ...], title: str) -> Figure:
    """Hazard ratios with 95% intervals on a log axis with plain ticks, and the numbers beside them."""
    fig, ax = plt.subplots(figsize=(6.4, 0.42 * len(terms) + 1.3))
    for i, term in enumerate(reversed(terms)):
        ax.plot([term.lower, term.upper], [i, i], color=COLOURS[0], lw=1.4)
        ax.plot(term.hazard_ratio, i, "s", color=COLOURS[0], ms=6)
        ax.annotate(
            f"{term.hazard_ratio:.2f} ({term.lower:.2f}\u2013{term.upper:.2f})",
            xy=(1.02, i), xycoords=("axes fraction", "data"), va="center", fontsize=8.5,
        )  # fmt: skip
    ax.annotate("HR (95% CI)", xy=(1.02, len(terms) - 0.4), xycoords=("axes fraction", "data"),
                fontsize=8.5, weight="bold")  # fmt: skip
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xscale("log")
    low = min(t.lower for t in terms)
    high = max(t.upper for t in terms)
    ticks = [x for x in (0.0625, 0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32) if low / 2 <= x <= high * 2]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.set_xticklabels([f"{x:g}" for x in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(min(ticks[0], low * 0.9), max(ticks[-1], high * 1.1))
    ax.set_ylim(-0.6, len(terms) - 0.2)
    ax.set_yticks(range(len(terms)))
    ax.set_yticklabels([text(t.label) for t in reversed(terms)], fontsize=8.5)
    ax.set_xlabel("Hazard ratio (log scale)")
    ax.spines[["top", "right"]].set_visible(False)
    fig.subplots_adjust(left=0.38, right=0.72, bottom=0.9 / (0.42 * len(terms) + 1.3), top=0.92)
    return fig


def to_svg(fig: Figure) -> str:
    """The figure as SVG text (without the XML prolog), for an inline ``<svg>`` in HTML."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]
