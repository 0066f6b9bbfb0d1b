"""FHIR R4 bundles (written in the next step)."""

from __future__ import annotations

from pathlib import Path

from bassinet.errors import ConfigurationError
from bassinet.registry.frames import RegistryFrames


def write_bundles(frames: RegistryFrames, folder: Path) -> list[Path]:
    raise ConfigurationError("fhir export is not available yet")
