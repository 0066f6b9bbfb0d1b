"""What every ``bassinet`` command shares: the Typer app, the consoles, the error handling,
the registry option, the acting user and the import report.

Imported by every module of :mod:`bassinet.cli` and importing none of them (no circle).
Kept light on purpose: nothing here imports pandas, NumPy, SciPy or SQLAlchemy when the
module is loaded, so that ``bassinet --help`` and ``--version`` start at once; what a
command needs it imports in its body.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

from bassinet.errors import BassinetError, ConfigurationError, DataError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bassinet.access.policy import Actor
    from bassinet.registry import ImportReport


class _Bassinet(typer.Typer):
    """The command's Typer app, with ``bassinet --version`` answered before Typer parses.

    Typer checks every option's value through pydantic, which alone costs more start-up
    than the rest of the command; the version needs no parsing, so it is printed at once.
    Everything else, ``bassinet --version`` under a test runner included, goes through Typer.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not args and set(kwargs) <= {"prog_name"} and sys.argv[1:] == ["--version"]:
            _print_version()
            raise SystemExit(0)
        import_typer_help_lightly()
        return super().__call__(*args, **kwargs)


class _Deferred(type):
    """The metaclass of a stand-in for a class of a module not imported yet: calling the
    stand-in, or reading any attribute of it, imports the module and uses the real class."""

    _module: str
    _name: str

    def _real(cls) -> Any:
        import importlib

        return getattr(importlib.import_module(cls._module), cls._name)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls._real()(*args, **kwargs)

    def __getattr__(cls, attribute: str) -> Any:
        return getattr(cls._real(), attribute)


#: What Typer's help formatter imports at its top but ``bassinet`` never uses: Markdown
#: (for ``rich_markup_mode="markdown"``; ours is "rich") and Rich tracebacks (ours are off,
#: ``pretty_exceptions_enable=False``). Together with markdown-it and rich.pretty they are
#: a third of ``bassinet --help``'s CPU time (0.28 s instead of 0.42 s, medians of 10).
_UNUSED_BY_HELP = (("rich.markdown", "Markdown"), ("rich.traceback", "Traceback"))


def import_typer_help_lightly() -> None:
    """Import Typer's help formatter (``typer.rich_utils``) without what it never uses here.

    While it is imported, :data:`_UNUSED_BY_HELP` stand in as placeholder modules whose
    classes are :class:`_Deferred`: if ever used they import the real module. The
    placeholders are removed from ``sys.modules`` straight after, so any later import of
    ``rich.markdown`` or ``rich.traceback`` gets the real module. The help printed is the
    same byte for byte (tests/test_cli_help.py).
    """
    import types

    if "typer.rich_utils" in sys.modules:
        return
    placeholders: dict[str, types.ModuleType] = {}
    for module_name, class_name in _UNUSED_BY_HELP:
        if module_name in sys.modules:
            continue
        module = types.ModuleType(module_name)
        stand_in = _Deferred(class_name, (), {"_module": module_name, "_name": class_name})
        setattr(module, class_name, stand_in)
        placeholders[module_name] = module
        sys.modules[module_name] = module
    try:
        import typer.rich_utils  # noqa: F401
    finally:
        for module_name, module in placeholders.items():
            if sys.modules.get(module_name) is module:
                del sys.modules[module_name]


app = _Bassinet(
    name="bassinet",
    help="Bassinet: registry, rules and survival statistics for infant acute leukemia studies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

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


@app.callback(invoke_without_command=True)
def main(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        _print_version()
        raise typer.Exit()


def _print_version() -> None:
    from bassinet import __version__

    out.print(f"bassinet {__version__}")


def console_markup(value: object) -> str:
    """``value`` as Rich markup that shows it as text (see :mod:`bassinet.registry.escaping`)."""
    from bassinet.registry.escaping import console_markup as escape

    return escape(value)


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
    from bassinet.registry import make_engine

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


def _login(user: str | None) -> str:
    """The name the audit trail records: ``user``, else ``$BASSINET_USER``, else the OS login."""
    if user:
        return user
    if os.environ.get("BASSINET_USER"):
        return os.environ["BASSINET_USER"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid-{os.getuid()}"


def _actor(user: str | None = None) -> Actor:
    """The acting user of a command: the local operator.

    Whoever runs ``bassinet`` holds the registry's database URL, and with it every
    right: the CLI acts as the local operator, with every permission over the whole
    study, named (for the audit trail) by ``--user``, else ``$BASSINET_USER``, else the
    operating-system login. The web front end builds its :class:`Actor` from the
    signed-in user's grants instead; both call the same application functions.
    """
    from bassinet.application import local_operator

    return local_operator(_login(user))


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
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

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
    from rich.table import Table

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
