"""The pooled report: JSON of the results and an HTML page of the tables, marked as pooled.

:func:`bassinet.report.write_report` draws a :class:`bassinet.plans.PlanResult`, whose
parts (groups, curves, flow, characteristics) need patient rows or names that
:mod:`bassinet.plans` keeps private; the pooled report is therefore its own small page:
the same estimates, numbers at risk and tests, and the Cox model when its rounds are done.
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
from pathlib import Path
from typing import Any

from bassinet.federate._pooled import PooledResult


def _fmt(x: float, digits: int = 1) -> str:
    return f"{x:.{digits}f}"


def _p(p: float) -> str:
    return "P<0.001" if p < 0.001 else f"P={p:.3f}"


def render_pooled_html(result: PooledResult, cox: list[dict[str, Any]] | None = None) -> str:
    """The pooled report as one HTML page (every value escaped)."""
    e = html.escape
    unit = result.time_unit[:-1]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(result.title)} (pooled)</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px}"
        ".banner{background:#eef;padding:6px;font-weight:bold}</style></head><body>",
        f"<h1>{e(result.title)}</h1>",
        f"<p class='banner'>{e(result.banner)}</p>",
        f"<p>Sites: {e(', '.join(result.sites))}. Plan SHA-256 {e(result.plan_sha256)}; "
        f"Bassinet {e(result.version)}.</p>",
        f"<p>Disclosure rules: {e(result.rules)}</p>",
    ]
    for a in result.analyses:
        parts.append(f"<h2 id='{e(a.id)}'>{e(a.title)}</h2>")
        if a.note:
            parts.append(f"<p>{e(a.note)}</p>")
            continue
        what = "cumulative incidence" if a.competing else "survival"
        parts.append(
            f"<p>{e(a.endpoint)}, {a.n} patients.</p><table><tr><th>group</th><th>n</th>"
            "<th>events</th><th>competing</th>"
        )
        times = [x.time for x in a.groups[0].estimates] if a.groups else []
        parts.extend(f"<th>{t:g}-{e(unit)} {what} % (SE) [95% CI], at risk</th>" for t in times)
        parts.append("</tr>")
        for g in a.groups:
            cells = "".join(
                f"<td>{_fmt(x.estimate)} ({_fmt(x.std_err)}) "
                f"[{_fmt(x.lower)}, {_fmt(x.upper)}], {x.n_risk}</td>"
                for x in g.estimates
            )
            parts.append(
                f"<tr><td>{e(g.label)}</td><td>{g.n}</td><td>{g.events}</td><td>{g.competing}</td>{cells}</tr>"
            )
        parts.append("</table>")
        if a.test and not (math.isfinite(a.test.statistic) and math.isfinite(a.test.p_value)):
            parts.append(f"<p>{e(a.test.name)} test: not estimable (singular covariance).</p>")
        elif a.test:
            strat = ", stratified by site" if a.test.stratified_by_site else ""
            parts.append(
                f"<p>{e(a.test.name)} test{e(strat)}: chi-square {a.test.statistic:.3f} on {a.test.df} df, "
                f"{_p(a.test.p_value)}.</p>"
            )
    for fit in cox or []:
        parts.append(
            f"<h2>Cox model {e(str(fit['analysis']))} (pooled over {len(fit['sites'])} sites, "
            f"{e(str(fit['mode']))})</h2><table><tr><th>term</th><th>HR</th><th>95% CI</th><th>P</th></tr>"
        )
        for name, hr, lo, hi, p in zip(
            fit["names"], fit["hazard_ratio"], fit["lower"], fit["upper"], fit["p_value"], strict=True
        ):
            parts.append(
                f"<tr><td>{e(str(name))}</td><td>{hr:.2f}</td><td>{lo:.2f}-{hi:.2f}</td><td>{_p(p)}</td></tr>"
            )
        parts.append(f"</table><p>{fit['n']} patients, {fit['events']} events, {fit['rounds']} rounds.</p>")
    parts.append("</body></html>\n")
    return "".join(parts)


def write_pooled_report(
    result: PooledResult, out_dir: Path, name: str = "pooled", cox: list[dict[str, Any]] | None = None
) -> list[Path]:
    """Write ``NAME.json`` (every number) and ``NAME.html`` into ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {"banner": result.banner, **dataclasses.asdict(result), "cox": cox or []}
    json_path, html_path = out_dir / f"{name}.json", out_dir / f"{name}.html"
    json_path.write_text(json.dumps(data, indent=1, allow_nan=True) + "\n", encoding="utf-8")
    html_path.write_text(render_pooled_html(result, cox), encoding="utf-8")
    return [html_path, json_path]
