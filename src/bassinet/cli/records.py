"""``bassinet correct``, ``delete``, ``merge`` and ``move``: changes after first entry, each with a reason.

Thin: each calls one function of :mod:`bassinet.application.records`; the rules are in
:mod:`bassinet.registry.corrections`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from bassinet.cli._common import Registry, _actor, _open_registry, _run, app, out

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
    from bassinet.application.records import correct as run_correct
    from bassinet.application.records import parse_assignments

    def work() -> None:
        parsed = parse_assignments(changes)
        with _open_registry(registry) as engine:
            done = run_correct(_actor(user), engine, patient, parsed, reason=reason)
        out.print(
            f"corrected {patient}: {', '.join(done.fields)}"
            if done.changed
            else f"{patient}: nothing changed",
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
    from bassinet.application.records import delete as run_delete
    from bassinet.application.records import parse_assignments

    def work() -> None:
        parsed = parse_assignments(set_ or [], option="--set")
        with _open_registry(registry) as engine:
            done = run_delete(_actor(user), engine, patient, record=record, changes=parsed, reason=reason)
        out.print(done.sentence, highlight=False)

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
    from bassinet.application.records import merge as run_merge

    def work() -> None:
        with _open_registry(registry) as engine:
            done = run_merge(_actor(user), engine, keep, duplicate, reason=reason)
        out.print(done.sentence, highlight=False)

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
    from bassinet.application.records import move as run_move

    def work() -> None:
        with _open_registry(registry) as engine:
            done = run_move(_actor(user), engine, patient, centre=centre, reason=reason)
        out.print(done.sentence, highlight=False)

    _run(work)
