"""``bassinet users`` and ``bassinet tokens``: accounts, grants and personal access tokens.

Passwords are never taken from the command line (where ``ps`` and shell history would
show them): they are prompted for, or read from standard input with ``--password-stdin``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from bassinet.cli._common import Registry, _actor, _open_registry, _run, app, out
from bassinet.errors import DataError

users_app = typer.Typer(
    help="Add, list, disable, enable, unlock users; grant and revoke roles.", no_args_is_help=True
)
tokens_app = typer.Typer(help="Create, list and revoke personal access tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")

User = Annotated[str | None, typer.Option("--user", "-u", help="Who does this (default: $BASSINET_USER).")]
Centre = Annotated[str | None, typer.Option("--centre", help="Scope: one centre, by name.")]
Group = Annotated[str | None, typer.Option("--study-group", help="Scope: every centre of a study group.")]
FullName = Annotated[
    str | None,
    typer.Option("--full-name", help="The name the user's signatures show, e.g. 'Dr A. B'."),
]


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise DataError("no password on standard input")
        return password
    first = typer.prompt("password", hide_input=True)
    second = typer.prompt("repeat password", hide_input=True)
    if first != second:
        raise DataError("the two passwords differ")
    return str(first)


def _show_uri(username: str, uri: str | None) -> None:
    if uri is not None:
        out.print(f"TOTP second factor enrolled for {username}; add it to an authenticator app (shown once):")
        out.print(uri, highlight=False, soft_wrap=True, markup=False)


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="The new account's name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    totp: Annotated[bool, typer.Option("--totp", help="Enrol a TOTP second factor now.")] = False,
    full_name: FullName = None,
    registry: Registry = None,
    user: User = None,
) -> None:
    """Add a local account (password prompted, or read from standard input)."""

    def work() -> None:
        from bassinet.application import admin

        password = _read_password(password_stdin)
        with _open_registry(registry) as engine:
            enrolment = admin.add_user(
                _actor(user), engine, username, password, totp=totp, full_name=full_name
            )
        out.print(f"added user {username}")
        _show_uri(username, enrolment.totp_uri)

    _run(work)


@users_app.command("set-name")
def users_set_name(
    username: Annotated[str, typer.Argument(help="The account.")],
    full_name: Annotated[str, typer.Argument(help="The name its signatures show; '' clears it.")],
    registry: Registry = None,
    user: User = None,
) -> None:
    """Set the full name a user's signatures show (a signature already made keeps its name)."""

    def work() -> None:
        from bassinet.application import admin

        with _open_registry(registry) as engine:
            admin.set_full_name(_actor(user), engine, username, full_name)
        out.print(f"set the full name of {username}")

    _run(work)


@users_app.command("list")
def users_list(registry: Registry = None) -> None:
    """List the accounts and their grants (never a hash or a secret)."""

    def work() -> None:
        from rich.table import Table

        from bassinet.application import admin

        with _open_registry(registry) as engine:
            users = admin.list_users(_actor(None), engine)
        table = Table("user", "status", "TOTP", "grants")
        for u in users:
            status = "disabled" if u.disabled else ("locked" if u.locked else "active")
            table.add_row(u.username, status, "yes" if u.totp_enrolled else "no", "; ".join(u.grants) or "-")
        out.print(table)

    _run(work)


@users_app.command("disable")
def users_disable(username: str, registry: Registry = None, user: User = None) -> None:
    """Disable an account: no sign-in, and its tokens stop working."""

    def work() -> None:
        from bassinet.application import admin

        with _open_registry(registry) as engine:
            admin.disable_user(_actor(user), engine, username)
        out.print(f"disabled user {username}")

    _run(work)


@users_app.command("enable")
def users_enable(username: str, registry: Registry = None, user: User = None) -> None:
    """Enable a disabled account again: it may sign in once more."""

    def work() -> None:
        from bassinet.application import admin

        with _open_registry(registry) as engine:
            admin.enable_user(_actor(user), engine, username)
        out.print(f"enabled user {username}")

    _run(work)


