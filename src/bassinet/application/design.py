"""Use cases of trial design: size or power a two-arm survival trial, monitor it, simulate it.

:func:`design_trial` turns a :class:`DesignQuestion` (the control curve, the effect, the
error rates, accrual and follow-up, an optional group-sequential plan and interim data)
into a :class:`TrialDesign`; :func:`simulate_trial` checks that design's power by
simulated trials. Front ends only gather the question and show the answer.

Permissions. The design calculations themselves (:mod:`bassinet.design`) read no patient
data, and the access policy (:data:`bassinet.access.POLICY`) has no action for them: any
actor may design a trial, so neither function calls ``authorise`` for them. Estimating
the control curve from the registry (``curve="registry"``, :func:`registry_curve`) reads
patients, so it needs the ``run_report`` permission and sees only the patients in the
actor's scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from bassinet.access.policy import Action, Actor
from bassinet.errors import ConfigurationError, DataError

if TYPE_CHECKING:
    from bassinet.design import (
        Curve,
        InterimAnalysis,
        Method,
        PiecewiseExponential,
        SequentialDesign,
        SequentialSurvival,
        SimulatedPower,
        SimulatedSequential,
    )
    from bassinet.plans import Scalar

DAYS_PER_MONTH = 30.4375
T = TypeVar("T")


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
    from bassinet.registry import database_url
    from bassinet.survival import KaplanMeier, kaplan_meier

    records = read_records(actor, url, Action.RUN_REPORT)
    conditions = dict(where or {})
    if conditions:
        variables = analysis_frame(records, list(conditions))
        keep = variables.index[select_patients(variables, conditions)]
        if not len(keep):
            wanted = " ".join(f"{k}={_word(v)}" for k, v in conditions.items())
            raise DataError(f"no patient in {database_url(url)} matches --where {wanted}")
        records = records.subset(keep)
    when = cutoff or records.patients["last_contact_date"].max().date()
    chosen = get_endpoint(endpoint)
    frame = derive(records, [chosen.from_origin(origin) if origin else chosen], cutoff=when)  # type: ignore[arg-type]
    fit = kaplan_meier(frame["time_days"].to_numpy(float) / DAYS_PER_MONTH, frame["status"].to_numpy())
    assert isinstance(fit, KaplanMeier)
    steps = (fit.n_event > 0) & (fit.surv > 0) & (fit.time > 0)
    curve = PiecewiseExponential.from_kaplan_meier(fit.time[steps], fit.surv[steps])
    return RegistryCurve(curve, endpoint, len(frame), int(steps.sum()))


def _word(value: object) -> str:
    """A condition's value as it was written: true/false for the yes-no variables."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


@dataclass(frozen=True)
class DesignQuestion:
    """What a trial design is asked: the inputs of :func:`design_trial`.

    Times are in months. The control curve is ``curve``: ``exponential`` or ``cure``
    through ``control`` (survival at ``at``, with ``cure_fraction``), ``piecewise`` through
    ``piecewise`` (``(start, hazard)`` pairs), or ``registry`` (the Kaplan-Meier estimate of
    ``endpoint`` among the patients ``where`` selects, see :func:`registry_curve`). The
    effect is ``hazard_ratio``, else the experimental arm's survival ``experimental`` at
    ``at``. With ``patients`` the design gives the power of that many patients over
    ``accrual``; otherwise the events and patients needed for ``power``. ``looks`` or
    ``information`` make it group-sequential; ``observed_events`` with ``observed_z`` are
    the interim analyses of a running trial.
    """

    control: float | None = None
    experimental: float | None = None
    at: float = 36.0
    hazard_ratio: float | None = None
    curve: str = "exponential"
    cure_fraction: float = 0.3
    piecewise: tuple[tuple[float, float], ...] | None = None
    registry: str | None = None
    endpoint: str = "EFS"
    origin: str | None = None
    cutoff: dt.date | None = None
    where: Mapping[str, Scalar | list[Scalar]] = field(default_factory=dict)
    alpha: float = 0.05
    power: float = 0.8
    sided: int = 2
    allocation: float = 1.0
    accrual: float | None = None
    accrual_rate: float | None = None
    follow_up: float = 36.0
    dropout: float = 0.0
    dropout_time: float = 12.0
    method: str = "schoenfeld"
    patients: int | None = None
    looks: int = 1
    information: tuple[float, ...] | None = None
    boundary: str = "spending"
    spending: str = "obf"
    spending_parameter: float | None = None
    alpha_spending: tuple[float, ...] | None = None
    futility: tuple[float, ...] | None = None
    beta_spending: str | None = None
    beta_parameter: float | None = None
    binding: bool = False
    observed_events: tuple[float, ...] | None = None
    observed_z: tuple[float, ...] | None = None


