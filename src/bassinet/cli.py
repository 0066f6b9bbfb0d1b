"""The ``bassinet`` command. Thin: it parses options, calls the library, and prints.

Errors that Bassinet raises on purpose are printed as one clear message, never a
traceback: exit code 1 for data that break a rule, 3 for a registry or setting
that is not usable; Typer itself uses 2 for a mistaken command line.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy import Engine

from bassinet import __version__
from bassinet.errors import BassinetError, ConfigurationError, DataError
from bassinet.registry import (
    ImportReport,
    import_files,
    init_registry,
    load_mapping,
    make_engine,
    read_frames,
    registry_session,
)
from bassinet.registry.audit import history
from bassinet.registry.escaping import check_output_folder, console_cell, console_markup
from bassinet.registry.frames import PATIENT_LIST_COLUMNS, patient_page, write_audit_log
from bassinet.registry.lookup import find_patient
from bassinet.registry.problems import show
from bassinet.registry.store import database_url
from bassinet.registry.summary import summarise

app = typer.Typer(
    name="bassinet",
    help="Bassinet: registry, rules and survival statistics for infant acute leukemia studies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
patients_app = typer.Typer(help="List or show the registry's patients.", no_args_is_help=True)
app.add_typer(patients_app, name="patients")

out = Console()
err = Console(stderr=True)
T = TypeVar("T")

Registry = Annotated[
    str | None,
    typer.Option(
        "--registry",
        "-r",
        metavar="URL",
        help="Database URL (default: $BASSINET_DATABASE_URL, else sqlite:///bassinet.db).",
    ),
]
PROGRESS_THRESHOLD = 300


def _run(action: Callable[[], T]) -> T:
    """Run ``action``; print Bassinet's own errors as messages with a distinct exit code."""
    try:
        return action()
    except DataError as exc:
        err.print(f"[bold red]error:[/] {console_markup(exc)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except BassinetError as exc:
        err.print(f"[bold red]error:[/] {console_markup(exc)}", highlight=False, soft_wrap=True)
        raise typer.Exit(3) from None


@contextmanager
def _open_registry(url: str | None) -> Iterator[Engine]:
    """An engine on the registry at ``url``, disposed of when the command is done."""
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def _option_date(option: str, text: str) -> dt.date:
    """A YYYY-MM-DD command-line date; a ConfigurationError naming the option otherwise."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigurationError(f"{option} is {text!r}: give a date as YYYY-MM-DD") from None


def _actor(user: str | None) -> str:
    if user:
        return user
    if os.environ.get("BASSINET_USER"):
        return os.environ["BASSINET_USER"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid-{os.getuid()}"


@app.callback(invoke_without_command=True)
def main(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        out.print(f"bassinet {__version__}")
        raise typer.Exit()


@app.command()
def init(registry: Registry = None) -> None:
    """Create the registry, or migrate it to this version's schema."""
    before, after = _run(lambda: init_registry(registry))
    where = database_url(registry)
    if before == after:
        out.print(f"registry at {where} is up to date (schema {after})")
    elif before is None:
        out.print(f"created the registry at {where} (schema {after})")
    else:
        out.print(f"migrated the registry at {where} from schema {before} to {after}")


@contextmanager
def _progress_bar(total_rows: int, *, dry_run: bool = False) -> Iterator[Callable[[str, int, int], None]]:
    # A dry run writes nothing: it must not announce "writing 60 patient(s)".
    writing = "rehearsing the write of" if dry_run else "writing"
    if total_rows <= PROGRESS_THRESHOLD:

        def quiet(phase: str, done: int, total: int) -> None:
            if phase == "writing" and done == 0:
                err.print(f"{writing} {total} patient(s)", highlight=False)

        yield quiet
        return
    columns = (
        TextColumn("{task.description:10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=False) as bar:
        tasks: dict[str, TaskID] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                if phase == "writing":
                    err.print(f"{writing} {total} patient(s)", highlight=False)
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update


def _count_rows(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        if path.suffix.lower() in (".csv", ".tsv", ".txt") and path.is_file():
            with path.open("rb") as handle:
                total += sum(1 for _ in handle)
        elif path.is_file():
            total += path.stat().st_size // 60
    return total


def _print_report(report: ImportReport) -> None:
    if report.dry_run:
        _print_dry_run(report)
        return
    table = Table(title=f"import run {report.import_run_id}")
    for column in ("sheet", "read", "inserted", "updated", "unchanged", "deleted", "rejected"):
        table.add_column(column, justify="left" if column == "sheet" else "right")
    for name, count in report.counts.items():
        table.add_row(
            name,
            *(
                str(getattr(count, f))
                for f in ("read", "inserted", "updated", "unchanged", "deleted", "rejected")
            ),
        )
    out.print(table)
    if report.quarantine is not None:
        out.print(
            f"[yellow]{len(report.rejected)} problem(s); the rejected rows and their reasons "
            f"are in {console_markup(report.quarantine)}[/]"
        )
    elif not report.changed:
        out.print("nothing changed: the registry already holds these records")


def _print_dry_run(report: ImportReport) -> None:
    added = [c for c in report.changes if c.action == "insert"]
    changed = [c for c in report.changes if c.action == "update"]
    deleted = [c for c in report.changes if c.action == "delete"]
    out.print("dry run: nothing was written", highlight=False)
    patients_added = sorted({str(c.study_id) for c in added if c.table == "patient"})
    out.print(
        f"would add {len(patients_added)} patient(s): {', '.join(patients_added) or '-'}", highlight=False
    )
    other = sorted({f"{c.study_id} {c.table}" for c in added if c.table != "patient"})
    out.print(f"would add {len(other)} other record(s)", highlight=False)
    out.print(f"would change {len(changed)} field(s):", highlight=False)
    for change in changed:
        out.print(
            f"  {change.study_id} {change.table}.{change.field}: {change.old or 'empty'} -> "
            f"{change.new or 'empty'}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    if deleted:
        records = sorted({f"{c.study_id} {c.table}" for c in deleted})
        out.print(
            f"would delete {len(records)} record(s): {', '.join(records)}", highlight=False, markup=False
        )
    out.print(f"would refuse {len(report.rejected)} problem(s):", highlight=False)
    for problem in report.rejected:
        out.print(f"  {problem}", highlight=False, markup=False, soft_wrap=True)
    if report.rejected:
        # A dry run answers "would this import go through?": with a problem it would not
        # (without --quarantine the whole import is refused), so the exit status says so.
        err.print(
            f"[bold red]error:[/] {len(report.rejected)} problem(s): without --quarantine this import "
            "would be refused as a whole; with --quarantine FILE the patients listed above as "
            "added or changed would be committed and the refused rows written to FILE",
            highlight=False,
        )
        raise typer.Exit(1)


@app.command("import")
def import_(
    patients: Annotated[
        Path,
        typer.Argument(help="Patients CSV (one row per patient), or an XLSX workbook with every sheet."),
    ],
    remissions: Annotated[Path | None, typer.Option(help="CSV of remission assessments.")] = None,
    mrd: Annotated[Path | None, typer.Option(help="CSV of MRD measurements.")] = None,
    courses: Annotated[Path | None, typer.Option(help="CSV of treatment courses.")] = None,
    transplants: Annotated[Path | None, typer.Option(help="CSV of transplants.")] = None,
    events: Annotated[Path | None, typer.Option(help="CSV of events.")] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(help="YAML file mapping the centre's column names and codes onto the registry's."),
    ] = None,
    quarantine: Annotated[
        Path | None,
        typer.Option(
            help="Commit the valid patients and write rejected rows with their reasons to this CSV."
        ),
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Encoding of CSV files (default UTF-8), e.g. latin-1.")
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(help="Who runs the import, for the audit trail (default: $BASSINET_USER or login)."),
    ] = None,
    reason: Annotated[
        str | None,
        typer.Option(help="Why the records change; stored in the audit trail; needed to move a patient."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be added, changed and refused; write nothing.")
    ] = False,
    registry: Registry = None,
) -> None:
    """Check and import patients; by default all or nothing, with every problem listed."""
    long_sheets = {
        name: path
        for name, path in (
            ("remissions", remissions),
            ("mrd", mrd),
            ("courses", courses),
            ("transplants", transplants),
            ("events", events),
        )
        if path is not None
    }

    def work() -> ImportReport:
        loaded = load_mapping(mapping)
        if encoding:
            loaded = loaded.model_copy(update={"encoding": encoding})
        rows = _count_rows([patients, *long_sheets.values()])
        with _open_registry(registry) as engine, _progress_bar(rows, dry_run=dry_run) as progress:
            return import_files(
                engine,
                patients,
                long_sheets=long_sheets,
                mapping=loaded,
                actor=_actor(user),
                quarantine=None if dry_run else quarantine,
                progress=progress,
                reason=reason,
                dry_run=dry_run,
            )

    _print_report(_run(work))


@app.command()
def export(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the tables to.")] = Path("export"),
    fmt: Annotated[
        str, typer.Option("--format", help="csv, parquet, fhir, odm or dataset-json (see docs/exchange.md).")
    ] = "csv",
    deidentify: Annotated[
        Path | None,
        typer.Option(
            "--deidentify",
            metavar="KEYFILE",
            help="De-identify with this key file (`bassinet deidentify-key`): hashed ids, shifted dates.",
        ),
    ] = None,
    registry: Registry = None,
) -> None:
    """Write the registry, logged in `bassinet exports`.

    CSV is the import format (re-importable) with the audit log; Parquet every table.
    FHIR, ODM, Dataset-JSON and every --deidentify export are written by the exchange
    package, as `bassinet export-as` writes them (more options there).
    """
    formats = ("csv", "parquet", "fhir", "odm", "dataset-json")
    if fmt not in formats:
        err.print(
            f"[bold red]error:[/] --format {console_markup(repr(fmt))} is not one of {', '.join(formats)}"
        )
        raise typer.Exit(2)
    if fmt not in ("csv", "parquet") or deidentify is not None:

        def release() -> list[Path]:
            from bassinet.exchange import FORMATS, export_registry

            chosen = next(f for f in FORMATS if f == fmt)  # the literal type the exchange package takes
            with _open_registry(registry) as engine:
                return export_registry(engine, chosen, out_dir, actor=_actor(None), key_file=deidentify).files

        for path in _run(release):
            out.print(console_cell(path))
        return
    chosen: Literal["csv", "parquet"] = "csv" if fmt == "csv" else "parquet"

    def work() -> list[Path]:
        with _open_registry(registry) as engine:
            from bassinet.exchange import record_export  # every export is logged (`bassinet exports`)
            from bassinet.registry.frames import export_tables, patient_ids
            from bassinet.registry.store import require_current

            require_current(engine)
            if chosen == "csv":  # streamed: a chunk of patients at a time (issue 16)
                from bassinet.registry.import_format import export_chunks, write_rows

                check_output_folder(out_dir, option="--out")
                with registry_session(engine, actor="bassinet export") as session:
                    written = list(write_rows(export_chunks(session), out_dir).values())
            else:
                written = export_tables(engine, out_dir, fmt=chosen)
            paths = [*written, write_audit_log(engine, out_dir / f"audit_log.{chosen}", fmt=chosen)]
            record_export(
                engine,
                actor=_actor(None),
                fmt=chosen,
                files=paths,
                patient_ids=patient_ids(engine),
                scope={"patients": "all", "audit_trail": True},
            )
            return paths

    for path in _run(work):
        out.print(console_cell(path))


@app.command()
def audit(
    patient: Annotated[str, typer.Argument(help="The patient's study ID.")],
    centre: Annotated[str | None, typer.Option(help="The centre, if the study ID repeats.")] = None,
    registry: Registry = None,
) -> None:
    """Show the history of one patient's records, oldest change first."""

    def work() -> Table:
        with _open_registry(registry) as engine:
            from bassinet.registry.store import require_current

            require_current(engine)
            with registry_session(engine, actor="bassinet audit") as session:
                found = find_patient(session, patient, centre=centre)
                entries = history(session, found.id)
                from sqlalchemy import select

                from bassinet.registry import models as m

                centres = {str(i): n for i, n in session.execute(select(m.Centre.id, m.Centre.name))}

        def value(field: str, stored: str | None) -> str:
            # A move is stored as centre row ids; show the centre's name with its id.
            if field == "centre_id" and stored in centres:
                return f"{centres[stored]} ({stored})"
            return stored or ""

        table = Table(title=console_markup(f"audit trail of {patient} ({found.centre.name})"))
        for column in (
            "when (UTC)",
            "who",
            "action",
            "table",
            "record",
            "field",
            "old",
            "new",
            "import",
            "reason",
        ):
            table.add_column(column)
        for e in entries:
            table.add_row(
                *map(
                    console_cell,
                    (
                        e.at.strftime("%Y-%m-%d %H:%M:%S"),
                        e.actor,
                        e.action,
                        e.table_name,
                        e.record_id,
                        e.field,
                        value(e.field, e.old_value),
                        value(e.field, e.new_value),
                        e.import_run_id or "",
                        e.reason or "no reason given",
                    ),
                )
            )
        return table

    out.print(_run(work))


@patients_app.command("list")
def patients_list(
    centre: Annotated[str | None, typer.Option(help="Only this centre.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows (0: all).")] = 50,
    registry: Registry = None,
) -> None:
    """List patients with their diagnosis and follow-up."""

    def work() -> Table:
        with _open_registry(registry) as engine:
            rows, total = patient_page(engine, centre=centre, limit=limit)
        table = Table(title=f"{total} patient(s)")
        widest = max((len(show(row[0])) for row in rows), default=0)
        for column in PATIENT_LIST_COLUMNS:
            if column == "study_id":
                # The study ID is what every other command takes: never cut it to 'P2026-0…'.
                table.add_column(column, no_wrap=True, min_width=max(widest, len(column)))
            else:
                table.add_column(column)
        for row in rows:
            table.add_row(*(console_cell(show(x)) for x in row))
        if limit > 0 and total > limit:
            table.caption = f"first {limit} of {total}; --limit 0 shows all"
        return table

    out.print(_run(work))


@patients_app.command("show")
def patients_show(
    patient: Annotated[str, typer.Argument(help="The patient's study ID.")],
    centre: Annotated[str | None, typer.Option(help="The centre, if the study ID repeats.")] = None,
    registry: Registry = None,
) -> None:
    """Show every record of one patient."""

    def work() -> list[Table]:
        with _open_registry(registry) as engine:
            from bassinet.registry.store import require_current

            require_current(engine)
            with registry_session(engine, actor="bassinet patients show") as session:
                found = find_patient(session, patient, centre=centre)
                tables = [_record_table(f"patient {patient}", [found], exclude={"id", "centre_id"})]
                group = found.centre.study_group
                tables[0].add_row("centre", console_cell(found.centre.name))
                tables[0].add_row("study_group", console_cell(group.name if group else ""))
                for title, rows in (
                    ("remissions", found.remissions),
                    ("MRD", found.mrd),
                    ("courses", found.courses),
                    ("transplants", found.transplants),
                    ("events", found.events),
                ):
                    if rows:
                        tables.append(_rows_table(title, rows))
                return tables

    for table in _run(work):
        out.print(table)


def _fields(obj: object, exclude: set[str]) -> list[str]:
    from sqlalchemy import inspect

    return [a.key for a in inspect(obj).mapper.column_attrs if a.key not in exclude]


def _record_table(title: str, objs: list[object], exclude: set[str]) -> Table:
    table = Table(title=console_markup(title), show_header=False)
    table.add_column("field")
    table.add_column("value")
    for name in _fields(objs[0], exclude):
        value = getattr(objs[0], name)
        table.add_row(name, console_cell(show(getattr(value, "value", value))))
    return table


def _rows_table(title: str, rows: Sequence[object]) -> Table:
    names = _fields(rows[0], {"patient_id"})
    table = Table(title=title)
    for name in names:
        table.add_column(name)
    for row in rows:
        values = (getattr(row, n) for n in names)
        table.add_row(*(console_cell(show(getattr(x, "value", x))) for x in values))
    return table


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the demo registry.")] = Path(
        "bassinet-demo"
    ),
) -> None:
    """Simulate both calibrated cohorts into a fresh SQLite registry, run both plans, write both reports."""
    from bassinet.cli_report import make_report
    from bassinet.plans import shipped_plan
    from bassinet.simulate import simulate_hsct_infants, simulate_interfant06, write_csv

    def work() -> None:
        database = out_dir / "registry.db"
        if database.exists():
            raise ConfigurationError(
                f"{database} exists: the demo never overwrites a registry; remove it or choose another --out"
            )
        out_dir.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{database.resolve()}"
        init_registry(url)
        from bassinet.simulate.interfant99 import simulate_interfant99

        cohorts = {
            "interfant06": simulate_interfant06(seed=DEMO_SEEDS["interfant06"]),
            "hsct-infants": simulate_hsct_infants(seed=DEMO_SEEDS["hsct-infants"]),
            # Interfant-06's historical control, for its plan's comparison of the two protocols
            "interfant99": simulate_interfant99(seed=DEMO_SEEDS["interfant99"]),
        }
        with _open_registry(url) as engine:
            for name, rows in cohorts.items():
                paths = write_csv(rows, out_dir / "cohorts" / name)
                patients = paths.pop("patients")
                out.print(f"\n[bold]{name}[/] (seed {DEMO_SEEDS[name]}): importing {patients.parent}")
                with _progress_bar(_count_rows([patients, *paths.values()])) as progress:
                    report = import_files(
                        engine, patients, long_sheets=paths, actor="bassinet demo", progress=progress
                    )
                _print_report(report)
            _print_summary(read_frames(engine))
        reports = out_dir / "reports"
        # interfant06-interim: the randomised comparison's design monitored at its second interim
        for name in ("interfant06", "interfant06-interim", "hsct-infants"):
            plan = shipped_plan(name)
            cohort = "interfant06" if name.startswith("interfant06") else name
            with err.status(f"running the plan {plan.name} and writing its report"):
                label = f"seed {DEMO_SEEDS[cohort]}" + (
                    f"; Interfant-99 seed {DEMO_SEEDS['interfant99']}" if name == "interfant06" else ""
                )
                written = make_report(plan, url, reports, simulation=label)
            result = json.loads(written[1].read_text(encoding="utf-8"))
            out.print(f"\n[bold]{result['title']}[/] (simulated cohort, seed {DEMO_SEEDS[cohort]})")
            for analysis in result["analyses"]:
                if analysis["sentence"]:
                    out.print(f"  {analysis['sentence']}", highlight=False)
            interim = result.get("interim") or {}
            if interim.get("sentence") or interim.get("not_estimable"):
                text = interim["sentence"] or f"interim analysis not estimable: {interim['not_estimable']}"
                out.print(f"  {text}", highlight=False)
            for path in written:
                out.print(f"  wrote {path}", highlight=False, soft_wrap=True)
        out.print(
            f"\nregistry: {database} (try: bassinet patients list --registry {url})\n"
            f"reports: {reports.resolve()}/ (open the .html files in a browser)\n"
            "how the simulated cohorts compare with the papers over many seeds: "
            "bassinet simulate calibrate interfant06",
            soft_wrap=True,
        )

    _run(work)


#: The demo shows a typical cohort: of seeds 1-60, the replicate whose figures lie closest
#: to the published ones (sum of squared differences in units of the replicates' standard
#: deviation, P values left out). The spread over seeds is what ``simulate calibrate`` shows.
DEMO_SEEDS = {"interfant06": 33, "hsct-infants": 41, "interfant99": 10}


def _print_summary(frames: object) -> None:
    from bassinet.registry.frames import RegistryFrames

    assert isinstance(frames, RegistryFrames)
    summary = summarise(frames)
    years = (
        f", diagnosed {summary.diagnosis_years[0]}-{summary.diagnosis_years[1]}"
        if summary.diagnosis_years
        else ""
    )
    out.print(
        f"\n[bold]{summary.patients} patients[/] in {summary.centres} centres of "
        f"{summary.study_groups} study groups{years}"
    )
    table = Table(title="leukemia type by KMT2A status")
    table.add_column("type")
    for column in summary.by_type_and_kmt2a.columns:
        table.add_column(str(column), justify="right")
    for index, row in summary.by_type_and_kmt2a.iterrows():
        table.add_row(console_cell(index), *(str(int(x)) for x in row))
    out.print(table)
    for title, series in (
        ("events", summary.events),
        ("transplants by donor", summary.transplants_by_donor),
        ("vital status", summary.vital_status),
    ):
        small = Table(title=title)
        small.add_column(title.split()[0])
        small.add_column("n", justify="right")
        for key, value in series.items():
            small.add_row(console_cell(key), str(int(value)))
        out.print(small)
    if summary.follow_up_days_median is not None:
        out.print(
            f"median time from diagnosis to last contact of living patients: "
            f"{summary.follow_up_days_median / 30.4375:.1f} months"
        )


@app.command()
def stratify(
    patient: Annotated[str | None, typer.Argument(help="A patient's study ID (or --all).")] = None,
    all_patients: Annotated[bool, typer.Option("--all", help="Every patient in the registry.")] = False,
    protocol: Annotated[str, typer.Option(help="The protocol whose rules to apply.")] = "interfant-06",
    user: Annotated[str | None, typer.Option(help="Who runs it, for the audit trail.")] = None,
    registry: Registry = None,
) -> None:
    """Evaluate the protocol's risk rules and store each patient's group with its reasons."""
    from bassinet.protocols.service import stratify as run_stratify

    if (patient is None) == (not all_patients):
        err.print("[bold red]error:[/] name one PATIENT or give --all")
        raise typer.Exit(2)

    def work() -> Table:
        with _open_registry(registry) as engine:
            results = run_stratify(
                engine,
                actor=_actor(user),
                protocol=protocol,
                study_ids=None if all_patients else [str(patient)],
            )
        table = Table(title=f"{protocol}: {len(results)} patient(s)")
        for column in ("study_id", "group", "change", "reasons or missing facts"):
            table.add_column(column)
        for r in results:
            change = r.change if r.change != "changed" else f"changed from {r.previous_group or 'none'}"
            missing = [f"missing {m}" for m in r.decision.missing]
            why = "; ".join(r.decision.reasons) or "; ".join(missing + list(r.decision.notes))
            if r.decision.outcome is None and r.decision.reasons and missing:
                # No group although some criteria hold: say what is missing, not only what holds.
                why = "; ".join(missing) + "; " + why
            table.add_row(*map(console_cell, (r.study_id, r.decision.outcome or "none", change, why)))
        return table

    out.print(_run(work))


KeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key",
        metavar="PATH",
        help="The randomisation key file (default: $BASSINET_RANDOMISATION_KEY).",
    ),
]


@app.command()
def randomise(
    patient: Annotated[str | None, typer.Argument(help="The study ID of the patient to randomise.")] = None,
    show_balance: Annotated[
        bool, typer.Option("--balance", help="Show the allocations so far (recorded; see --role).")
    ] = False,
    role: Annotated[
        str | None,
        typer.Option(
            help="With --balance: unblinded-statistician (by stratum), trial-statistician or "
            "trial-office (totals)."
        ),
    ] = None,
    init_key: Annotated[
        Path | None,
        typer.Option(
            "--init-key", metavar="PATH", help="Create the registry's key file (mode 0600) and exit."
        ),
    ] = None,
    key: KeyOption = None,
    on: Annotated[str | None, typer.Option(help="Date of the request, YYYY-MM-DD (default: today).")] = None,
    centre: Annotated[str | None, typer.Option(help="The centre, if the study ID repeats.")] = None,
    user: Annotated[str | None, typer.Option(help="Who randomises, for the audit trail.")] = None,
    registry: Registry = None,
) -> None:
    """Randomise an eligible Interfant-06 patient between IB and ADE + MAE (concealed, stratified), once."""
    from bassinet.protocols import randomise as rnd
    from bassinet.protocols.keyfile import init_key as create_key

    if sum((patient is not None, show_balance, init_key is not None)) != 1:
        err.print("[bold red]error:[/] name one PATIENT, or give --balance, or --init-key PATH")
        raise typer.Exit(2)

    def work() -> None:
        with _open_registry(registry) as engine:
            if init_key is not None:
                printed = create_key(engine, init_key, protocol=rnd.PROTOCOL, actor=_actor(user))
                out.print(
                    f"wrote the randomisation key to {init_key} (mode 0600; keep it outside the registry "
                    f"and its backups); the registry keeps its fingerprint {printed[:12]}...",
                    highlight=False,
                    soft_wrap=True,
                )
                return
            if show_balance:
                if role is None:
                    raise DataError(f"--balance needs --role (one of {', '.join(rnd.BALANCE_ROLES)})")
                rows = rnd.balance(engine, actor=_actor(user), role=role)
                table = Table(title=f"allocations ({rnd.BALANCE_ROLES[role]})")
                for column in ("stratum", *rnd.ARMS, "total"):
                    table.add_column(column, justify="left" if column == "stratum" else "right")
                for row in rows:
                    table.add_row(
                        console_cell(row.stratum),
                        *(str(row.counts[a]) for a in rnd.ARMS),
                        str(sum(row.counts.values())),
                    )
                out.print(table)
                out.print(f"this view is recorded ({role})", highlight=False)
                return
            when = _option_date("--on", on) if on else None
            result = rnd.randomise(engine, str(patient), actor=_actor(user), key=key, centre=centre, on=when)
        out.print(
            f"{console_markup(result.study_id)} allocated: [bold]{result.arm}[/] "
            f"(stratum {console_markup(result.stratum)}, randomisation date {result.allocated_on}, "
            f"decision {result.decision_id} of {console_markup(result.protocol_version)})",
            soft_wrap=True,
        )

    _run(work)


@app.command()
def unblind(
    stratum: Annotated[str, typer.Option(help="The stratum, as --balance shows it (e.g. 'MR / DCOG').")],
    reason: Annotated[str, typer.Option(help="Why the sequence must be seen; recorded.")],
    positions: Annotated[int, typer.Option(help="How many positions to show.")] = 20,
    key: KeyOption = None,
    user: Annotated[str | None, typer.Option(help="Who unblinds, for the audit trail.")] = None,
    registry: Registry = None,
) -> None:
    """Show a stratum's allocation sequence. Explicit, and recorded with who and why."""
    from bassinet.protocols.randomise import unblind as run_unblind

    def work() -> list[str]:
        with _open_registry(registry) as engine:
            return run_unblind(
                engine, stratum, actor=_actor(user), reason=reason, positions=positions, key=key
            )

    arms = _run(work)
    out.print(f"sequence of {console_markup(stratum)} (this unblinding is recorded):")
    for position, arm in enumerate(arms):
        out.print(f"  {position:>4}  {arm}")


@app.command()
def explain(
    patient: Annotated[str, typer.Argument(help="The patient's study ID.")],
    audience: Annotated[str, typer.Option("--for", help="clinician or family.")] = "clinician",
    as_html: Annotated[bool, typer.Option("--html", help="HTML instead of Markdown.")] = False,
    centre: Annotated[str | None, typer.Option(help="The centre, if the study ID repeats.")] = None,
    registry: Registry = None,
) -> None:
    """Explain what applies to the patient: protocol and state first, then the decisions."""
    from sqlalchemy import select

    from bassinet.protocols.explain import explain_patient
    from bassinet.protocols.service import facts_of, state_of
    from bassinet.registry import models as m

    if audience not in ("clinician", "family"):
        err.print(f"[bold red]error:[/] --for {console_markup(repr(audience))} is not clinician or family")
        raise typer.Exit(2)

    def work() -> str:
        with _open_registry(registry) as engine:
            from bassinet.registry.store import require_current

            require_current(engine)
            with registry_session(engine, actor="bassinet explain") as session:
                found = find_patient(session, patient, centre=centre)
                allocation = session.scalars(
                    select(m.Allocation).where(m.Allocation.patient_id == found.id)
                ).first()
                facts = facts_of(found)
                state = state_of(found, allocation)
        document = explain_patient(facts, state, audience=audience)  # type: ignore[arg-type]
        return document.html() if as_html else document.markdown()

    sys.stdout.write(_run(work))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())


# The simulate commands live in their own module, which reuses the helpers above.
from bassinet.cli_simulate import simulate_app  # noqa: E402

app.add_typer(simulate_app, name="simulate")
import bassinet.cli_access  # noqa: E402  (registers `bassinet users` and `bassinet tokens`)
import bassinet.cli_design  # noqa: E402  (registers `bassinet design`)
import bassinet.cli_exchange  # noqa: E402  (registers export-as, exports, import-redcap, ...)
import bassinet.cli_federate  # noqa: E402  (registers `bassinet federate`)
import bassinet.cli_records  # noqa: E402  (registers `correct`, `delete`, `merge`, `move`)
import bassinet.cli_report  # noqa: E402, F401  (registers `bassinet report` and `bassinet endpoints`)
