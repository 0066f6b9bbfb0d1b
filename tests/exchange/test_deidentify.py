"""De-identified export: keyed pseudonyms, one date shift per patient, no free text, same survival."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from bassinet.endpoints import ClinicalRecords, derive
from bassinet.errors import ConfigurationError
from bassinet.exchange import create_key, date_shift, deidentify, load_key, pseudonym
from bassinet.registry import read_frames
from bassinet.survival import KaplanMeier, kaplan_meier

FAR = dt.date(2100, 1, 1)


def test_a_pseudonym_is_stable_for_one_key_and_differs_for_another(tmp_path: Path) -> None:
    one = load_key(create_key(tmp_path / "one.key"))
    two = load_key(create_key(tmp_path / "two.key"))
    assert pseudonym(one, "Rotterdam", "P001") == pseudonym(one, "Rotterdam", "P001")
    assert pseudonym(one, "Rotterdam", "P001") != pseudonym(two, "Rotterdam", "P001")
    assert pseudonym(one, "Rotterdam", "P001") != pseudonym(one, "Utrecht", "P001")
    assert len(pseudonym(one, "Rotterdam", "P001")) == 20


def test_date_shifts_lie_in_0_to_364_and_spread_over_the_year(tmp_path: Path) -> None:
    key = load_key(create_key(tmp_path / "k.key"))
    shifts = [date_shift(key, "C", f"P{i}") for i in range(3000)]
    assert min(shifts) >= 0 and max(shifts) <= 364
    # Uniform on 365 values: each quarter of the year gets about a quarter of 3000.
    counts = np.histogram(shifts, bins=[0, 91, 182, 273, 365])[0]
    assert all(650 < c < 850 for c in counts)


def test_a_key_file_is_never_overwritten_and_a_short_key_is_refused(tmp_path: Path) -> None:
    path = create_key(tmp_path / "k.key")
    with pytest.raises(ConfigurationError, match="is never overwritten"):
        create_key(path)
    assert path.stat().st_mode & 0o077 == 0
    short = tmp_path / "short.key"
    short.write_text("abcd\n")
    with pytest.raises(ConfigurationError, match="16 bits, fewer than 256"):
        load_key(short)


def test_every_date_of_a_patient_moves_by_one_offset_in_0_to_364(filled: Engine, key_file: Path) -> None:
    frames = read_frames(filled)
    out = deidentify(frames, key=load_key(key_file))
    before = frames.patients.set_index("id")
    after = out.frames.patients
    for new_id, old_id in zip(after["id"], out.patient_ids, strict=True):
        row, old = after[after["id"] == new_id].iloc[0], before.loc[old_id]
        moved = (old["diagnosis_date"] - row["diagnosis_date"]).days
        assert 0 <= moved <= 364
        assert (old["last_contact_date"] - row["last_contact_date"]).days == moved
        assert (old["date_of_birth"] - row["date_of_birth"]).days == moved
        events_old = frames.events[frames.events["patient_id"] == old_id]["event_date"].sort_values()
        events_new = out.frames.events[out.frames.events["patient_id"] == new_id]["event_date"].sort_values()
        assert ((events_old.to_numpy() - events_new.to_numpy()) == np.timedelta64(moved, "D")).all()


def test_no_study_id_centre_id_or_free_text_of_the_registry_leaves(filled: Engine, key_file: Path) -> None:
    frames = read_frames(filled)
    out = deidentify(frames, key=load_key(key_file), coarsen_centres=True).frames
    assert not set(out.patients["study_id"]) & set(frames.patients["study_id"])
    assert set(out.patients["centre"]) <= set(frames.study_groups["name"])
    assert not set(out.centres["name"]) & set(frames.centres["name"])
    assert len(out.import_runs) == 0 and len(frames.import_runs) == 1


def test_days_from_diagnosis_replace_the_dates(filled: Engine, key_file: Path) -> None:
    frames = read_frames(filled)
    out = deidentify(frames, key=load_key(key_file), dates="days_from_diagnosis").frames
    assert "diagnosis_date" not in out.patients and (out.patients["diagnosis_day"] == 0).all()
    assert (out.patients["date_of_birth_day"] < 0).all()
    assert "measured_day" in out.mrd and "event_day" in out.events
    first = frames.patients.sort_values("id").iloc[0]
    age = (first["diagnosis_date"] - first["date_of_birth"]).days
    assert age in set(-out.patients["date_of_birth_day"])


@pytest.mark.parametrize("endpoint", ["OS", "EFS", "DFS"])
def test_survival_on_the_deidentified_export_equals_the_registrys(
    filled: Engine, key_file: Path, endpoint: str
) -> None:
    frames = read_frames(filled)
    out = deidentify(frames, key=load_key(key_file))
    registry = derive(ClinicalRecords.from_frames(frames), [endpoint], cutoff=FAR)
    released = derive(ClinicalRecords.from_frames(out.frames), [endpoint], cutoff=FAR)
    assert len(registry) == len(released) > 0
    assert sorted(registry["time_days"]) == sorted(released["time_days"])
    # Censor competing events for the KM: only the endpoint's own event counts here.
    a = kaplan_meier(registry["time_days"], registry["status"] == 1)
    b = kaplan_meier(released["time_days"], released["status"] == 1)
    assert isinstance(a, KaplanMeier) and isinstance(b, KaplanMeier)
    years = [365.25, 3 * 365.25]
    pd.testing.assert_frame_equal(a.at(years).to_frame(), b.at(years).to_frame(), check_exact=True)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame(), check_exact=True)
