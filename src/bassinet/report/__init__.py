"""Study reports from plan results: HTML with inline SVG figures, PDF from the same HTML, JSON beside.

- :func:`write_report`: the three files for one plan's results.
- :func:`render_html`: the HTML page alone.
- :mod:`._figures`: survival and incidence curves with the number at risk; forest plots.

The report computes no statistic: every number comes from :func:`bassinet.plans.run_plan`.
"""

from bassinet.report._figures import plot_curves, to_svg
from bassinet.report._html import ReportFiles, render_html, write_report

__all__ = ["ReportFiles", "plot_curves", "render_html", "to_svg", "write_report"]
