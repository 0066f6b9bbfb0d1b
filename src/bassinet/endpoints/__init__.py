"""Endpoints derived from dated clinical records by the trials' definitions.

- :data:`ENDPOINTS`: OS, EFS, DFS, CIR, NRM (death in remission) and TRM, as data
  (:class:`Endpoint`: origin, events, competing events).
- :class:`ClinicalRecords`: the dated tables endpoints are read from.
- :func:`derive`: one row per patient per endpoint, censored at the last contact and
  the data cut-off date; :data:`DERIVED_COLUMNS` are its columns.
- :func:`to_adsl`, :func:`to_adtte`, :func:`write_xpt`: CDISC ADaM datasets as SAS transport.
"""

from bassinet.endpoints._adam import to_adsl, to_adtte, write_xpt
from bassinet.endpoints._definitions import ENDPOINTS, ORIGINS, Endpoint, Origin, get_endpoint
from bassinet.endpoints._derive import COLUMNS as DERIVED_COLUMNS
from bassinet.endpoints._derive import ClinicalRecords, derive

__all__ = [
    "DERIVED_COLUMNS",
    "ENDPOINTS",
    "ORIGINS",
    "ClinicalRecords",
    "Endpoint",
    "Origin",
    "derive",
    "get_endpoint",
    "to_adsl",
    "to_adtte",
    "write_xpt",
]
