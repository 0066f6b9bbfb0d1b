"""Endpoint definitions as data: origin, events, competing events, and what resistant disease counts as.

The definitions follow the trials (../shared/docs/domain.md):

- OS: from the origin to death of any cause.
- EFS: from diagnosis to the first of resistant disease (no complete remission after
  induction, counted as an event at day 0 by default), relapse, death or a second
  malignancy.
- DFS: from complete remission (or randomisation, or transplant) to relapse, death or a
  second malignancy.
- CIR: relapse, with death in remission and second malignancy competing.
- NRM (death in remission; after a transplant, transplant-related mortality): death
  without relapse, with relapse and second malignancy competing.

Every endpoint is censored at the last contact and at the data cut-off date; events
after the cut-off are not seen.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from bassinet.errors import ConfigurationError

Origin = Literal["diagnosis", "remission", "randomisation", "transplant"]
EventKind = Literal["resistant_disease", "relapse", "death", "second_malignancy"]
ORIGINS: tuple[Origin, ...] = ("diagnosis", "remission", "randomisation", "transplant")
EVENT_KINDS: tuple[EventKind, ...] = ("resistant_disease", "relapse", "death", "second_malignancy")


@dataclass(frozen=True)
class Endpoint:
    """A time-to-event endpoint.

    Attributes
    ----------
    name
        Short name used in plans and frames (``"EFS"``).
    title
        Words for tables and sentences (``"event-free survival"``).
    origin
        Where time starts: diagnosis, first complete remission, randomisation or the
        first transplant. Patients without that date have no row for the endpoint.
    events
        Event kinds that end the time (the event of interest, cause 1).
    competing
        Event kinds that end the time as a competing event (cause 2). Empty for a
        survival endpoint (status 1/0).
    resistant_at_day0
        Whether resistant disease is an event at time 0 rather than at its date.
    """

    name: str
    title: str
    origin: Origin
    events: tuple[EventKind, ...]
    competing: tuple[EventKind, ...] = ()
    resistant_at_day0: bool = True

    def __post_init__(self) -> None:
        if self.origin not in ORIGINS:
            raise ConfigurationError(
                f"endpoint {self.name}: origin {self.origin!r} is not one of {', '.join(ORIGINS)}"
            )
        for kind in (*self.events, *self.competing):
            if kind not in EVENT_KINDS:
                raise ConfigurationError(
                    f"endpoint {self.name}: event {kind!r} is not one of {', '.join(EVENT_KINDS)}"
                )
        if set(self.events) & set(self.competing):
            raise ConfigurationError(f"endpoint {self.name}: an event cannot also be competing")

    @property
    def competing_risks(self) -> bool:
        """Whether the endpoint has competing events (a cumulative incidence, not a survival)."""
        return bool(self.competing)

    def from_origin(self, origin: Origin) -> Endpoint:
        """The same endpoint measured from another origin (DFS from randomisation, OS from transplant)."""
        return replace(self, origin=origin)


ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in (
        Endpoint("OS", "overall survival", "diagnosis", ("death",)),
        Endpoint(
            "EFS",
            "event-free survival",
            "diagnosis",
            ("resistant_disease", "relapse", "death", "second_malignancy"),
        ),
        Endpoint("DFS", "disease-free survival", "remission", ("relapse", "death", "second_malignancy")),
        Endpoint(
            "CIR",
            "cumulative incidence of relapse",
            "remission",
            ("relapse",),
            ("death", "second_malignancy"),
        ),
        Endpoint(
            "NRM",
            "death in remission",
            "remission",
            ("death",),
            ("relapse", "second_malignancy"),
        ),
        Endpoint(
            "TRM",
            "transplant-related mortality",
            "transplant",
            ("death",),
            ("relapse", "second_malignancy"),
        ),
    )
}


def get_endpoint(name: str) -> Endpoint:
    """The endpoint called ``name`` (case-insensitive)."""
    for key, endpoint in ENDPOINTS.items():
        if key.casefold() == name.casefold():
            return endpoint
    raise ConfigurationError(f"no endpoint called {name!r}; endpoints: {', '.join(ENDPOINTS)}")
