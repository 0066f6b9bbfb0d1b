"""`bassinet users` and `bassinet tokens`, run in-process on an SQLite registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from bassinet.access import authenticate_token
from bassinet.cli import app
from bassinet.registry import make_engine
from bassinet.registry.models import AccessToken, Grant, SecurityEntry, User
from tests.access.conftest import PASSWORD, build_world

runner = CliRunner()


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin, env={"COLUMNS": "200", "BASSINET_USER": "cli-admin"})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def url(tmp_path: Path) -> str:
    registry = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run("init", "--registry", registry)[0] == 0
    engine = make_engine(registry)
    build_world(engine)
    engine.dispose()
    return registry


def _counts(url: str) -> tuple[int, int, int, int]:
    engine = make_engine(url)
    with Session(engine) as session:
        counts = tuple(
            session.scalar(select(func.count()).select_from(t)) or 0
            for t in (User, Grant, AccessToken, SecurityEntry)
        )
    engine.dispose()
    return counts  # type: ignore[return-value]


def _add(url: str, name: str = "alice") -> None:
    code, output, errors = run("users", "add", name, "--password-stdin", "-r", url, stdin=PASSWORD + "\n")
    assert (code, errors) == (0, ""), errors
    assert f"added user {name}" in output


@pytest.mark.parametrize(
    "command",
    [
        ["users"],
        ["users", "add"],
        ["users", "list"],
        ["users", "disable"],
        ["users", "grant"],
        ["users", "revoke"],
        ["users", "set-name"],
        ["tokens"],
        ["tokens", "create"],
        ["tokens", "revoke"],
        ["tokens", "list"],
    ],
)
def test_every_access_command_has_help(command: list[str]) -> None:
    code, output, _ = run(*command, "--help")
    assert code == 0 and "Usage:" in output


def test_the_password_is_not_an_option_of_users_add() -> None:
    assert "--password " not in run("users", "add", "--help")[1].replace("--password-stdin", "")


def test_add_grant_and_list_show_the_account_and_its_scope(url: str) -> None:
    _add(url)
    code, output, _ = run("users", "grant", "alice", "clinician", "--centre", "Monza", "-r", url)
    assert code == 0 and "granted clinician to alice" in output and "otpauth://" not in output
    code, output, _ = run("users", "list", "-r", url)
    assert code == 0
    assert "alice" in output and "clinician over centre 'Monza'" in output and "active" in output
    assert "argon2" not in output


def test_a_study_wide_grant_enrols_totp_and_prints_the_otpauth_uri_once(url: str) -> None:
    _add(url)
    code, output, _ = run("users", "grant", "alice", "trial_statistician", "-r", url)
    assert code == 0
    assert "otpauth://totp/Bassinet:alice?secret=" in output and "issuer=Bassinet" in output
    code, output, _ = run("users", "grant", "alice", "monitor", "-r", url)
    assert code == 0 and "otpauth://" not in output


def _full_name(url: str, username: str) -> str | None:
    engine = make_engine(url)
    with Session(engine) as session:
        name = session.scalars(select(User.full_name).where(User.username == username)).one()
    engine.dispose()
    return name


def test_a_full_name_is_given_when_adding_and_set_or_cleared_later_and_logged(url: str) -> None:
    add = ("users", "add", "inv", "--password-stdin", "--full-name", " Dr A. B ", "-r", url)
    code, output, errors = run(*add, stdin=PASSWORD + "\n")
    assert (code, errors) == (0, ""), errors
    assert "added user inv" in output
    assert _full_name(url, "inv") == "Dr A. B"
    code, output, _ = run("users", "set-name", "inv", "Dr Anna Bakker", "-r", url)
    assert code == 0 and "set the full name of inv" in output
    assert _full_name(url, "inv") == "Dr Anna Bakker"
    assert run("users", "set-name", "inv", "", "-r", url)[0] == 0
    assert _full_name(url, "inv") is None
    engine = make_engine(url)
    with Session(engine) as session:
        logged = session.scalars(
            select(SecurityEntry.detail)
            .where(SecurityEntry.event == "full_name_set")
            .order_by(SecurityEntry.id)
        ).all()
    engine.dispose()
    assert logged == ["Dr Anna Bakker", "(none)"]


def test_the_password_is_prompted_twice_when_not_on_stdin(url: str) -> None:
    code, output, _ = run("users", "add", "bob", "-r", url, stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert code == 0 and "added user bob" in output
    code, _, errors = run("users", "add", "carol", "-r", url, stdin=f"{PASSWORD}\nsomething else\n")
    assert code == 1 and "the two passwords differ" in errors


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["users", "add", "bob", "--password-stdin"], "short\n", "password for 'bob' is too weak"),
        (["users", "add", "alice", "--password-stdin"], PASSWORD + "\n", "user 'alice' already exists"),
        (
            ["users", "add", "bad name", "--password-stdin"],
            PASSWORD + "\n",
            "username 'bad name' is not allowed",
        ),
        (["users", "grant", "alice", "wizard"], None, "unknown role 'wizard'"),
        (["users", "grant", "alice", "clinician", "--centre", "Atlantis"], None, "unknown centre 'Atlantis'"),
        (["users", "grant", "ghost", "clinician"], None, "unknown user 'ghost'"),
        (
            ["users", "revoke", "alice", "monitor", "--centre", "Monza"],
            None,
            "has no monitor role over centre",
        ),
        (["users", "disable", "ghost"], None, "unknown user 'ghost'"),
        (["users", "set-name", "ghost", "Dr G"], None, "unknown user 'ghost'"),
        (["users", "set-name", "alice", "x" * 201], None, "user 'alice': the full name has 201 characters"),
        (
            ["users", "add", "bob", "--password-stdin", "--full-name", "y" * 300],
            PASSWORD + "\n",
            "user 'bob': the full name has 300 characters, at most 200",
        ),
        (["tokens", "create", "alice", "--name", "x", "--action", "import"], None, "cannot exceed its owner"),
        (["tokens", "revoke", "5"], None, "no token with id 5"),
    ],
)
def test_bad_input_gives_one_line_exit_1_and_writes_nothing(
    url: str, args: list[str], stdin: str | None, message: str
) -> None:
    _add(url)
    before = _counts(url)
    code, _, errors = run(*args, "-r", url, stdin=stdin)
    assert code == 1
    assert message in errors
    assert len(errors.strip().splitlines()) == 1 and "Traceback" not in errors
    assert _counts(url) == before


def test_a_token_created_on_the_command_line_works_once_and_not_after_revoke(url: str) -> None:
    _add(url)
    run("users", "grant", "alice", "data_manager", "--centre", "Monza", "-r", url)
    code, output, _ = run(
        "tokens", "create", "alice", "--name", "r-script", "--action", "read_patients", "-r", url
    )
    assert code == 0
    secret = next(word for word in output.split() if word.startswith("bsn_"))
    engine = make_engine(url)
    try:
        assert authenticate_token(engine, secret).username == "alice"
        code, output, _ = run("tokens", "list", "-r", url)
        assert code == 0 and "r-script" in output and "read_patients" in output and secret not in output
        assert run("tokens", "revoke", "1", "-r", url)[0] == 0
        assert "revoked" in run("tokens", "list", "alice", "-r", url)[1]
        with pytest.raises(Exception, match="token refused"):
            authenticate_token(engine, secret)
    finally:
        engine.dispose()


def test_disable_marks_the_account_and_logs_who_did_it(url: str) -> None:
    _add(url)
    assert run("users", "disable", "alice", "-r", url)[0] == 0
    assert "disabled" in run("users", "list", "-r", url)[1]
    engine = make_engine(url)
    with Session(engine) as session:
        last = session.scalars(select(SecurityEntry).order_by(SecurityEntry.id.desc())).first()
    engine.dispose()
    assert last is not None and (last.event, last.actor, last.subject) == (
        "user_disabled",
        "cli-admin",
        "alice",
    )
