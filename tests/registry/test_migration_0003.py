"""Migration 0003 on a 0002 registry: the secret leaves the database, recorded arms become allocations."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text

from bassinet.errors import RegistryError
from bassinet.protocols.keyfile import fingerprint
from bassinet.registry import make_engine
from bassinet.registry.store import _alembic_config, init_registry

SECRET = "ab" * 32


def _at_0002(url: str) -> Engine:
    engine = make_engine(url)
    command.upgrade(_alembic_config(engine), "0002")
    now = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO study_group (id, name) VALUES (1, 'DCOG')"))
        connection.execute(text("INSERT INTO centre (id, name, study_group_id) VALUES (1, 'Rotterdam', 1)"))
        for pid, arm, on in ((1, "IB", "2010-03-01"), (2, None, None)):
            connection.execute(
                text(
                    "INSERT INTO patient (id, centre_id, study_id, sex, date_of_birth, diagnosis_date, "
                    "leukemia_type, kmt2a_status, randomisation_arm, randomisation_date, last_contact_date, "
                    "vital_status) VALUES (:id, 1, :sid, 'F', '2009-10-01', '2010-01-05', 'ALL', "
                    "'rearranged', :arm, :on, '2012-01-01', 'alive')"
                ),
                {"id": pid, "sid": f"H{pid}", "arm": arm, "on": on},
            )
        connection.execute(
            text(
                "INSERT INTO randomisation_key (protocol, secret, created_at) VALUES ('interfant-06', :s, :t)"
            ),
            {"s": SECRET, "t": now},
        )
    return engine


def test_without_a_key_path_the_upgrade_refuses_and_keeps_the_secret(
    registry_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BASSINET_RANDOMISATION_KEY", raising=False)
    engine = _at_0002(registry_url)
    with pytest.raises(RegistryError, match="set BASSINET_RANDOMISATION_KEY=PATH"):
        init_registry(registry_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT secret FROM randomisation_key")).scalar_one() == SECRET
    engine.dispose()


def test_the_upgrade_moves_the_secret_to_a_0600_file_and_records_historical_arms(
    registry_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "moved.key"
    monkeypatch.setenv("BASSINET_RANDOMISATION_KEY", str(key))
    engine = _at_0002(registry_url)
    init_registry(registry_url)
    assert key.read_text().strip() == SECRET
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT fingerprint FROM randomisation_key")).scalar_one()
        columns = connection.execute(text("SELECT * FROM randomisation_key")).keys()
        allocations = connection.execute(
            text("SELECT patient_id, arm, source, position, allocated_on FROM allocation")
        ).all()
    assert stored == fingerprint(SECRET) and "secret" not in columns
    assert [(p, a, s, pos, str(on)) for p, a, s, pos, on in allocations] == [
        (1, "IB", "recorded", None, "2010-03-01")
    ]
    engine.dispose()
