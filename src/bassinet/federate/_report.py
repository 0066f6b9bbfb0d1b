"""The pooled report: the plan's result objects from the site files, written as ``bassinet report`` writes.

:func:`pooled_report` checks the site files and builds a :class:`bassinet.plans.PlanResult`
from their count tables (:func:`~bassinet.federate._result.pooled_plan_result`), with the
finished Cox results; :func:`write_pooled_report` hands it to
:func:`bassinet.report.write_report`: the same HTML (figures inline), PDF and JSON (NaN
written as ``null``) as the central report, with the line "Pooled from N sites, no
patient rows" and the disclosure rules under the title.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bassinet.errors import DataError
from bassinet.federate._cox import RESULT
from bassinet.federate._messages import Message, check
from bassinet.federate._pooled import check_site_files
from bassinet.federate._result import pooled_plan_result
from bassinet.plans import PlanResult
from bassinet.report import ReportFiles, write_report


def pooled_report(messages: list[tuple[str, Any]], cox: list[Any] | None = None) -> PlanResult:
    """The pooled plan result of the site files ``(source, parsed JSON)`` and finished Cox results.

    Raises
    ------
    DataError
        A site file is damaged, from another plan or version, or a site comes twice
        (:func:`~bassinet.federate.check_site_files`); a Cox result is damaged, from
        another plan, fitted over other sites, or given twice for one analysis.
    """
    fplan, sites = check_site_files(messages)
    fits: list[Message] = []
    names = sorted(str(m["site"]) for m in sites)
    for i, raw in enumerate(cox or []):
        fit = check(raw, f"Cox result {i + 1}", RESULT)
        where = f"Cox result {i + 1} ({fit.get('analysis')})"
        if fit.get("plan_sha256") != fplan.sha256:
            raise DataError(f"{where}: comes from plan {fit.get('plan_sha256')}, not {fplan.sha256}")
        if sorted(str(s) for s in fit.get("sites", [])) != names:
            raise DataError(f"{where}: fitted over sites {fit.get('sites')}, not the files' sites {names}")
        if any(f["analysis"] == fit["analysis"] for f in fits):
            raise DataError(f"{where}: analysis {fit['analysis']} has a Cox result already")
        fits.append(fit)
    return pooled_plan_result(fplan, sites, fits)


def write_pooled_report(
    result: PlanResult, out_dir: Path, name: str = "pooled", *, pdf: bool = True
) -> ReportFiles:
    """Write ``NAME.html``, ``NAME.json`` and (with WeasyPrint) ``NAME.pdf``, as ``bassinet report`` does."""
    return write_report(result, out_dir, name, pdf=pdf)