@dataclass(frozen=True)
class SampleSizeAnswer:
    """The events and patients a design needs (fixed or group-sequential: its maximum)."""

    events: float
    events_rounded: int
    event_probability: float
    patients: float
    patients_per_arm: tuple[int, int]
    patients_per_arm_exact: tuple[float, float]
    accrual: float


@dataclass(frozen=True)
class PowerAnswer:
    """The power of a given number of patients (and the events expected, or the maximum)."""

    patients: int
    accrual: float
    events: float
    power: float


@dataclass(frozen=True)
class TrialDesign:
    """The answer of :func:`design_trial`: exactly one of ``size`` and ``powered`` is set;
    ``sequential`` for a group-sequential design; ``monitoring`` when interim data were given."""

    question: DesignQuestion
    control_curve: Curve
    registry: RegistryCurve | None
    control_survival: float
    hazard_ratio: float
    method: Method
    dropout_hazard: float
    plan: SequentialDesign | None
    size: SampleSizeAnswer | None
    powered: PowerAnswer | None
    sequential: SequentialSurvival | None
    monitoring: InterimAnalysis | None

    @property
    def patients(self) -> int:
        """Patients of the trial: the rounded sample size, or the number given."""
        if self.size is not None:
            return sum(self.size.patients_per_arm)
        assert self.powered is not None
        return self.powered.patients

    @property
    def accrual(self) -> float:
        """Months of accrual of the trial."""
        return self.size.accrual if self.size is not None else self.powered.accrual  # type: ignore[union-attr]


def sequential_design(
    looks: int,
    information: Sequence[float] | None,
    *,
    boundary: str = "spending",
    spending: str = "obf",
    spending_parameter: float | None = None,
    alpha_spending: Sequence[float] | None = None,
    futility: Sequence[float] | None = None,
    beta_spending: str | None = None,
    beta_parameter: float | None = None,
    binding: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    sided: int = 2,
) -> SequentialDesign | None:
    """The group-sequential design asked for, or None for a fixed design (one analysis).

    Errors name the command-line option that is missing or wrong (``--looks``,
    ``--spending-parameter``...), not the library's argument; the boundaries themselves
    are :func:`bassinet.design.group_sequential`'s (Jennison and Turnbull, 2000).
    """
    from bassinet.design import check_rates, group_sequential

    if information is not None:
        rates: list[float] | int = list(check_rates(list(information), argument="--information"))
        if looks not in (1, len(rates)):  # type: ignore[arg-type]
            raise DataError(f"--looks is {looks}: --information gives {len(rates)} analyses")  # type: ignore[arg-type]
    else:
        if not 1 <= looks <= 20:
            raise DataError(f"--looks is {looks}: between 1 and 20 analyses")
        rates = looks
    if rates == 1 or (isinstance(rates, list) and len(rates) == 1 and futility is None):
        return None
    meaning = {"kd": "rho of kd, e.g. 2", "hsd": "gamma of hsd, e.g. -4"}
    if (
        boundary == "spending"
        and alpha_spending is None
        and spending in meaning
        and spending_parameter is None
    ):
        raise DataError(f"--spending {spending} needs --spending-parameter: the {meaning[spending]}")
    if boundary == "wang-tsiatis" and spending_parameter is None:
        raise DataError("--boundary wang-tsiatis needs --spending-parameter: the delta, e.g. 0.25")
    if beta_spending in meaning and beta_parameter is None:
        raise DataError(
            f"--beta-spending {beta_spending} needs --beta-parameter: the {meaning[beta_spending]}"
        )
    return group_sequential(
        rates, alpha=alpha, beta=1 - power, sided=sided, boundary=boundary,  # type: ignore[arg-type]
        spending=spending, parameter=spending_parameter,  # type: ignore[arg-type]
        futility=list(futility) if futility is not None else None,
        binding=binding, beta_spending=beta_spending, beta_parameter=beta_parameter,  # type: ignore[arg-type]
        alpha_spending=list(alpha_spending) if alpha_spending is not None else None,
    )  # fmt: skip


