"""``bassinet correct``, ``delete``, ``merge`` and ``move``: changes after first entry, each with a reason.

Thin: the work and the rules are in :mod:`bassinet.registry.corrections`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from bassinet.cli import Registry, _actor, _open_registry, _run, app, out
from bassinet.errors import DataError

Reason = Annotated[str | None, typer.Option(help="Why the change is made; stored in the audit trail.")]
User = Annotated[str | None, typer.Option(help="Who makes the change (default: $BASSINET_USER or login).")]


@app.command()
def correct(
    patient: Annotated[str, typer.Argument(help="The patient's study ID.")],
    changes: Annotated[
        list[str], typer.Argument(help="FIELD=VALUE, as in an import cell (VALUE empty clears).")
    ],
    reason: Reason = None,
    user: User = None,
    registry: Registry = None,
) -> None:
    """Correct fields of a patient record; the import's rules apply, the reason is audited."""
    from bassinet.registry.corrections import correct as run_correct

    def work() -> None:
        parsed: dict[str, str] = {}
        for change in changes:
            name, equals, value = change.partition("=")
            if not equals or not name.strip():
                raise DataError(f"{change!r} is not FIELD=VALUE")
            parsed[name.strip()] = value.strip()
        with _open_registry(registry) as engine:
            report = run_correct(engine, patient, parsed, reason=reason, actor=_actor(user))
        changed = report.counts["patients"].updated
        out.print(
            f"corrected {patient}: {', '.join(parsed)}" if changed else f"{patient}: nothing changed",
            highlight=False,
        )

    _run(work)


@app.command()
def delete(
    patient: Annotated[str, typer.Argument(help="The patient's study ID.")],
    record: Annotated[
        str | None, typer.Option(help="Only this record, KIND:ID (e.g. events:12; ids in `patients show`).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="FIELD=VALUE of the patient, changed with the deleted record "
            "(e.g. --set vital_status=alive with a death entered in error).",
        ),
    ] = None,
    reason: Reason = None,
    user: User = None,
    registry: Registry = None,
) -> None:
    """Delete a patient (never an allocated one) or one of its records; the audit keeps the old values."""
    from bassinet.registry.corrections import delete as run_delete

    def work() -> None:
        parsed: dict[str, str] = {}
        for change in set_ or []:
            name, equals, value = change.partition("=")
            if not equals or not name.strip():
                raise DataError(f"--set {change!r} is not FIELD=VALUE")
            parsed[name.strip()] = value.strip()
        with _open_registry(registry) as engine:
            run_delete(engine, patient, record=record, reason=reason, actor=_actor(user), changes=parsed)
        out.print(f"deleted {record + ' of ' if record else ''}{patient}", highlight=False)

    _run(work)


@app.command()
def merge(
    keep: Annotated[str, typer.Argument(help="The study ID that stays.")],
    duplicate: Annotated[str, typer.Argument(help="The study ID merged into it and removed.")],
    reason: Reason = None,
    user: User = None,
    registry: Registry = None,
) -> None:
    """Merge a duplicate record of the same child into the one that stays."""
    from bassinet.registry.corrections import merge as run_merge

    def work() -> None:
        with _open_registry(registry) as engine:
            run_merge(engine, keep, duplicate, reason=reason, actor=_actor(user))
        out.print(f"merged {duplicate} into {keep}", highlight=False)

    _run(work)


@app.command()
def move(
    patient: Annotated[str, typer.Argument(help="The patient's study ID.")],
    centre: Annotated[str, typer.Option(help="The centre the patient moves to (a known one).")],
    reason: Reason = None,
    user: User = None,
    registry: Registry = None,
) -> None:
    """Move a patient to another centre: the same patient, never a second one."""
    from bassinet.registry.corrections import move as run_move

    def work() -> None:
        with _open_registry(registry) as engine:
            run_move(engine, patient, centre=centre, reason=reason, actor=_actor(user))
        out.print(f"moved {patient} to {centre}", highlight=False)

    _run(work)
