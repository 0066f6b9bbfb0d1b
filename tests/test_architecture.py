"""The layering of docs/architecture.md, checked on the source so that it cannot drift back.

- No module imports another package's private module (``bassinet.plans._run`` from
  outside :mod:`bassinet.plans`): packages meet at the names their ``__init__`` exports.
- The CLI has no import circle: its modules import ``bassinet.cli._common`` and the
  layers below, never ``bassinet.cli`` or each other; nothing below imports a front end.
- ``bassinet --help`` and ``--version`` do not import pandas, NumPy, SciPy, SQLAlchemy,
  Matplotlib or Dask (the start-up stays fast; asserted on modules, never on time).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import bassinet

SOURCE = Path(bassinet.__file__).resolve().parent
HEAVY = ("pandas", "numpy", "scipy", "sqlalchemy", "matplotlib", "dask", "distributed", "pyarrow")
FRONT_ENDS = ("cli", "web")


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every absolute ``bassinet`` module a file imports (``from a.b import c`` gives ``a.b``
    and ``a.b.c``, since ``c`` may be a module), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def package_of(path: Path) -> str | None:
    """The top-level package of ``bassinet`` a file belongs to (``None`` for bassinet/*.py)."""
    parts = path.relative_to(SOURCE).parts
    return parts[0] if len(parts) > 1 else None


def private_reach(importer: str | None, module: str) -> bool:
    """Whether ``module`` is a private module of a package other than ``importer``."""
    parts = module.split(".")
    if parts[0] != "bassinet" or len(parts) < 3 or parts[1] == importer:
        return False
    return any(p.startswith("_") and not p.startswith("__") for p in parts[2:])


def sources() -> list[Path]:
    return sorted(SOURCE.rglob("*.py"))


@pytest.mark.parametrize(
    ("importer", "module", "private"),
    [
        ("cli", "bassinet.plans._run", True),
        ("cli", "bassinet.plans._run.population_ids", True),
        ("report", "bassinet.plans._results", True),
        ("plans", "bassinet.plans._results", False),  # inside its own package
        ("cli", "bassinet.cli._common", False),
        ("cli", "bassinet.plans", False),
        ("cli", "bassinet.plans.run_plan", False),
        ("cli", "bassinet.registry.models", False),
        ("report", "bassinet.__version__", False),
        (None, "bassinet.errors", False),
    ],
)
def test_the_rule_tells_private_reaches_from_public_ones(
    importer: str | None, module: str, private: bool
) -> None:
    assert private_reach(importer, module) is private


def test_no_module_imports_another_packages_private_module() -> None:
    found = [
        f"{path.relative_to(SOURCE.parent)}:{line}: {module}"
        for path in sources()
        for line, module in imports(path)
        if private_reach(package_of(path), module)
    ]
    assert len(sources()) > 100  # the walk sees the whole package
    assert found == []


def test_the_cli_modules_import_only_their_common_helpers_and_the_layers_below() -> None:
    cli = SOURCE / "cli"
    found = []
    for path in sorted(cli.glob("*.py")):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        for line, module in imports(path):
            if path.name == "web.py" and module.split(".")[:2] == ["bassinet", "web"]:
                continue  # `bassinet serve` starts the web front end: its one reason to exist
            if module in ("bassinet.cli", "bassinet.web") or (
                module.startswith(("bassinet.cli.", "bassinet.web."))
                and not module.startswith("bassinet.cli._common")
            ):
                found.append(f"{path.name}:{line}: {module}")
    assert len(list(cli.glob("*.py"))) >= 10
    assert found == []


def test_nothing_below_the_front_ends_imports_them() -> None:
    found = [
        f"{path.relative_to(SOURCE.parent)}:{line}: {module}"
        for path in sources()
        if package_of(path) not in FRONT_ENDS and path.name != "__main__.py"
        for line, module in imports(path)
        if module.split(".")[:2] in (["bassinet", "cli"], ["bassinet", "web"])
    ]
    assert found == []


def loaded_modules(*arguments: str) -> tuple[set[str], str]:
    """The modules a fresh interpreter has imported after ``python -X importtime ARGUMENTS``,
    and what it printed."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SOURCE.parent), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *arguments],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return names, done.stdout


@pytest.mark.parametrize(
    "arguments",
    [("-c", "from bassinet.cli import app"), ("-m", "bassinet", "--version"), ("-m", "bassinet", "--help")],
    ids=["import", "version", "help"],
)
def test_the_command_starts_without_the_heavy_libraries(arguments: tuple[str, ...]) -> None:
    names, printed = loaded_modules(*arguments)
    assert "bassinet.cli._common" in names  # the measurement sees the command's imports
    assert "typer" in names
    heavy = sorted(n for n in names if n.split(".")[0] in HEAVY)
    assert heavy == []
    if "--version" in arguments:
        assert printed.strip() == f"bassinet {bassinet.__version__}"
        assert "pydantic" not in names  # answered before Typer checks options through pydantic
    if "--help" in arguments:
        assert "stratify" in printed and "federate" in printed


def test_a_command_still_finds_what_it_imports_lazily() -> None:
    names, printed = loaded_modules(
        "-m", "bassinet", "design", "--control", "0.41", "--experimental", "0.57", "--accrual", "60",
        "--follow-up", "36", "--simulate", "0",
    )  # fmt: skip
    assert "bassinet.design" in names and "scipy" in names
    assert "events needed" in printed and "147.5 -> 148" in printed
