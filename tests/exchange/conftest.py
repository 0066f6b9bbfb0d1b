"""A small registry on each store, filled through the ordinary importer, for the exchange tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bassinet.registry import import_files, init_registry, make_engine
from bassinet.simulate import registry_rows, write_csv


@pytest.fixture
def filled(registry_url: str, tmp_path: Path) -> Iterator[Engine]:
    """A registry (SQLite and PostgreSQL) holding 40 synthetic infants with every kind of record."""
    init_registry(registry_url)
    engine = make_engine(registry_url)
    paths = write_csv(registry_rows(40, seed=7, centres=5), tmp_path / "rows")
    import_files(engine, paths.pop("patients"), long_sheets=paths, actor="loader")
    yield engine
    engine.dispose()


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    from bassinet.exchange import create_key

    return create_key(tmp_path / "keys" / "release.key")
