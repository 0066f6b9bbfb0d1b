"""Every command's help shows its options' defaults as written (Rich must not eat them as markup)."""

from __future__ import annotations

import click
import pytest
import typer
from typer.testing import CliRunner

from bassinet.cli import app

runner = CliRunner()


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*prefix, name)))
    return found


COMMANDS = _commands(typer.main.get_command(app))  # type: ignore[arg-type]


def test_the_registry_option_names_its_default_in_help() -> None:
    result = runner.invoke(app, ["init", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Database URL (default: $BASSINET_DATABASE_URL, else sqlite:///bassinet.db)." in result.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_no_help_text_loses_a_bracketed_default(command: tuple[str, ...]) -> None:
    # "[default: x]" in a help string is Rich markup to Typer and disappears, leaving "text ."
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert " ." not in result.stdout.replace("...", "")