@users_app.command("unlock")
def users_unlock(username: str, registry: Registry = None, user: User = None) -> None:
    """Lift the lock-out of an account after failed sign-ins."""

    def work() -> None:
        from bassinet.application import admin

        with _open_registry(registry) as engine:
            admin.unlock_user(_actor(user), engine, username)
        out.print(f"unlocked user {username}")

    _run(work)


@users_app.command("grant")
def users_grant(
    username: str,
    role: Annotated[
        str,
        typer.Argument(
            help="administrator, trial_statistician, data_manager, clinician, monitor, investigator"
        ),
    ],
    centre: Centre = None,
    study_group: Group = None,
    registry: Registry = None,
    user: User = None,
) -> None:
    """Grant a role over a centre, a study group, or (neither named) the whole study."""

    def work() -> None:
        from bassinet.application import admin

        with _open_registry(registry) as engine:
            enrolment = admin.grant_role(
                _actor(user), engine, username, role, centre=centre, study_group=study_group
            )
        out.print(f"granted {role} to {username}")
        _show_uri(username, enrolment.totp_uri)

    _run(work)


@users_app.command("revoke")
def users_revoke(
    username: str,
    role: str,
    centre: Centre = None,
    study_group: Group = None,
    registry: Registry = None,
    user: User = None,
) -> None:
    """Revoke a grant that exists."""

    def work() -> None:
        from bassinet.application import admin

        with _open_registry(registry) as engine:
            admin.revoke_role(_actor(user), engine, username, role, centre=centre, study_group=study_group)
        out.print(f"revoked {role} from {username}")

    _run(work)


@tokens_app.command("create")
def tokens_create(
    username: Annotated[str, typer.Argument(help="The token's owner.")],
    name: Annotated[str, typer.Option("--name", help="What the token is for.")],
    days: Annotated[int, typer.Option("--days", help="Lifetime in days (1 to 365).")] = 90,
    action: Annotated[
        list[str] | None, typer.Option("--action", help="Limit to this action (repeatable).")
    ] = None,
    centre: Annotated[
        list[str] | None, typer.Option("--centre", help="Limit to this centre (repeatable).")
    ] = None,
    registry: Registry = None,
    user: User = None,
) -> None:
    """Create a token for a user's scripts; it is printed once and stored only as a hash."""

    def work() -> None:
        from bassinet.application import admin

        with _open_registry(registry) as engine:
            token = admin.create_token(
                _actor(user), engine, username, name=name, days=days, actions=action, centres=centre
            )
        out.print(f"token {token.id} for {username}, expires {token.expires_at:%Y-%m-%d} (shown once):")
        out.print(token.secret, highlight=False, markup=False)

    _run(work)


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (see `bassinet tokens list`).")],
    registry: Registry = None,
    user: User = None,
) -> None:
    """Revoke a token."""

    def work() -> None:
        from bassinet.application import admin

        with _open_registry(registry) as engine:
            admin.revoke_token(_actor(user), engine, token_id)
        out.print(f"revoked token {token_id}")

    _run(work)


@tokens_app.command("list")
def tokens_list(
    username: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None,
    registry: Registry = None,
) -> None:
    """List tokens (never their secrets)."""

    def work() -> None:
        from rich.table import Table

        from bassinet.application import admin

        with _open_registry(registry) as engine:
            tokens = admin.list_tokens(_actor(None), engine, username)
        table = Table("id", "user", "name", "actions", "centres", "expires", "status")
        for t in tokens:
            table.add_row(
                str(t.id),
                t.username,
                t.name,
                ", ".join(t.actions) if t.actions is not None else "all",
                ", ".join(t.centres) if t.centres is not None else "all",
                f"{t.expires_at:%Y-%m-%d}",
                "revoked" if t.revoked else "active",
            )
        out.print(table)

    _run(work)
