"""``bassinet export-as``, ``exports``, ``deidentify-key``, ``import-redcap`` and ``import-fhir``.

Exchange with REDCap, FHIR and CDISC, de-identified releases, and the export log. Thin:
the work is in :mod:`bassinet.exchange`.
"""

from __future__ import annotations

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

if TYPE_CHECKING:
    from rich.table import Table

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
    from bassinet.application.exports import export

    if fmt not in FORMATS:
        err.print(f"[bold red]error:[/] FORMAT {fmt!r} is not one of {', '.join(FORMATS)}")
        raise typer.Exit(2)
    if (coarsen_centres or days_from_diagnosis) and deidentify is None:
        err.print("[bold red]error:[/] --coarsen-centres and --days-from-diagnosis need --deidentify KEYFILE")
        raise typer.Exit(2)

    def work() -> list[Path]:
        when = _option_date("--cutoff", cutoff) if cutoff else None
        with _open_registry(registry) as engine:
            done = export(
                _actor(user),
                engine,
                fmt,
                out_dir,
                key_file=deidentify,
                coarsen_centres=coarsen_centres,
                days_from_diagnosis=days_from_diagnosis,
                study=study,
                cutoff=when,
            )
        return list(done.files)

    for path in _run(work):
        out.print(str(path))


@app.command()
def exports(registry: Registry = None) -> None:
    """List every export of registry data: who, when, format, scope, patients, file hash."""
    from bassinet.application.exports import export_log

    def work() -> Table:
        from rich.table import Table

        with _open_registry(registry) as engine:
            entries = export_log(_actor(None), engine)
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


@app.command("import-redcap")
def import_redcap(
    dictionary: Annotated[
        Path | None, typer.Option(help="The project's data dictionary (CSV, as REDCap downloads it).")
    ] = None,
    records: Annotated[Path | None, typer.Option(help="The records export (CSV, raw or labels).")] = None,
    mapping: Annotated[Path | None, typer.Option(help="The REDCap mapping file (YAML).")] = None,
    propose_mapping: Annotated[
        Path | None,
        typer.Option("--propose-mapping", metavar="OUT", help="Write a proposed mapping file and stop."),
    ] = None,
    api: Annotated[str | None, typer.Option(metavar="URL", help="Pull from this REDCap API instead.")] = None,
    token: Annotated[
        str | None, typer.Option(metavar="env:VAR", help="With --api: the variable holding the token.")
    ] = None,
    quarantine: Annotated[
        Path | None, typer.Option(help="Commit the valid patients; write rejected rows to this CSV.")
    ] = None,
    encoding: Annotated[
        str,
        typer.Option(help="The dictionary's and records' encoding, if not REDCap's UTF-8 (e.g. cp1252)."),
    ] = "utf-8-sig",
    user: Annotated[str | None, typer.Option(help="Who imports, for the audit trail.")] = None,
    registry: Registry = None,
) -> None:
    """Import a REDCap project (dictionary + records, or --api) through the registry's validated import."""
    import tempfile

    from bassinet.application.records import import_redcap as import_redcap_project
    from bassinet.exchange import read_dictionary
    from bassinet.exchange import redcap as rc

    if api is None and (dictionary is None or records is None):
        err.print("[bold red]error:[/] give --dictionary and --records, or --api URL --token env:VAR")
        raise typer.Exit(2)
    if propose_mapping is None and mapping is None:
        err.print("[bold red]error:[/] give --mapping M.yaml, or --propose-mapping OUT.yaml to write one")
        raise typer.Exit(2)

    def work() -> None:
        with tempfile.TemporaryDirectory(prefix="bassinet-redcap-api-") as folder:
            dict_path, records_path = dictionary, records
            if api is not None:
                dict_path, records_path = rc.fetch_redcap(api, rc.read_token(token or ""), Path(folder))
            assert dict_path is not None and records_path is not None
            enc = encoding if api is None else "utf-8"  # PyCap's downloads are written as UTF-8
            project = read_dictionary(dict_path, encoding=enc)
            if propose_mapping is not None:
                text = rc.propose_mapping(project, rc.read_records(records_path, encoding=enc))
                propose_mapping.write_text(text, encoding="utf-8")
                out.print(
                    f"wrote a proposed mapping to {propose_mapping}: check it, then import with --mapping"
                )
                return
            assert mapping is not None
            with _open_registry(registry) as engine:
                report = import_redcap_project(
                    _actor(user),
                    engine,
                    dict_path,
                    records_path,
                    mapping,
                    quarantine=quarantine,
                    encoding=enc,
                )
            _print_report(report)

    _run(work)


@app.command("import-fhir")
def import_fhir(
    bundles: Annotated[list[Path], typer.Argument(help="Bundle JSON files, or folders of them.")],
    quarantine: Annotated[
        Path | None, typer.Option(help="Commit the valid patients; write rejected rows to this CSV.")
    ] = None,
    user: Annotated[str | None, typer.Option(help="Who imports, for the audit trail.")] = None,
    registry: Registry = None,
) -> None:
    """Read FHIR R4 bundles written by `export-as fhir` into the registry, through the validated import."""
    from bassinet.application.records import import_fhir as run_import

    files = [p for b in bundles for p in (sorted(b.glob("*.json")) if b.is_dir() else [b])]

    def work() -> None:
        with _open_registry(registry) as engine:
            _print_report(run_import(_actor(user), engine, files, quarantine=quarantine))

    _run(work)
