"""``bassinet serve --workers N``: N uvicorn processes, each building the app from the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from bassinet.cli import app
from bassinet.registry import init_registry
from bassinet.web.app import APP_FACTORY, app_from_environment

runner = CliRunner()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, dict[str, Any]]]:
    import uvicorn

    made: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **options: made.append((target, options)))
    # serve sets $BASSINET_DATABASE_URL for its workers: restored to what it was after the test
    monkeypatch.setenv("BASSINET_DATABASE_URL", "sqlite:///not-used.db")
    monkeypatch.delenv("BASSINET_DATABASE_URL")
    return made


def test_several_workers_run_the_factory_on_the_registry_named(
    tmp_path: Path, calls: list[tuple[Any, dict[str, Any]]]
) -> None:
    url = f"sqlite:///{tmp_path / 'served.db'}"
    init_registry(url)
    result = runner.invoke(app, ["serve", "--registry", url, "--port", "8123", "--workers", "3"])
    assert result.exit_code == 0, result.output
    assert "Bassinet on http://127.0.0.1:8123/, 3 worker processes" in result.output
    [(target, options)] = calls
    assert target == APP_FACTORY == "bassinet.web.app:app_from_environment"
    assert options["factory"] is True and options["workers"] == 3 and options["port"] == 8123
    assert os.environ["BASSINET_DATABASE_URL"] == url  # what each worker's factory reads
    built = app_from_environment()
    assert isinstance(built, FastAPI) and str(built.state.engine.url) == url
    built.state.engine.dispose()


def test_one_worker_serves_the_application_object(
    tmp_path: Path, calls: list[tuple[Any, dict[str, Any]]]
) -> None:
    url = f"sqlite:///{tmp_path / 'one.db'}"
    init_registry(url)
    result = runner.invoke(app, ["serve", "--registry", url])
    assert result.exit_code == 0, result.output
    [(target, options)] = calls
    assert isinstance(target, FastAPI) and "workers" not in options and "factory" not in options


def test_workers_must_be_at_least_one(calls: list[tuple[Any, dict[str, Any]]]) -> None:
    result = runner.invoke(app, ["serve", "--workers", "0"])
    assert result.exit_code == 2 and calls == []
    assert "--workers" in result.output
