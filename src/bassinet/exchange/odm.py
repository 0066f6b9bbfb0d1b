"""CDISC ODM 1.3.2 (written in a later step)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bassinet.errors import ConfigurationError
from bassinet.registry.frames import RegistryFrames


def write_odm(frames: RegistryFrames, path: Path, *, study: str, audit_log: pd.DataFrame | None) -> Path:
    raise ConfigurationError("odm export is not available yet")
