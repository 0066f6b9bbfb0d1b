"""Exchange with the tools study groups already use, and releases that are logged.

- :mod:`.deidentify`: keyed-hash pseudonyms, one date shift per patient, no free text.
- :mod:`.log`: every export, identified or not, recorded (who, when, format, scope,
  patients, file hashes); :func:`list_exports` reads it back.
- :mod:`.redcap`: a REDCap project (dictionary and records, or its API) proposed a
  mapping and imported through the registry's validated, audited import.
- :mod:`.fhir`: one FHIR R4 Bundle per patient (mCODE where it applies), and back.
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
from bassinet.exchange.fhir import bundles, write_bundles
from bassinet.exchange.fhir_read import import_bundles, read_bundles
from bassinet.exchange.log import ExportEntry, list_exports, record_export
from bassinet.exchange.redcap import (
    RedcapMapping,
    fetch_redcap,
    import_redcap,
    load_redcap_mapping,
    propose_mapping,
)
from bassinet.exchange.redcap_dictionary import Dictionary, read_dictionary
from bassinet.exchange.release import FORMATS, Release, export_registry

__all__ = [
    "FORMATS",
    "Deidentified",
    "Dictionary",
    "ExportEntry",
    "RedcapMapping",
    "Release",
    "bundles",
    "create_key",
    "date_shift",
    "deidentify",
    "export_registry",
    "fetch_redcap",
    "import_bundles",
    "import_redcap",
    "list_exports",
    "load_key",
    "load_redcap_mapping",
    "propose_mapping",
    "pseudonym",
    "read_bundles",
    "read_dictionary",
    "record_export",
    "write_bundles",
]
