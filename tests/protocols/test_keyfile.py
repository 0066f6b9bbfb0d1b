"""The randomisation key lives in a file outside the registry; the registry cannot reproduce the sequence."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
from sqlalchemy import Engine, MetaData, select

from bassinet.protocols import randomise as rnd
from bassinet.protocols.keyfile import KeyFileError, fingerprint, init_key
from bassinet.registry import export_frames, read_audit_log, read_frames
from bassinet.registry import models as m
from bassinet.registry.store import registry_session
from tests.protocols.registry_data import infant, ready

ON = dt.date(2019, 6, 10)


def _count_allocations(engine: Engine) -> int:
    with registry_session(engine, actor="reader") as session:
        return len(session.scalars(select(m.Allocation)).all())


def test_init_key_writes_a_file_only_its_owner_can_read(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    printed = init_key(engine, path, protocol="interfant-06", actor="office")
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert fingerprint(path.read_text().strip()) == printed
    with registry_session(engine, actor="reader") as session:
        assert session.scalars(select(m.RandomisationKey.fingerprint)).one() == printed


def test_a_second_key_is_refused(engine: Engine, tmp_path: Path) -> None:
    init_key(engine, tmp_path / "a.key", protocol="interfant-06", actor="office")
    with pytest.raises(KeyFileError, match="already has a randomisation key for interfant-06"):
        init_key(engine, tmp_path / "b.key", protocol="interfant-06", actor="office")
    assert not (tmp_path / "b.key").exists()


def test_a_key_with_another_fingerprint_is_refused_and_nothing_written(
    engine: Engine, tmp_path: Path
) -> None:
    ready(engine, tmp_path, [infant("R1")])
    other = tmp_path / "other.key"
    other.write_text("cd" * 32 + "\n")
    other.chmod(0o600)
    with pytest.raises(
        KeyFileError, match=r"other.key has fingerprint .* this is not the key of this registry"
    ):
        rnd.randomise(engine, "R1", actor="a", key=other, on=ON)
    assert _count_allocations(engine) == 0


def test_a_key_others_can_read_is_refused(engine: Engine, tmp_path: Path) -> None:
    key = ready(engine, tmp_path, [infant("R1")])
    key.chmod(0o644)
    with pytest.raises(KeyFileError, match=r"has mode 0644: others can read it; it must be 0600"):
        rnd.randomise(engine, "R1", actor="a", key=key, on=ON)
    assert _count_allocations(engine) == 0


def test_without_a_key_randomise_says_where_to_give_one(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ready(engine, tmp_path, [infant("R1")])
    monkeypatch.delenv("BASSINET_RANDOMISATION_KEY", raising=False)
    with pytest.raises(
        KeyFileError, match="no randomisation key: give --key PATH or set BASSINET_RANDOMISATION_KEY"
    ):
        rnd.randomise(engine, "R1", actor="a", on=ON)


def test_the_key_is_found_through_the_environment(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = ready(engine, tmp_path, [infant("R1")])
    monkeypatch.setenv("BASSINET_RANDOMISATION_KEY", str(key))
    assert rnd.randomise(engine, "R1", actor="a", on=ON).position == 0


HEX = re.compile(r"[0-9a-fA-F]{16,}")


def test_nothing_in_the_registry_or_its_exports_reproduces_the_sequence(
    engine: Engine, tmp_path: Path
) -> None:
    # Every value of every table (read by reflection, so a table added later is read too) and
    # every exported file is searched for the key and tried as a key: none gives the sequence.
    key = ready(engine, tmp_path, [infant(f"R{i}") for i in range(6)])
    drawn = [rnd.randomise(engine, f"R{i}", actor="a", key=key, on=ON).arm for i in range(6)]
    rnd.unblind(engine, "MR / DCOG", actor="dsmb", reason="review", positions=6, key=key)
    secret = key.read_text().strip()
    texts: list[str] = []
    metadata = MetaData()
    metadata.reflect(engine)
    assert {"allocation", "randomisation_key", "audit_log", "unblinding"} <= set(metadata.tables)
    with engine.connect() as connection:
        for table in metadata.tables.values():
            for row in connection.execute(table.select()):
                texts.extend(str(value) for value in row)
    written = export_frames(read_frames(engine), tmp_path / "export", audit_log=read_audit_log(engine))
    texts.extend(path.read_text(encoding="utf-8") for path in written)
    everything = "\n".join(texts)
    assert secret not in everything and secret.upper() not in everything
    candidates = {c.lower() for c in HEX.findall(everything)}
    candidates |= {c[i : i + 64] for c in candidates if len(c) > 64 for i in range(len(c) - 63)}
    assert candidates, "the fingerprint at least is a hexadecimal string"
    # Six arms are one of at most 2^6 sequences, which some of hundreds of hexadecimal
    # strings (hashes in the export log, fingerprints) match by chance: compare the first
    # 64 positions the key determines, which no wrong key reproduces.
    whole = rnd._sequence(secret, "MR / DCOG", 64)
    assert whole[:6] == drawn
    for candidate in candidates:
        padded = candidate if len(candidate) % 2 == 0 else candidate[:-1]
        assert rnd._sequence(padded, "MR / DCOG", 64) != whole or padded == secret
