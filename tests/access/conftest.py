"""A small multi-centre registry for the access tests, on each store.

Two study groups: DCOG with centres Rotterdam and Utrecht, AIEOP with Monza. Each centre
has two patients (``ROT-1``, ``ROT-2``, ...). A study ID is unique in the registry, so a
lookup of another centre's study ID must answer exactly as for one that does not exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bassinet.registry import init_registry, make_engine, registry_session
from bassinet.registry import models as m
from tests.conftest import POSTGRES_URL, REQUIRE_POSTGRES, _reset_postgres

GROUPS = {"DCOG": ("Rotterdam", "Utrecht"), "AIEOP": ("Monza",)}
PASSWORD = "a long passphrase 4 tests"


@dataclass(frozen=True)
class World:
    engine: Engine
    centre_ids: dict[str, int]  # centre name -> id
    group_of: dict[str, str]  # centre name -> study group name
    patients: dict[int, int]  # patient id -> centre id


def _patient(centre: m.Centre, study_id: str) -> m.Patient:
    return m.Patient(
        centre=centre,
        study_id=study_id,
        sex="F",
        date_of_birth=dt.date(2020, 1, 1),
        diagnosis_date=dt.date(2020, 3, 1),
        leukemia_type="ALL",
        kmt2a_status="rearranged",
        last_contact_date=dt.date(2021, 1, 1),
        vital_status="alive",
    )


def build_world(engine: Engine) -> World:
    with registry_session(engine, actor="test setup") as session:
        for group_name, centres in GROUPS.items():
            group = m.StudyGroup(name=group_name)
            session.add(group)
            for name in centres:
                centre = m.Centre(name=name, study_group=group)
                prefix = name[:3].upper()
                session.add_all([_patient(centre, f"{prefix}-1"), _patient(centre, f"{prefix}-2")])
    with Session(engine) as session:
        centre_ids = {c.name: c.id for c in session.query(m.Centre)}
        group_of = {c.name: c.study_group.name for c in session.query(m.Centre) if c.study_group}
        patients = {p.id: p.centre_id for p in session.query(m.Patient)}
    return World(engine, centre_ids, group_of, patients)


def _url(kind: str, folder: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder / 'access.db'}"
    if POSTGRES_URL is None:
        message = "BASSINET_TEST_POSTGRES_URL is not set: run scripts/test.sh, which starts PostgreSQL"
        if REQUIRE_POSTGRES:
            pytest.fail(message)
        pytest.skip(message)
    _reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def shared_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One registry per module and store, for tests that only add users and read."""
    url = _url(request.param, tmp_path_factory.mktemp("access"))
    init_registry(url)
    engine = make_engine(url)
    yield build_world(engine)
    engine.dispose()


@pytest.fixture
def world(engine: Engine) -> World:
    """A fresh registry per test, on each store."""
    return build_world(engine)
