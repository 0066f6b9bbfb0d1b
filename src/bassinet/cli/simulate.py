"""``bassinet simulate``: the calibrated synthetic cohorts, written as import files or into a registry.

Imports from the library are made inside the commands, so that ``bassinet --help``
does not load the simulators (NumPy, pandas, SciPy).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bassinet.cli._common import (
    Registry,
    _actor,
    _open_registry,
    _option_date,
    _print_report,
    _run,
    app,
    err,
    out,
)
from bassinet.errors import ConfigurationError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bassinet.simulate import RegistryRows

simulate_app = typer.Typer(
    help="Synthetic cohorts calibrated to the published studies (Interfant-06; the HSCT infant cohort).",
    no_args_is_help=True,
)
app.add_typer(simulate_app, name="simulate")

Seed = Annotated[int, typer.Option(help="Seed of the random generator: the same seed, the same cohort.")]
Out = Annotated[
    Path | None, typer.Option("--out", help="Write the cohort as the registry's import CSVs in this folder.")
]
Into = Annotated[
    bool,
    typer.Option("--into-registry", help="Import the cohort into the registry (--registry) instead."),
]
Cutoff = Annotated[
    str | None, typer.Option(help="Data cut-off date, YYYY-MM-DD (default: the cohort's own).")
]


def _date(option: str, text: str | None) -> dt.date | None:
    return None if text is None else _option_date(option, text)


def deliver(
    rows: RegistryRows, name: str, out_dir: Path | None, into: bool, registry: str | None, *, seed: int
) -> None:
    """Write ``rows`` as CSVs, or import them into the registry (through the same validation),
    audited as a simulated cohort so that reports of that registry say so."""
    from bassinet.application.records import import_records
    from bassinet.application.reports import simulated_import_reason
    from bassinet.simulate import write_csv

    if into and out_dir is not None:
        raise ConfigurationError("give either --out DIR or --into-registry, not both")
    if not into:
        folder = out_dir or Path(f"{name}-cohort")
        paths = write_csv(rows, folder)
        counts = ", ".join(f"{len(rows[s]):,} {s}" for s in paths)
        out.print(f"{name}: {counts}")
        out.print(
            f"written to {folder}/; import with: bassinet import {paths['patients']} "
            + " ".join(f"--{s} {p}" for s, p in paths.items() if s != "patients")
        )
        return
    with tempfile.TemporaryDirectory(prefix=f"bassinet-{name}-") as tmp:
        paths = write_csv(rows, Path(tmp))
        long_sheets = {s: p for s, p in paths.items() if s != "patients"}
        with _open_registry(registry) as engine:
            # A reason would also let the import move known patients to other centres: only a
            # cohort new to the registry is audited as simulated; re-imports stay plain updates.
            new = not _any_known(engine, [str(row["study_id"]) for row in rows["patients"]])
            report = import_records(
                _actor(None),
                engine,
                paths["patients"],
                long_sheets=long_sheets,
                reason=simulated_import_reason(name, seed) if new else None,
            )
    _print_report(report)


def _any_known(engine: Engine, study_ids: list[str]) -> bool:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from bassinet.registry.models import Patient

    with Session(engine) as session:
        return (
            session.scalars(select(Patient.id).where(Patient.study_id.in_(study_ids)).limit(1)).first()
            is not None
        )


@simulate_app.command("interfant06")
def interfant06(
    seed: Seed = 1,
    n: Annotated[int | None, typer.Option("--n", help="Number of infants (default: 651).")] = None,
    cutoff: Cutoff = None,
    out_dir: Out = None,
    into: Into = False,
    registry: Registry = None,
) -> None:
    """An Interfant-06-like trial: 651 infants with ALL accrued 2006-2016, risk groups by the engine."""

    def work() -> None:
        from bassinet.simulate import simulate_interfant06

        rows = simulate_interfant06(seed=seed, n=n, cutoff=_date("--cutoff", cutoff))
        deliver(rows, "interfant06", out_dir, into, registry, seed=seed)

    _run(work)


@simulate_app.command("hsct-infants")
def hsct_infants(
    seed: Seed = 1,
    cutoff: Cutoff = None,
    out_dir: Out = None,
    into: Into = False,
    registry: Registry = None,
) -> None:
    """The 126-infant allo-HSCT cohort: transplanted 2013-03 to 2024-12, cut-off 2025-05-31."""

    def work() -> None:
        from bassinet.simulate import simulate_hsct_infants

        rows = simulate_hsct_infants(seed=seed, cutoff=_date("--cutoff", cutoff))
        deliver(rows, "hsct-infants", out_dir, into, registry, seed=seed)

    _run(work)


@simulate_app.command("calibrate")
def calibrate_command(
    cohort: Annotated[str, typer.Argument(help="interfant06 or hsct-infants.")],
    replicates: Annotated[int, typer.Option(help="Number of simulated cohorts.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the first replicate (then seed + 1, ...).")] = 1,
) -> None:
    """Simulate many cohorts, analyse each, and show every published figure against the simulated range."""

    def work() -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from bassinet.simulate import calibrate

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err, transient=True) as bar:
            task = bar.add_task(f"{cohort} replicates", total=replicates)
            report = calibrate(
                cohort, replicates=replicates, seed=seed, progress=lambda k: bar.update(task, completed=k)
            )
        out.print(report.to_text(), highlight=False, soft_wrap=True)
        if not report.all_inside:
            raise typer.Exit(1)

    _run(work)
