"""Fixtures shared by the whole suite.

Registry tests run on both stores: the embedded SQLite file and a real PostgreSQL
server named by ``BASSINET_TEST_POSTGRES_URL`` (``scripts/test.sh`` starts one). Where
``BASSINET_REQUIRE_POSTGRES=1`` (as in CI), a missing server fails the tests instead
of skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from bassinet.registry import init_registry, make_engine

POSTGRES_URL = os.environ.get("BASSINET_TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("BASSINET_REQUIRE_POSTGRES") == "1"


def _reset_postgres(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, uninitialised registry URL on each store."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    if POSTGRES_URL is None:
        message = "BASSINET_TEST_POSTGRES_URL is not set: run scripts/test.sh, which starts PostgreSQL"
        if REQUIRE_POSTGRES:
            pytest.fail(message)
        pytest.skip(message)
    _reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def engine(registry_url: str) -> Iterator[Engine]:
    """An initialised registry on each store."""
    init_registry(registry_url)
    registry = make_engine(registry_url)
    yield registry
    registry.dispose()
