"""De-identified copies of the registry's frames: keyed-hash ids, shifted dates, no free text.

What leaves the registry for a collaborator is de-identified as far as the analysis
allows (GDPR Art. 4(5) and Recital 26; the HIPAA Safe Harbor list of 45 CFR 164.514(b)
names the same identifiers: names, record numbers, all elements of dates but the year):

- **Ids.** A patient's study id becomes ``HMAC-SHA256(key, centre + US + study_id)``,
  shortened to 20 hex digits (80 bits): the same patient gets the same pseudonym in
  every export made with the same key, and without the key the pseudonym cannot be
  linked back (Krawczyk & Bellare 1997 / RFC 2104: HMAC is a pseudorandom function).
  The key lives in a file outside the database (:func:`create_key`); database ids are
  renumbered.
- **Dates.** Every date of one patient is moved back by the same offset of 0-364 days
  (the "date shifting" of Hripcsak et al. 2016, JAMIA 23:e139), so that every interval
  and the age in days are kept and survival times are unchanged. The offset is drawn
  from the keyed hash too: it is uniform on 0-364 to anyone without the key, and it is
  the same in every export, so two releases cannot be compared to narrow it down.
  Optionally the dates are replaced by days from diagnosis (``*_date`` -> ``*_day``).
- **Free text** is removed: the import runs (file paths, names) and the audit trail
  are not exported.
- **Centres** may be coarsened to their study group.

A data cut-off must be applied before de-identifying: the shifted dates of different
patients no longer share a calendar, so a calendar cut-off applied afterwards would cut
each patient at a different point. Age below six *calendar* months can move by a day
at month ends; ages in days are exact.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from bassinet.errors import ConfigurationError, DataError
from bassinet.registry.frames import RegistryFrames

KEY_BYTES = 32
PSEUDONYM_HEX = 20
DateMode = Literal["shifted", "days_from_diagnosis"]

#: Date columns of each frame.
DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "patients": ("date_of_birth", "diagnosis_date", "randomisation_date", "last_contact_date"),
    "remissions": ("assessment_date",),
    "mrd": ("measured_on",),
    "courses": ("start_date",),
    "transplants": ("transplant_date", "engraftment_date"),
    "events": ("event_date",),
}
CHILD_FRAMES = ("remissions", "mrd", "courses", "transplants", "events")


def create_key(path: Path) -> Path:
    """Write a new random key (256 bits, hex) to ``path``, readable by its owner only.

    Refuses to overwrite an existing file: a lost or replaced key makes the pseudonyms of
    later exports unlinkable to earlier ones.
    """
    if path.exists():
        raise ConfigurationError(f"key file {path} exists: a key is never overwritten")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(KEY_BYTES) + "\n")
    return path


def load_key(path: Path) -> bytes:
    """Read a key written by :func:`create_key` (64 hex digits)."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"key file {path}: cannot be read: {exc}") from exc
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ConfigurationError(f"key file {path}: not a key: expected {2 * KEY_BYTES} hex digits") from None
    if len(key) < KEY_BYTES:
        raise ConfigurationError(
            f"key file {path}: the key has {len(key) * 8} bits, fewer than {KEY_BYTES * 8}; "
            "create one with `bassinet deidentify-key`"
        )
    return key


def _digest(key: bytes, centre: str, study_id: str) -> bytes:
    return hmac.new(key, f"{centre}\x1f{study_id}".encode(), hashlib.sha256).digest()


def pseudonym(key: bytes, centre: str, study_id: str) -> str:
    """The keyed-hash pseudonym of a patient (20 hex digits)."""
    return _digest(key, centre, study_id).hex()[:PSEUDONYM_HEX]


def date_shift(key: bytes, centre: str, study_id: str) -> int:
    """The patient's date offset in days, in 0-364, from the keyed hash's last 8 bytes."""
    tail = _digest(key, "shift", f"{centre}\x1f{study_id}")[-8:]
    return int.from_bytes(tail, "big") % 365


@dataclass(frozen=True)
class Deidentified:
    """A de-identified copy of the frames, and the registry ids of the patients in it."""

    frames: RegistryFrames
    patient_ids: tuple[int, ...]
    dates: DateMode
    coarsened: bool


def _renumber(frame: pd.DataFrame, column: str, order: pd.Series) -> pd.Series:
    mapping = {old: new for new, old in enumerate(order, start=1)}
    return frame[column].map(mapping).astype("Int64")


