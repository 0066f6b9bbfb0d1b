"""Protocol rules: risk groups, treatment plans, transplant indications, each with its reasons.

Each protocol is one module exposing pure functions over :class:`PatientFacts`;
:data:`PROTOCOLS` names them, so adding a protocol is adding a module and a line here.
Database work (stored decisions, randomisation) is in :mod:`.service` and
:mod:`.randomise`, apart from the rules.
"""

from __future__ import annotations

from types import ModuleType

from bassinet.errors import ConfigurationError
from bassinet.protocols import interfant06, interfant99
from bassinet.protocols.decisions import Course, Criterion, Decision, TreatmentPlan
from bassinet.protocols.facts import MRD, PatientFacts

#: Protocols by name: each module has NAME, VERSION and risk_group(facts).
PROTOCOLS: dict[str, ModuleType] = {m.NAME: m for m in (interfant06, interfant99)}


def get_protocol(name: str) -> ModuleType:
    """The protocol module called ``name``."""
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ConfigurationError(
            f"no protocol called {name!r}; protocols: {', '.join(sorted(PROTOCOLS))}"
        ) from None


__all__ = [
    "MRD",
    "PROTOCOLS",
    "Course",
    "Criterion",
    "Decision",
    "PatientFacts",
    "TreatmentPlan",
    "get_protocol",
    "interfant06",
    "interfant99",
]
