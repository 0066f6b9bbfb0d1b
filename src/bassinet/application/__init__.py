"""The application layer: each use case of Bassinet as one function of the acting user.

Both front ends, the ``bassinet`` command (:mod:`bassinet.cli`) and the web application
(:mod:`bassinet.web`), call these functions and hold no orchestration of their own. Each
function takes the acting :class:`~bassinet.access.Actor` first, checks the permission at
its start with :func:`bassinet.access.authorise` (the one place), reaches patients only
through :func:`bassinet.access.scope_patients`, and returns frozen result objects that the
front end prints or renders.

- :mod:`.records`: import, correct, delete, merge, move; patient list, page and audit trail.
- :mod:`.protocol`: stratify, randomise, balance, unblind, the key file, explain.
- :mod:`.reports`: run a plan and write its report with ADaM; derive endpoints.
- :mod:`.exports`: export the registry (CSV, Parquet, FHIR, ODM, Dataset-JSON, de-identified).
- :mod:`.design`: the registry's control curve for a trial design.
- :mod:`.admin`: users, grants and personal access tokens.

The CLI's actor is :func:`local_operator`. See ``docs/architecture.md``.
"""

from bassinet.application import admin, design, exports, protocol, records, reports
from bassinet.application._guard import local_operator

__all__ = ["admin", "design", "exports", "local_operator", "protocol", "records", "reports"]
