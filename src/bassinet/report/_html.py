"""The study report: one Jinja2 template, written as self-contained HTML (figures inline as SVG),
as PDF from the same HTML (WeasyPrint), and the results as JSON beside them.

Numbers are formatted here and only here: a missing number prints as "NE" (not estimable,
with its reason beside it), never as "nan"; P values as journals print them; the JSON
holds ``null`` where a number could not be estimated (its reason in ``note`` or
``not_estimable``), so it is valid JSON.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path

import jinja2

from bassinet.plans import AnalysisResult, PlanResult, hr_text, p_text
from bassinet.report._figures import event_times, plot_curves, plot_forest, to_svg
from bassinet.report._interim import interim_table

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("bassinet.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def number(x: float | None, digits: int = 1) -> str:
    """``x`` with ``digits`` decimals, or "NE" (not estimable) when missing or not finite."""
    if x is None or not math.isfinite(x):
        return "NE"
    return f"{x:.{digits}f}"


def interval(lower: float | None, upper: float | None, digits: int = 1) -> str:
    if lower is None or upper is None:
        return "NE"
    return f"{number(lower, digits)}\u2013{number(upper, digits)}"


@dataclass(frozen=True)
class Figure:
    svg: str
    caption: str


def _lower_first(title: str) -> str:
    """``Overall survival`` -> ``overall survival``, but ``AML: ...`` stays as it is."""
    if len(title) > 1 and title[1].isupper():
        return title
    return title[:1].lower() + title[1:]


def figures_of(result: PlanResult) -> dict[str, list[Figure]]:
    """The figures of every analysis: curves (when it has at least two event times) and a forest plot."""
    out: dict[str, list[Figure]] = {}
    for a in result.analyses:
        figures = []
        if a.figure and a.groups and event_times(a) >= 2:
            what = "Cumulative incidence" if a.competing else "Kaplan-Meier estimates"
            if a.test_kind == "mantel-byar":
                what = "Simon-Makuch estimates (Kaplan-Meier by time-updated transplant status)"
            note = (
                f" Curves stop after the last time with at least {result.min_at_risk} patients at risk; "
                "ticks mark censored patients."
            )
            figures.append(Figure(to_svg(plot_curves(a)), f"{what}: {_lower_first(a.title)}.{note}"))
        if a.model:
            figures.append(
                Figure(to_svg(plot_forest(a.model, a.title)), f"Hazard ratios (95% CI): {a.title}.")
            )
        out[a.id] = figures
    return out


def no_figure_reason(a: AnalysisResult) -> str:
    """Why an analysis that asks for a figure has none, or ""."""
    if not a.figure or not a.groups or a.not_estimable:
        return ""
    n = event_times(a)
    if n >= 2:
        return ""
    return (
        f"No figure: {'one event time' if n == 1 else 'no event'} in {a.n} patients, too few to draw a curve."
    )


def ne_notes(a: AnalysisResult) -> str:
    """The reasons of an analysis' estimates that are not estimable, once each."""
    notes = []
    for g in a.groups:
        for e in g.estimates:
            if e.estimate is None and e.note:
                reason = e.note.removeprefix("not estimable: ")
                text = f"{g.label}: {reason}" if len(a.groups) > 1 else reason
                if text not in notes:
                    notes.append(text)
    return "; ".join(notes)


def render_html(result: PlanResult, *, written: str | None = None) -> str:
    """The report as one self-contained HTML page."""
    when = written or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    page: str = TEMPLATES.get_template("report.html.j2").render(
        r=result,
        figures=figures_of(result),
        p=p_text,
        hr=hr_text,
        num=number,
        ci=interval,
        no_figure=no_figure_reason,
        ne_notes=ne_notes,
        interim_table=interim_table,
        written=when,
    )
    return page


def _clean(value: object) -> object:
    """NaN and infinity become ``None`` (JSON ``null``): JSON has no NaN."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _jsonable(result: PlanResult) -> dict[str, object]:
    data = dataclasses.asdict(result)
    for a in data["analyses"]:
        for g in a["groups"]:
            g.pop("curve")  # the drawn steps: in the figure, not needed by machines
    cleaned = _clean(data)
    assert isinstance(cleaned, dict)
    return cleaned


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    json: Path
    pdf: Path | None
    pdf_problem: str | None = None


def write_report(result: PlanResult, folder: Path, name: str, *, pdf: bool = True) -> ReportFiles:
    """Write ``NAME.html``, ``NAME.json`` and (with WeasyPrint) ``NAME.pdf`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    html = render_html(result)
    html_path = folder / f"{name}.html"
    html_path.write_text(html, encoding="utf-8")
    json_path = folder / f"{name}.json"
    json_path.write_text(
        json.dumps(_jsonable(result), indent=1, default=str, allow_nan=False), encoding="utf-8"
    )
    if not pdf:
        return ReportFiles(html_path, json_path, None, "not asked for")
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: the Pango library is missing
        return ReportFiles(html_path, json_path, None, f"WeasyPrint cannot run here ({exc})")
    pdf_path = folder / f"{name}.pdf"
    weasyprint.HTML(string=html, base_url=str(folder)).write_pdf(pdf_path)
    return ReportFiles(html_path, json_path, pdf_path)


__all__ = ["AnalysisResult", "ReportFiles", "render_html", "write_report"]
