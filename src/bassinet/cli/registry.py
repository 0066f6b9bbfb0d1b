"""``bassinet init``, ``import``, ``export``, ``audit``, ``patients``, ``demo``, ``stratify``,
``randomise``, ``unblind`` and ``explain``: the registry and the protocol at the terminal.

Thin: each command parses its options, calls one function of :mod:`bassinet.application`
as the local operator, and prints. Errors that Bassinet raises on purpose are printed as
one clear message, never a traceback: exit code 1 for data that break a rule, 3 for a
registry or setting that is not usable; Typer itself uses 2 for a mistaken command line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bassinet.cli._common import (
    Registry,
    _actor,
    _count_rows,
    _open_registry,
    _option_date,
    _print_report,
    _progress_bar,
    _run,
    app,
    console_markup,
    err,
    out,
)
from bassinet.errors import ConfigurationError

if TYPE_CHECKING:
    from rich.table import Table
    from rich.text import Text

    from bassinet.registry import ImportReport

patients_app = typer.Typer(help="List or show the registry's patients.", no_args_is_help=True)
app.add_typer(patients_app, name="patients")


def console_cell(value: object) -> Text:
    """``value`` as a terminal table cell shown as text (:mod:`bassinet.registry.escaping`)."""
    from bassinet.registry.escaping import console_cell as cell

    return cell(value)


def show(value: object) -> str:
    """A stored value as the registry shows it (dates as YYYY-MM-DD, empty as '')."""
    from bassinet.registry.problems import show as shown

    return shown(value)


@app.command()
def init(registry: Registry = None) -> None:
    """Create the registry, or migrate it to this version's schema."""
    from bassinet.registry import database_url, init_registry

    before, after = _run(lambda: init_registry(registry))
    where = database_url(registry)
    if before == after:
        out.print(f"registry at {where} is up to date (schema {after})")
    elif before is None:
        out.print(f"created the registry at {where} (schema {after})")
    else:
        out.print(f"migrated the registry at {where} from schema {before} to {after}")


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
        from bassinet.application.records import import_records

        rows = _count_rows([patients, *long_sheets.values()])
        with _open_registry(registry) as engine, _progress_bar(rows, dry_run=dry_run) as progress:
            return import_records(
                _actor(user),
                engine,
                patients,
                long_sheets=long_sheets,
                mapping=mapping,
                encoding=encoding,
                quarantine=quarantine,
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

    def work() -> list[Path]:
        from bassinet.application.exports import export as run_export

        with _open_registry(registry) as engine:
            done = run_export(_actor(None), engine, fmt, out_dir, key_file=deidentify, with_audit_trail=True)
        return list(done.files)

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
        from rich.table import Table

        from bassinet.application.records import audit_trail

        with _open_registry(registry) as engine:
            trail = audit_trail(_actor(None), engine, patient, centre=centre)
        centres = trail.centre_names

        def value(field: str, stored: str | None) -> str:
            # A move is stored as centre row ids; show the centre's name with its id.
            if field == "centre_id" and stored is not None and stored in centres:
                return f"{centres[stored]} ({stored})"
            return stored or ""

        table = Table(title=console_markup(f"audit trail of {patient} ({trail.centre})"))
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
        for e in trail.entries:
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
        from rich.table import Table

        from bassinet.application.records import list_patients

        with _open_registry(registry) as engine:
            page = list_patients(_actor(None), engine, centre=centre, limit=limit)
        rows, total = page.rows, page.total
        table = Table(title=f"{total} patient(s)")
        widest = max((len(show(row[0])) for row in rows), default=0)
        for column in page.columns:
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
        from rich.table import Table

        from bassinet.application.records import patient_records

        with _open_registry(registry) as engine:
            found = patient_records(_actor(None), engine, patient, centre=centre)
        first = Table(title=console_markup(f"patient {patient}"), show_header=False)
        first.add_column("field")
        first.add_column("value")
        for name, value in found.fields:
            first.add_row(name, console_cell(show(value)))
        first.add_row("centre", console_cell(found.centre))
        first.add_row("study_group", console_cell(found.study_group))
        tables = [first]
        for title, names, rows in found.tables:
            table = Table(title=title)
            for name in names:
                table.add_column(name)
            for row in rows:
                table.add_row(*(console_cell(show(x)) for x in row))
            tables.append(table)
        return tables

    for table in _run(work):
        out.print(table)


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the demo registry.")] = Path(
        "bassinet-demo"
    ),
) -> None:
    """Simulate both calibrated cohorts into a fresh SQLite registry, run both plans, write both reports."""
    from collections import Counter

    from bassinet.application.protocol import stratify
    from bassinet.application.records import import_records
    from bassinet.application.reports import run_report, simulated_import_reason
    from bassinet.plans import shipped_plan
    from bassinet.registry import init_registry, read_frames
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
                    report = import_records(
                        _actor("bassinet demo"),
                        engine,
                        patients,
                        long_sheets=paths,
                        progress=progress,
                        reason=simulated_import_reason(name, DEMO_SEEDS[name]),
                    )
                _print_report(report)
            # The Interfant-06 patients get their risk groups, as a registry in use has them.
            interfant06_ids = [str(row["study_id"]) for row in cohorts["interfant06"]["patients"]]
            stratified = stratify(_actor("bassinet demo"), engine, study_ids=interfant06_ids)
            groups = Counter(s.decision.outcome or "not stratified" for s in stratified)
            out.print(
                f"\n[bold]interfant06[/]: stratified {len(interfant06_ids)} patients ("
                + ", ".join(f"{count} {group}" for group, count in sorted(groups.items()))
                + ")"
            )
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
                done = run_report(_actor("bassinet demo"), url, plan, reports, simulation=label)
            if done.pdf_problem:
                err.print(f"[yellow]{console_markup(done.pdf_problem)}[/]")
            written = done.paths
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
        _demo_accounts(url)  # accounts for `bassinet serve`
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
    from rich.table import Table

    from bassinet.registry.frames import RegistryFrames
    from bassinet.registry.summary import summarise

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
    from bassinet.application.protocol import stratify as run_stratify

    if (patient is None) == (not all_patients):
        err.print("[bold red]error:[/] name one PATIENT or give --all")
        raise typer.Exit(2)

    def work() -> Table:
        from rich.table import Table

        with _open_registry(registry) as engine:
            results = run_stratify(
                _actor(user), engine, protocol=protocol, study_ids=None if all_patients else [str(patient)]
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
    from bassinet.application import protocol as use

    if sum((patient is not None, show_balance, init_key is not None)) != 1:
        err.print("[bold red]error:[/] name one PATIENT, or give --balance, or --init-key PATH")
        raise typer.Exit(2)

    def work() -> None:
        from rich.table import Table

        with _open_registry(registry) as engine:
            if init_key is not None:
                printed = use.init_key(_actor(user), engine, init_key)
                out.print(
                    f"wrote the randomisation key to {init_key} (mode 0600; keep it outside the registry "
                    f"and its backups); the registry keeps its fingerprint {printed[:12]}...",
                    highlight=False,
                    soft_wrap=True,
                )
                return
            if show_balance:
                seen = use.balance(_actor(user), engine, role=role)
                table = Table(title=f"allocations ({seen.detail})")
                for column in ("stratum", *seen.arms, "total"):
                    table.add_column(column, justify="left" if column == "stratum" else "right")
                for row in seen.rows:
                    table.add_row(
                        console_cell(row.stratum),
                        *(str(row.counts[a]) for a in seen.arms),
                        str(sum(row.counts.values())),
                    )
                out.print(table)
                out.print(f"this view is recorded ({role})", highlight=False)
                return
            when = _option_date("--on", on) if on else None
            result = use.randomise(_actor(user), engine, str(patient), key=key, centre=centre, on=when)
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
    from bassinet.application.protocol import unblind as run_unblind

    def work() -> list[str]:
        with _open_registry(registry) as engine:
            return run_unblind(_actor(user), engine, stratum, reason=reason, positions=positions, key=key)

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
    from bassinet.application.protocol import explain as run_explain

    if audience not in ("clinician", "family"):
        err.print(f"[bold red]error:[/] --for {console_markup(repr(audience))} is not clinician or family")
        raise typer.Exit(2)

    def work() -> str:
        with _open_registry(registry) as engine:
            found = run_explain(_actor(None), engine, patient, audience=audience, centre=centre)  # type: ignore[arg-type]
        return found.html if as_html else found.markdown

    sys.stdout.write(_run(work))


def _demo_accounts(url: str) -> None:
    """Create the demo accounts on the demo registry at ``url`` and print how to serve and sign in."""
    from bassinet.application.demo import create_demo_accounts
    from bassinet.registry import make_engine

    engine = make_engine(url)
    try:
        made = create_demo_accounts(engine)
    finally:
        engine.dispose()
    out.print("\n[bold]Web application[/]: serve this registry with", highlight=False)
    out.print(f"  bassinet serve --registry {url}", highlight=False, markup=False, soft_wrap=True)
    out.print(
        f"then open http://127.0.0.1:8000/ and sign in with one of these accounts, password {made.password}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    for account in made.accounts:
        line = f"  {account.username:<13} {account.grant}"
        if account.totp_secret:
            line += f"; TOTP secret {account.totp_secret} (add it to an authenticator app)"
        out.print(line, highlight=False, markup=False, soft_wrap=True)
