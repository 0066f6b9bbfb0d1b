"""Use cases of trial design that read the registry: the control arm's curve from its patients.

The design calculations themselves (:mod:`bassinet.design`) read no patient data and need
no permission; estimating the control curve from the registry reads patients, so it is
the ``run_report`` permission over the patients in the actor's scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bassinet.access.policy import Action, Actor
from bassinet.errors import DataError

if TYPE_CHECKING:
    from bassinet.design import PiecewiseExponential
    from bassinet.plans import Scalar

DAYS_PER_MONTH = 30.4375


@dataclass(frozen=True)
class RegistryCurve:
    """The Kaplan-Meier estimate of an endpoint in the registry, as a piecewise-exponential
    control curve in months, with the number of patients and of steps it rests on."""

    curve: PiecewiseExponential
    endpoint: str
    patients: int
    steps: int


def registry_curve(
    actor: Actor,
    url: str | None,
    endpoint: str,
    *,
    origin: str | None = None,
    cutoff: dt.date | None = None,
    where: Mapping[str, Scalar | list[Scalar]] | None = None,
) -> RegistryCurve:
    """The Kaplan-Meier estimate of ``endpoint`` among the patients in scope that ``where``
    selects (derived variables of the plans), censored at ``cutoff`` (default: the last
    contact), as :meth:`PiecewiseExponential.from_kaplan_meier` makes it a design curve."""
    from bassinet.application.reports import read_records
    from bassinet.design import PiecewiseExponential
    from bassinet.endpoints import derive, get_endpoint
    from bassinet.plans import analysis_frame, select_patients
    from bassinet.survival import KaplanMeier, kaplan_meier

    records = read_records(actor, url, Action.RUN_REPORT)
    conditions = dict(where or {})
    if conditions:
        variables = analysis_frame(records, list(conditions))
        keep = variables.index[select_patients(variables, conditions)]
        if not len(keep):
            wanted = " ".join(f"{k}={v}" for k, v in conditions.items())
            raise DataError(f"no patient in {url} matches --where {wanted}")
        records = records.subset(keep)
    when = cutoff or records.patients["last_contact_date"].max().date()
    chosen = get_endpoint(endpoint)
    frame = derive(records, [chosen.from_origin(origin) if origin else chosen], cutoff=when)  # type: ignore[arg-type]
    fit = kaplan_meier(frame["time_days"].to_numpy(float) / DAYS_PER_MONTH, frame["status"].to_numpy())
    assert isinstance(fit, KaplanMeier)
    steps = (fit.n_event > 0) & (fit.surv > 0) & (fit.time > 0)
    curve = PiecewiseExponential.from_kaplan_meier(fit.time[steps], fit.surv[steps])
    return RegistryCurve(curve, endpoint, len(frame), int(steps.sum()))
