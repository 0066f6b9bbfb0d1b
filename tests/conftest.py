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

from bassinet.endpoints import ClinicalRecords
from bassinet.registry import import_files, init_registry, make_engine, read_frames
from bassinet.simulate import simulate_hsct_infants, simulate_interfant06, write_csv

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


# Both simulated cohorts in one SQLite registry, imported once, for the plan and report tests.
@pytest.fixture(scope="session")
def cohort_registry_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("cohorts")
    url = f"sqlite:///{folder / 'registry.db'}"
    init_registry(url)
    engine = make_engine(url)
    for name, rows in (
        ("interfant06", simulate_interfant06(seed=33)),
        ("hsct", simulate_hsct_infants(seed=41)),
    ):
        paths = write_csv(rows, folder / name)
        import_files(engine, paths.pop("patients"), long_sheets=paths, actor="test")
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def records(cohort_registry_url: str) -> ClinicalRecords:
    engine = make_engine(cohort_registry_url)
    try:
        return ClinicalRecords.from_frames(read_frames(engine))
    finally:
        engine.dispose()
