"""``bassinet report`` and ``bassinet endpoints``: from a registry to the study report and to ADaM.

Thin: the work is :func:`bassinet.application.reports.run_report` and
:func:`~bassinet.application.reports.derive_endpoints`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bassinet.cli._common import Registry, _actor, _option_date, _run, app, console_markup, err, out

if TYPE_CHECKING:
    from bassinet.application.reports import StudyReport


@app.command()
def report(
    plan: Annotated[
        str, typer.Argument(help="The analysis plan: a YAML file, or a shipped plan's name (interfant06).")
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the report.")] = Path("report"),
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Write the PDF too (needs WeasyPrint).")] = True,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 if any analysis or part of one is not estimable.")
    ] = False,
    simulated: Annotated[
        str, typer.Option("--simulated", help="Label the report as simulated data, e.g. 'seed 33'.")
    ] = "",
    registry: Registry = None,
) -> None:
    """Run an analysis plan on the registry: HTML and PDF report, JSON results, ADaM ADSL and ADTTE.

    An analysis that cannot be estimated on these data is reported with its reason and
    plan line; the others are still written. The exit code is 0 (1 with --strict if any was not).
    """

    def work() -> StudyReport:
        from bassinet.application.reports import run_report

        done = run_report(_actor(None), registry, plan, out_dir, pdf=pdf, simulation=simulated)
        if done.pdf_problem:
            err.print(f"[yellow]{console_markup(done.pdf_problem)}[/]")
        for path in done.paths:
            out.print(f"wrote {console_markup(path)}", highlight=False, soft_wrap=True)
        return done

    done = _run(work)
    for warning in done.result.warnings:
        err.print(f"[yellow]warning:[/] {console_markup(warning)}", highlight=False, soft_wrap=True)
    count = len(done.result.warnings)
    if count:
        err.print(f"{count} warning{'s' if count > 1 else ''}: see the report", highlight=False)
        if strict:
            raise typer.Exit(1)


@app.command()
def endpoints(
    cutoff: Annotated[str, typer.Option(help="Data cut-off date, YYYY-MM-DD.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the files.")] = Path("endpoints"),
    study: Annotated[str, typer.Option(help="STUDYID of the ADaM datasets.")] = "BASSINET",
    registry: Registry = None,
) -> None:
    """Derive every endpoint for every patient: endpoints.csv, and ADaM ADSL and ADTTE as SAS transport."""

    def work() -> None:
        from bassinet.application.reports import derive_endpoints

        when = _option_date("--cutoff", cutoff)
        done = derive_endpoints(_actor(None), registry, out_dir, cutoff=when, study=study)
        where = console_markup(out_dir)
        out.print(f"{done.rows:,} endpoint rows for {done.patients:,} patients written to {where}/")

    _run(work)
