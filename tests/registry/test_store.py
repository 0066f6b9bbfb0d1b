"""The store: URLs, creating and migrating the schema, and the database's own constraints."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, TableClause, column, insert, table
from sqlalchemy.exc import IntegrityError

from bassinet.errors import ConfigurationError, RegistryError
from bassinet.registry import database_url, init_registry, make_engine, require_current
from bassinet.registry import models as m
from bassinet.registry.store import head_revision


def test_the_default_store_is_an_sqlite_file_in_the_working_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BASSINET_DATABASE_URL", raising=False)
    assert database_url() == "sqlite:///bassinet.db"


def test_the_environment_variable_names_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASSINET_DATABASE_URL", "sqlite:////data/registry.db")
    assert database_url() == "sqlite:////data/registry.db"


def test_a_plain_postgresql_url_gets_the_psycopg_driver() -> None:
    assert database_url("postgresql://u:p@db:5432/reg") == "postgresql+psycopg://u:p@db:5432/reg"


def test_a_malformed_url_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="is not a valid URL"):
        database_url("not a url")


def test_an_uninitialised_registry_asks_for_bassinet_init(registry_url: str) -> None:
    engine = make_engine(registry_url)
    with pytest.raises(RegistryError, match="is not initialised: run `bassinet init`"):
        require_current(engine)
    engine.dispose()


def test_init_creates_then_reports_up_to_date(registry_url: str) -> None:
    assert init_registry(registry_url) == (None, head_revision())
    assert init_registry(registry_url) == (head_revision(), head_revision())


def test_the_migrations_create_exactly_the_models_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, m.Base.metadata) == []


# The database refuses, by itself, rows that break a single-row rule. The rows are inserted
# through untyped table constructs, so that no check of SQLAlchemy's runs before the database's.


def raw(model: type[m.Base]) -> TableClause:
    return table(model.__tablename__, *(column(c.name) for c in model.__table__.columns))


def _patient_row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "centre_id": 1,
        "study_id": "P1",
        "sex": "F",
        "date_of_birth": dt.date(2019, 1, 1),
        "diagnosis_date": dt.date(2019, 3, 1),
        "leukemia_type": "ALL",
        "kmt2a_status": "rearranged",
        "last_contact_date": dt.date(2020, 1, 1),
        "vital_status": "alive",
    }
    row.update(changes)
    return row


@pytest.mark.parametrize(
    ("changes", "constraint"),
    [
        ({"wbc": -1.0}, "wbc_not_negative"),
        ({"day8_blasts": -1.0}, "blasts_not_negative"),
        ({"kmt2a_status": "germline", "kmt2a_partner": "AFF1"}, "partner_only_if_rearranged"),
        ({"date_of_birth": dt.date(2019, 3, 2)}, "born_before_diagnosis"),
        ({"randomisation_arm": "IB"}, "arm_with_date"),
        ({"last_contact_date": dt.date(2019, 2, 1)}, "follow_up_after_diagnosis"),
        ({"sex": "X"}, "sex"),
    ],
)
def test_the_database_checks_patient_rows(
    engine: Engine, changes: dict[str, object], constraint: str
) -> None:
    with engine.begin() as connection:
        connection.execute(insert(raw(m.StudyGroup)).values(id=1, name="G"))
        connection.execute(insert(raw(m.Centre)).values(id=1, name="C", study_group_id=1))
        connection.execute(insert(raw(m.Patient)).values(**_patient_row(study_id="OK")))
    with pytest.raises(IntegrityError, match=constraint), engine.begin() as connection:
        connection.execute(insert(raw(m.Patient)).values(**_patient_row(**changes)))


@pytest.mark.parametrize(
    ("model", "row", "constraint"),
    [
        (
            m.MRDMeasurement,
            {
                "time_point": "end_of_induction",
                "measured_on": dt.date(2019, 4, 1),
                "method": "PCR",
                "result": "quantified",
                "value": 1.5,
            },
            "value_is_fraction",
        ),
        (
            m.MRDMeasurement,
            {
                "time_point": "end_of_induction",
                "measured_on": dt.date(2019, 4, 1),
                "method": "PCR",
                "result": "negative",
                "value": 0.1,
            },
            "value_iff_quantified",
        ),
        (
            m.Event,
            {
                "event_type": "relapse",
                "event_date": dt.date(2019, 9, 1),
                "death_cause": "infection",
            },
            "cause_only_for_death",
        ),
        (
            m.Transplant,
            {
                "transplant_date": dt.date(2019, 9, 1),
                "donor_type": "haplo",
                "remission_status": "CR1",
            },
            "donor_type",
        ),
    ],
)
def test_the_database_checks_long_rows(
    engine: Engine, model: type[m.Base], row: dict[str, object], constraint: str
) -> None:
    with engine.begin() as connection:
        connection.execute(insert(raw(m.Centre)).values(id=1, name="C"))
        connection.execute(insert(raw(m.Patient)).values(id=1, **_patient_row()))
    with pytest.raises(IntegrityError, match=constraint), engine.begin() as connection:
        connection.execute(insert(raw(model)).values(patient_id=1, **row))


def test_the_database_allows_one_death_per_patient(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(insert(raw(m.Centre)).values(id=1, name="C"))
        connection.execute(insert(raw(m.Patient)).values(id=1, **_patient_row()))
        connection.execute(
            insert(raw(m.Event)).values(patient_id=1, event_type="death", event_date=dt.date(2019, 9, 1))
        )
    with pytest.raises(IntegrityError, match=r"one_death|UNIQUE"), engine.begin() as connection:
        connection.execute(
            insert(raw(m.Event)).values(patient_id=1, event_type="death", event_date=dt.date(2019, 9, 2))
        )


def test_the_database_refuses_a_second_patient_with_the_same_id_in_a_centre(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(insert(raw(m.Centre)).values(id=1, name="C"))
        connection.execute(insert(raw(m.Patient)).values(**_patient_row()))
    with (
        pytest.raises(IntegrityError, match=r"centre_id_study_id|UNIQUE"),
        engine.begin() as connection,
    ):
        connection.execute(insert(raw(m.Patient)).values(**_patient_row()))


def test_the_database_refuses_a_patient_of_an_unknown_centre(engine: Engine) -> None:
    with (
        pytest.raises(IntegrityError, match=r"FOREIGN KEY|foreign key"),
        engine.begin() as connection,
    ):
        connection.execute(insert(raw(m.Patient)).values(**_patient_row(centre_id=99)))
