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


def _python(code: str) -> str:
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "100", "TERM": "dumb"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    return done.stdout


def test_help_prints_the_same_without_importing_what_it_never_uses() -> None:
    # through `bassinet`'s own entry (the light import of Typer's help formatter) ...
    light = _python(
        "import sys\n"
        "sys.argv = ['bassinet', '--help']\n"
        "from bassinet.cli import app\n"
        "try:\n    app()\n"
        "except SystemExit:\n    pass\n"
        "print('markdown imported:', 'rich.markdown' in sys.modules, 'markdown_it' in sys.modules)\n"
    )
    # ... and through Typer's usual path, which imports everything
    usual = _python(
        "import sys, typer\n"
        "from bassinet.cli import app\n"
        "try:\n    typer.main.get_command(app).main(['--help'], prog_name='bassinet')\n"
        "except SystemExit:\n    pass\n"
        "print('markdown imported:', 'rich.markdown' in sys.modules, 'markdown_it' in sys.modules)\n"
    )
    assert "Usage: bassinet [OPTIONS] COMMAND [ARGS]..." in light and "design" in light
    assert light.endswith("markdown imported: False False\n")
    assert usual.endswith("markdown imported: True True\n")
    assert light.rsplit("markdown imported", 1)[0] == usual.rsplit("markdown imported", 1)[0]


def test_the_stand_ins_for_what_help_never_uses_still_work_and_leave_the_real_modules() -> None:
    said = _python(
        "import sys\n"
        "from bassinet.cli._common import import_typer_help_lightly\n"
        "import_typer_help_lightly()\n"
        "import typer.rich_utils as ru\n"
        "print('after:', 'rich.markdown' in sys.modules, 'rich.traceback' in sys.modules)\n"
        "from rich.markdown import Markdown\n"
        "from rich.traceback import Traceback\n"
        "same = ru.Traceback.from_exception == Traceback.from_exception\n"
        "print('real:', type(ru.Markdown('*x*')) is Markdown, same)\n"
        "import rich.markdown\n"
        "print('module:', hasattr(rich.markdown, 'MarkdownIt'))\n"
    )
    assert said.splitlines() == ["after: False False", "real: True True", "module: True"]