def _control_curve(actor: Actor, q: DesignQuestion) -> tuple[Curve, RegistryCurve | None]:
    from bassinet.design import CureFraction, Exponential, PiecewiseExponential

    if q.piecewise is not None and q.curve != "piecewise":
        raise ConfigurationError(f"--piecewise is given but --curve is {q.curve!r}: add --curve piecewise")
    if q.curve in ("exponential", "cure"):
        if q.control is None:
            raise ConfigurationError("--control is required: the control arm's survival at --at")
        if not 0 < q.control < 1:
            raise DataError(f"--control is {q.control:g}: a survival proportion must lie in (0, 1)")
    if q.curve == "exponential":
        assert q.control is not None
        return Exponential.from_survival(q.control, q.at), None
    if q.curve == "cure":
        assert q.control is not None
        return CureFraction.from_survival(q.cure_fraction, q.control, q.at), None
    if q.curve == "piecewise":
        if q.piecewise is None:
            raise ConfigurationError("--curve piecewise needs --piecewise START:HAZARD,...")
        starts = tuple(a for a, _ in q.piecewise)
        rates = tuple(b for _, b in q.piecewise)
        return PiecewiseExponential(starts, rates), None
    if q.curve == "registry":
        found = registry_curve(actor, q.registry, q.endpoint, origin=q.origin, cutoff=q.cutoff, where=q.where)
        return found.curve, found
    raise ConfigurationError(f"--curve is {q.curve!r}: exponential, cure, piecewise or registry")


def design_trial(actor: Actor, question: DesignQuestion) -> TrialDesign:
    """Size (or power) the two-arm survival trial ``question`` describes.

    The number of events follows Schoenfeld (1981), Freedman (1982) or Hsieh and Freedman's
    variant (``method``); patients follow from the probability of an event by the analysis
    under uniform accrual and exponential dropout (Lachin and Foulkes, 1986). A
    group-sequential design (Jennison and Turnbull, 2000) gives each analysis its events,
    calendar time and stopping probabilities, and with observed events and z-values the
    interim monitoring of a running trial. The numbers are :mod:`bassinet.design`'s, exact
    against R's ``rpact``.

    No permission is checked unless the control curve comes from the registry, which
    needs ``run_report`` over the patients in the actor's scope (see the module's notes).
    Errors name the option at fault, as the command line spells it.
    """
    from bassinet.design import (
        check_design,
        dropout_hazard,
        hazard_ratio_from_survival,
        interim_analysis,
        power_for_patients,
        sample_size,
        sequential_power,
        sequential_sample_size,
    )

    q = question
    base, found = _control_curve(actor, q)
    s0 = float(base.survival(q.at))
    if q.hazard_ratio is not None:
        hr = q.hazard_ratio
    elif q.experimental is not None:
        hr = hazard_ratio_from_survival(s0, q.experimental)
    else:
        raise ConfigurationError("give --experimental (survival at --at) or --hazard-ratio")
    phi = dropout_hazard(q.dropout, q.dropout_time)
    chosen: Method = q.method  # type: ignore[assignment]
    check_design(
        hazard_ratio=hr, alpha=q.alpha, power=q.power, sided=q.sided, allocation=q.allocation,
        method=q.method,
    )  # fmt: skip
    if (q.observed_events is None) != (q.observed_z is None):
        raise ConfigurationError("give --observed-events and --observed-z together")
    if q.observed_events is not None and not (q.looks > 1 or q.information is not None):
        raise ConfigurationError(
            "--observed-events needs a group-sequential design: --looks or --information"
        )
    plan = sequential_design(
        q.looks, q.information, boundary=q.boundary, spending=q.spending,
        spending_parameter=q.spending_parameter, alpha_spending=q.alpha_spending, futility=q.futility,
        beta_spending=q.beta_spending, beta_parameter=q.beta_parameter, binding=q.binding,
        alpha=q.alpha, power=q.power, sided=q.sided,
    )  # fmt: skip
    sequential: SequentialSurvival | None = None
    size: SampleSizeAnswer | None = None
    powered: PowerAnswer | None = None
    if q.patients is None:
        if plan is not None:
            sequential = sequential_sample_size(
                plan, base, hr, accrual=q.accrual, accrual_rate=q.accrual_rate, follow_up=q.follow_up,
                allocation=q.allocation, dropout=(phi, phi), method=chosen,
            )  # fmt: skip
            total = sequential.patients
            size = SampleSizeAnswer(
                sequential.max_events, sequential.max_events_rounded, sequential.event_probability,
                total, sequential.patients_per_arm_rounded,
                (total * q.allocation / (1 + q.allocation), total / (1 + q.allocation)), sequential.accrual,
            )  # fmt: skip
        else:
            fixed = sample_size(
                base, hr, accrual=q.accrual, accrual_rate=q.accrual_rate, follow_up=q.follow_up,
                alpha=q.alpha, power=q.power, sided=q.sided, allocation=q.allocation, dropout=(phi, phi),
                method=chosen,
            )  # fmt: skip
            size = SampleSizeAnswer(
                fixed.events, fixed.events_rounded, fixed.event_probability, fixed.patients,
                fixed.patients_per_arm_rounded, (fixed.patients_experimental, fixed.patients_control),
                fixed.accrual,
            )  # fmt: skip
    else:
        if q.accrual is None:
            raise ConfigurationError("--patients needs --accrual (months)")
        result = power_for_patients(
            q.patients, base, hr, accrual=q.accrual, follow_up=q.follow_up, alpha=q.alpha, sided=q.sided,
            allocation=q.allocation, dropout=(phi, phi), method=chosen,
        )  # fmt: skip
        if plan is not None:
            sequential = sequential_power(
                plan, base, hr, events=result.events, patients=q.patients, accrual=q.accrual,
                allocation=q.allocation, dropout=(phi, phi), method=chosen,
            )  # fmt: skip
        achieved = sequential.power if sequential is not None else result.power
        powered = PowerAnswer(q.patients, q.accrual, result.events, achieved)
    monitoring = None
    if q.observed_events is not None and q.observed_z is not None:
        if plan is None or sequential is None:
            raise ConfigurationError(
                "--observed-events needs a group-sequential design: --looks or --information"
            )
        monitoring = interim_analysis(
            plan, list(q.observed_events), list(q.observed_z), max_events=sequential.max_events,
            hazard_ratio=hr, allocation=q.allocation,
        )  # fmt: skip
    return TrialDesign(q, base, found, s0, hr, chosen, phi, plan, size, powered, sequential, monitoring)


