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

- GRFS (Holtan et al., Blood 2015;125:1333-1338): from transplant to the first of grade
  III-IV acute GVHD, chronic GVHD that needed systemic treatment, relapse or death.
- AGVHD24, AGVHD34, CGVHD: cumulative incidence of acute GVHD of maximum MAGIC grade
  II-IV and III-IV, and of chronic GVHD (NIH mild to severe), from transplant, with death
  without GVHD as the competing event. Relapse is not competing: EBMT's statistical
  guidelines (Iacobelli, Bone Marrow Transplant 2013;48:S1-S37) take death without GVHD
  as the competing event of GVHD, and a relapsed patient can still develop GVHD (after
  immunosuppression is withdrawn or donor lymphocytes given), so censoring or competing
  them at relapse would understate it. A transplant without its GVHD status recorded
  (no acute grade for the acute incidences, no chronic severity for chronic GVHD,
  neither for GRFS) has no row: its GVHD is unknown, not absent. The acute GVHD date is
  the date the maximum grade was reached, so grade II-IV is dated at the maximum grade's
  date even where grade II came earlier.

Every endpoint is censored at the last contact and at the data cut-off date; events
after the cut-off are not seen.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from bassinet.errors import ConfigurationError

Origin = Literal["diagnosis", "remission", "randomisation", "transplant"]
EventKind = Literal[
    "resistant_disease",
    "relapse",
    "death",
    "second_malignancy",
    "agvhd_2_4",
    "agvhd_3_4",
    "cgvhd",
    "cgvhd_systemic",
]
ORIGINS: tuple[Origin, ...] = ("diagnosis", "remission", "randomisation", "transplant")
#: The GVHD events, read from the transplant records rather than the events table:
#: acute GVHD of maximum grade II-IV or III-IV at ``agvhd_date``, chronic GVHD (mild to
#: severe) and chronic GVHD that needed systemic treatment at ``cgvhd_date``.
GVHD_KINDS: tuple[EventKind, ...] = ("agvhd_2_4", "agvhd_3_4", "cgvhd", "cgvhd_systemic")
EVENT_KINDS: tuple[EventKind, ...] = (
    "resistant_disease",
    "relapse",
    "death",
    "second_malignancy",
    *GVHD_KINDS,
)


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

    @property
    def reads_gvhd(self) -> bool:
        """Whether the endpoint reads GVHD from the transplant records (only transplants with
        their GVHD status recorded have a row)."""
        return any(kind in GVHD_KINDS for kind in (*self.events, *self.competing))

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
        # Holtan et al., Blood 2015;125:1333-1338: GVHD-free, relapse-free survival.
        Endpoint(
            "GRFS",
            "GVHD-free relapse-free survival",
            "transplant",
            ("agvhd_3_4", "cgvhd_systemic", "relapse", "death"),
        ),
        # Death without GVHD competes (Iacobelli, Bone Marrow Transplant 2013;48:S1-S37);
        # relapse does not: a relapsed patient stays at risk of GVHD (and more so after the
        # withdrawal of immunosuppression or donor lymphocytes that follow a relapse).
        Endpoint("AGVHD24", "acute GVHD grade II-IV", "transplant", ("agvhd_2_4",), ("death",)),
        Endpoint("AGVHD34", "acute GVHD grade III-IV", "transplant", ("agvhd_3_4",), ("death",)),
        Endpoint("CGVHD", "chronic GVHD", "transplant", ("cgvhd",), ("death",)),
    )
}


def get_endpoint(name: str) -> Endpoint:
    """The endpoint called ``name`` (case-insensitive)."""
    for key, endpoint in ENDPOINTS.items():
        if key.casefold() == name.casefold():
            return endpoint
    raise ConfigurationError(f"no endpoint called {name!r}; endpoints: {', '.join(ENDPOINTS)}")
