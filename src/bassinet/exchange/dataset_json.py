"""CDISC Dataset-JSON (written in a later step)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bassinet.errors import ConfigurationError
from bassinet.registry.frames import RegistryFrames


def write_dataset_json(frames: RegistryFrames, folder: Path, *, study: str, cutoff: dt.date) -> list[Path]:
    raise ConfigurationError("dataset-json export is not available yet")