def simulate_trial(
    actor: Actor,
    trial: TrialDesign,
    replicates: int,
    *,
    seed: int = 1,
    test: str = "logrank",
    workers: int = 0,
    scheduler: str | None = None,
    progress: Callable[[int], None] | None = None,
    connected: Callable[[int, str], None] | None = None,
) -> SimulatedPower | SimulatedSequential:
    """The power of ``trial`` by ``replicates`` simulated trials (a check of the formulas).

    A fixed design is analysed by the log-rank test or Cox's model (``test``), a
    group-sequential one by the log-rank test at each analysis's events; see
    :func:`bassinet.design.simulate_power`. The trials run in this process (``workers``
    0), on a local Dask cluster of ``workers`` processes, or on the cluster at
    ``scheduler``; the same ``seed`` gives the same trials either way. ``progress``
    hears the number of trials done, ``connected`` the cluster's workers and address.
    No permission is needed: nothing is read from the registry.
    """
    from bassinet.design import simulate_power, simulate_sequential

    del actor  # designing and simulating trials needs no permission (module notes)
    q = trial.question
    phi = trial.dropout_hazard
    n = trial.patients
    sequential = trial.sequential
    if trial.plan is not None and sequential is not None:
        if test != "logrank":
            raise ConfigurationError(
                f"--test is {test!r}: group-sequential trials are simulated with logrank"
            )
        plan = trial.plan
        return _on_dask(
            workers, scheduler, connected,
            lambda client: simulate_sequential(
                plan, trial.control_curve, trial.hazard_ratio, n, events=sequential.max_events,
                accrual=trial.accrual, allocation=q.allocation, dropout=(phi, phi), replicates=replicates,
                seed=seed, client=client, progress=progress,
            ),
        )  # fmt: skip
    if test not in ("logrank", "cox"):
        raise ConfigurationError(f"--test is {test!r}: logrank or cox")
    return _on_dask(
        workers, scheduler, connected,
        lambda client: simulate_power(
            trial.control_curve, trial.hazard_ratio, n, accrual=trial.accrual, follow_up=q.follow_up,
            alpha=q.alpha, sided=q.sided, allocation=q.allocation, dropout=(phi, phi),
            replicates=replicates, seed=seed, test=test, client=client, progress=progress,  # type: ignore[arg-type]
        ),
    )  # fmt: skip


def _on_dask(
    workers: int,
    scheduler: str | None,
    connected: Callable[[int, str], None] | None,
    job: Callable[[Any], T],
) -> T:
    """Run ``job(client)`` on a local Dask cluster, an existing one, or (workers 0) here."""
    with ExitStack() as stack:
        client = None
        if scheduler is not None or workers > 0:
            from distributed import Client, LocalCluster

            if scheduler is not None:
                client = stack.enter_context(Client(scheduler))
            else:
                cluster = stack.enter_context(
                    LocalCluster(
                        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
                    )
                )
                client = stack.enter_context(Client(cluster))
            if connected is not None:
                connected(len(client.scheduler_info()["workers"]), str(client.scheduler.address))
        try:
            return job(client)
        except OSError as exc:
            raise DataError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc})") from None
