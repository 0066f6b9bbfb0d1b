"""``bassinet quality check``: the data-quality checks of the registry, per centre.

Thin: parses the options, calls :func:`bassinet.application.quality.check_scope` as the
local operator, and prints the counts per centre, per check, and the findings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bassinet.cli._common import Registry, _actor, _open_registry, _option_date, _run, app, out

quality_app = typer.Typer(help="Data-quality checks: built-in and study-defined rules.", no_args_is_help=True)
app.add_typer(quality_app, name="quality")


@quality_app.command("check")
def check(
    rules: Annotated[
        Path | None,
        typer.Option("--rules", help="A YAML file of study rules (id, when, field, severity, message)."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="DATE", help="Check as of this date, YYYY-MM-DD (default: today)."),
    ] = None,
    centre: Annotated[str | None, typer.Option("--centre", help="Only this centre's patients.")] = None,
    limit: Annotated[
        int, typer.Option(min=0, help="Show at most this many findings (0: none, counts only).")
    ] = 50,
    registry: Registry = None,
) -> None:
    """Run the built-in data-quality checks (and --rules) on every patient; counts per centre, findings."""
    from rich.table import Table

    from bassinet.application.quality import check_scope
    from bassinet.cli._common import console_markup
    from bassinet.quality import load_rules
    from bassinet.registry.escaping import console_cell

    def work() -> None:
        day = _option_date("--as-of", as_of) if as_of else None
        loaded = load_rules(rules) if rules is not None else ()
        with _open_registry(registry) as engine:
            report = check_scope(_actor(), engine, as_of=day, rules=loaded, centre=centre)
        title = (
            f"data quality as of {report.as_of.isoformat()}: {report.patients} patient(s), "
            f"{report.errors} error(s), {report.warnings} warning(s)"
        )
        if report.rules:
            title += f"; study rules: {', '.join(report.rules)}"
        out.print(console_markup(title), highlight=False, soft_wrap=True)
        table = Table(title="per centre")
        for column in ("centre", "patients", "with findings", "errors", "warnings"):
            table.add_column(column, justify="left" if column == "centre" else "right")
        for c in report.centres:
            table.add_row(
                console_cell(c.centre),
                str(c.patients),
                str(c.patients_with_findings),
                str(c.errors),
                str(c.warnings),
            )
        out.print(table)
        if not report.findings:
            out.print("no findings", highlight=False)
            return
        counts = Table(title="findings per check")
        counts.add_column("check")
        counts.add_column("findings", justify="right")
        for name, n in report.by_check().items():
            counts.add_row(console_cell(name), str(n))
        out.print(counts)
        if limit == 0:
            return
        shown = report.findings[:limit]
        found = Table(title=f"findings (showing {len(shown)} of {len(report.findings)})")
        for column in ("centre", "patient", "record", "field", "check", "severity", "message"):
            found.add_column(column, overflow="fold")
        for f in shown:
            found.add_row(
                *(
                    console_cell(x)
                    for x in (f.centre, f.study_id, f.record, f.field, f.check, f.severity, f.message)
                )
            )
        out.print(found)

    _run(work)
