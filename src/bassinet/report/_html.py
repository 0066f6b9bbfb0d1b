"""The study report: one Jinja2 template, written as self-contained HTML (figures inline as SVG),
as PDF from the same HTML (WeasyPrint), and the results as JSON beside them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import jinja2

from bassinet.plans._results import AnalysisResult, PlanResult
from bassinet.report._figures import plot_curves, plot_forest, to_svg

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("bassinet.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def _p(p: float) -> str:
    if p != p:
        return "-"
    return "P<0.001" if p < 0.001 else f"P={p:.3f}"


def figures_of(result: PlanResult) -> dict[str, list[str]]:
    """The SVG figures of every analysis: curves (if it has groups to draw) and a forest plot."""
    out: dict[str, list[str]] = {}
    for a in result.analyses:
        svgs = []
        if a.figure and a.groups:
            svgs.append(to_svg(plot_curves(a)))
        if a.model:
            svgs.append(to_svg(plot_forest(a.model, a.title)))
        out[a.id] = svgs
    return out


def render_html(result: PlanResult, *, written: str | None = None) -> str:
    """The report as one self-contained HTML page."""
    when = written or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    page: str = TEMPLATES.get_template("report.html.j2").render(
        r=result, figures=figures_of(result), p=_p, written=when
    )
    return page


def _jsonable(result: PlanResult) -> dict[str, object]:
    data = dataclasses.asdict(result)
    for a in data["analyses"]:
        for g in a["groups"]:
            g.pop("curve")  # the drawn steps: in the figure, not needed by machines
    return data


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
        json.dumps(_jsonable(result), indent=1, default=str, allow_nan=True), encoding="utf-8"
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
