"""Exchange with the tools study groups already use, and releases that are logged.

- :mod:`.deidentify`: keyed-hash pseudonyms, one date shift per patient, no free text.
- :mod:`.log`: every export, identified or not, recorded (who, when, format, scope,
  patients, file hashes); :func:`list_exports` reads it back.
- :func:`export_registry`: one export in any format, de-identified on request, logged.
"""

from bassinet.exchange.deidentify import (
    Deidentified,
    create_key,
    date_shift,
    deidentify,
    load_key,
    pseudonym,
)
from bassinet.exchange.log import ExportEntry, list_exports, record_export
from bassinet.exchange.release import FORMATS, Release, export_registry

__all__ = [
    "FORMATS",
    "Deidentified",
    "ExportEntry",
    "Release",
    "create_key",
    "date_shift",
    "deidentify",
    "export_registry",
    "list_exports",
    "load_key",
    "pseudonym",
    "record_export",
]