def deidentify(
    frames: RegistryFrames,
    *,
    key: bytes,
    coarsen_centres: bool = False,
    dates: DateMode = "shifted",
) -> Deidentified:
    """A de-identified copy of ``frames`` (see the module's description).

    Parameters
    ----------
    frames
        The registry's frames (:func:`bassinet.registry.read_frames`), possibly a subset.
    key
        The de-identification key (:func:`load_key`).
    coarsen_centres
        Replace each centre by its study group (a centre without one becomes "unknown").
    dates
        ``"shifted"``: every date of a patient moved back by the patient's offset;
        ``"days_from_diagnosis"``: every ``*_date`` column replaced by ``*_day``, the
        days from that patient's diagnosis (birth is negative).
    """
    if dates not in ("shifted", "days_from_diagnosis"):
        raise ConfigurationError(f"dates={dates!r} is not 'shifted' or 'days_from_diagnosis'")
    if len(key) < KEY_BYTES:
        raise ConfigurationError(f"the key has {len(key) * 8} bits, fewer than {KEY_BYTES * 8}")
    patients = frames.patients.copy()
    if patients["study_id"].isna().any() or patients["centre"].isna().any():
        raise DataError("every patient needs a study_id and a centre to be de-identified")
    names = [pseudonym(key, c, s) for c, s in zip(patients["centre"], patients["study_id"], strict=True)]
    shifts = [date_shift(key, c, s) for c, s in zip(patients["centre"], patients["study_id"], strict=True)]
    patients["_pseudonym"] = names
    patients = patients.sort_values("_pseudonym", kind="stable").reset_index(drop=True)
    old_ids = patients["id"]
    offset = pd.Series(pd.to_timedelta(shifts, unit="D"), index=frames.patients["id"].to_numpy())
    diagnosis = frames.patients.set_index("id")["diagnosis_date"]

    def move(frame: pd.DataFrame, name: str, owner: pd.Series) -> pd.DataFrame:
        for column in DATE_COLUMNS[name]:
            if column not in frame:
                continue
            values = pd.to_datetime(frame[column])
            if dates == "shifted":
                frame[column] = values - owner.map(offset).to_numpy()
            else:
                days = (values - pd.to_datetime(owner.map(diagnosis)).to_numpy()).dt.days
                frame[column.removesuffix("_date").removesuffix("_on") + "_day"] = days.astype("Int64")
                frame = frame.drop(columns=[column])
        return frame

    groups = frames.study_groups.copy()
    centres = frames.centres.copy()
    if coarsen_centres:
        patients["centre"] = patients["study_group"].fillna("unknown")
        coarse = sorted(set(patients["centre"]))
        group_ids = groups.set_index("name")["id"]
        centres = pd.DataFrame(
            {
                "id": range(1, len(coarse) + 1),
                "name": coarse,
                "study_group_id": pd.Series([group_ids.get(n) for n in coarse], dtype="Int64"),
            }
        )
        patients["centre_id"] = patients["centre"].map(dict(zip(coarse, centres["id"], strict=True)))
    else:
        used = centres[centres["id"].isin(patients["centre_id"])].sort_values("name")
        patients["centre_id"] = _renumber(patients, "centre_id", used["id"])
        centres = used.assign(id=range(1, len(used) + 1)).reset_index(drop=True)
    patients["study_id"] = patients.pop("_pseudonym")
    patients = move(patients, "patients", patients["id"])
    patients["id"] = range(1, len(patients) + 1)
    patients["centre_id"] = patients["centre_id"].astype("Int64")

    children = {}
    for name in CHILD_FRAMES:
        frame = frames[name]
        frame = frame[frame["patient_id"].isin(old_ids)].copy()
        frame = move(frame, name, frame["patient_id"])
        frame["patient_id"] = _renumber(frame, "patient_id", old_ids)
        frame = frame.sort_values(["patient_id", "id"]).reset_index(drop=True)
        frame["id"] = range(1, len(frame) + 1)
        children[name] = frame
    result = RegistryFrames(
        study_groups=groups.reset_index(drop=True),
        centres=centres.reset_index(drop=True),
        patients=patients.reset_index(drop=True),
        import_runs=frames.import_runs.iloc[0:0],
        **children,
    )
    return Deidentified(result, tuple(int(i) for i in old_ids), dates, coarsen_centres)
