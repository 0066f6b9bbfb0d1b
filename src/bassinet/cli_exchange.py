"""``bassinet export-as``, ``exports``, ``deidentify-key``, ``import-redcap`` and ``import-fhir``.

Exchange with REDCap, FHIR and CDISC, de-identified releases, and the export log. Thin:
the work is in :mod:`bassinet.exchange`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.table import Table

from bassinet.cli import Registry, _actor, _open_registry, _run, app, err, out

FORMATS = ("csv", "parquet", "fhir", "odm", "dataset-json")


@app.command("deidentify-key")
def deidentify_key(
    path: Annotated[Path, typer.Argument(help="Where to write the new key; keep it outside the database.")],
) -> None:
    """Create a key for de-identified exports (256 random bits, readable by you only)."""
    from bassinet.exchange import create_key

    out.print(f"wrote a new key to {_run(lambda: create_key(path))}; keep it safe and apart from exports")


@app.command("export-as")
def export_as(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help=f"One of {', '.join(FORMATS)}.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write to.")] = Path("export"),
    deidentify: Annotated[
        Path | None,
        typer.Option("--deidentify", metavar="KEYFILE", help="De-identify with this key file."),
    ] = None,
    coarsen_centres: Annotated[
        bool, typer.Option("--coarsen-centres", help="With --deidentify: centres become study groups.")
    ] = False,
    days_from_diagnosis: Annotated[
        bool,
        typer.Option("--days-from-diagnosis", help="With --deidentify: dates become days from diagnosis."),
    ] = False,
    study: Annotated[str, typer.Option(help="Study name (ODM StudyOID, Dataset-JSON STUDYID).")] = "BASSINET",
    cutoff: Annotated[
        str | None, typer.Option(help="Data cut-off (YYYY-MM-DD) for dataset-json's ADTTE.")
    ] = None,
    user: Annotated[str | None, typer.Option(help="Who exports, for the export log.")] = None,
    registry: Registry = None,
) -> None:
    """Export the registry as CSV, Parquet, FHIR R4 bundles, CDISC ODM or Dataset-JSON; logged."""
    from bassinet.cli import _option_date
    from bassinet.exchange import export_registry

    if fmt not in FORMATS:
        err.print(f"[bold red]error:[/] FORMAT {fmt!r} is not one of {', '.join(FORMATS)}")
        raise typer.Exit(2)
    if (coarsen_centres or days_from_diagnosis) and deidentify is None:
        err.print("[bold red]error:[/] --coarsen-centres and --days-from-diagnosis need --deidentify KEYFILE")
        raise typer.Exit(2)

    def work() -> list[Path]:
        when = _option_date("--cutoff", cutoff) if cutoff else None
        with _open_registry(registry) as engine:
            return export_registry(
                engine,
                cast(Any, fmt),
                out_dir,
                actor=_actor(user),
                key_file=deidentify,
                coarsen_centres=coarsen_centres,
                dates="days_from_diagnosis" if days_from_diagnosis else "shifted",
                study=study,
                cutoff=when,
            ).files

    for path in _run(work):
        out.print(str(path))


@app.command()
def exports(registry: Registry = None) -> None:
    """List every export of registry data: who, when, format, scope, patients, file hash."""
    from bassinet.exchange import list_exports

    def work() -> Table:
        with _open_registry(registry) as engine:
            entries = list_exports(engine)
        table = Table(title=f"{len(entries)} export(s)")
        for column in ("id", "when (UTC)", "who", "format", "de-identified", "scope", "patients", "files",
                       "sha256"):  # fmt: skip
            table.add_column(column)
        for e in entries:
            scope = ", ".join(f"{k}={v}" for k, v in e.scope.items())
            table.add_row(
                str(e.id),
                e.at.strftime("%Y-%m-%d %H:%M:%S"),
                e.actor,
                e.format,
                "yes" if e.deidentified else "no",
                scope,
                str(e.patients),
                str(len(e.files)),
                e.sha256[:16],
            )
        return table

    out.print(_run(work))
