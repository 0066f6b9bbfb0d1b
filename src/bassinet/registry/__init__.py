"""The patient registry: model, store, validated import, audit trail, export.

Importing this package registers the audit listener (:mod:`.audit`) on every
SQLAlchemy session, so no write to registry data escapes the audit trail.
"""

from bassinet.registry import audit as _audit  # noqa: F401  (registers the audit listener)
from bassinet.registry import signoff as _signoff  # noqa: F401  (registers the sign-off rules of every write)
from bassinet.registry.frames import (
    RegistryFrames,
    export_frames,
    open_registry,
    read_audit_log,
    read_frames,
)
from bassinet.registry.importer import ImportReport, SheetCount, import_files
from bassinet.registry.mapping import Mapping, load_mapping
from bassinet.registry.problems import ImportRejected, Problem
from bassinet.registry.store import (
    database_url,
    init_registry,
    make_engine,
    registry_session,
    require_current,
)

__all__ = [
    "ImportRejected",
    "ImportReport",
    "Mapping",
    "Problem",
    "RegistryFrames",
    "SheetCount",
    "database_url",
    "export_frames",
    "import_files",
    "init_registry",
    "load_mapping",
    "make_engine",
    "open_registry",
    "read_audit_log",
    "read_frames",
    "registry_session",
    "require_current",
]
