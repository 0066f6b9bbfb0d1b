"""Endpoints derived from dated clinical records by the trials' definitions.

- :data:`ENDPOINTS`: OS, EFS, DFS, CIR, NRM (death in remission) and TRM, as data
  (:class:`Endpoint`: origin, events, competing events).
- :class:`ClinicalRecords`: the dated tables endpoints are read from.
- :func:`derive`: one row per patient per endpoint, censored at the last contact and
  the data cut-off date.
"""

from bassinet.endpoints._definitions import ENDPOINTS, Endpoint, get_endpoint
from bassinet.endpoints._derive import ClinicalRecords, derive

__all__ = ["ENDPOINTS", "ClinicalRecords", "Endpoint", "derive", "get_endpoint"]
