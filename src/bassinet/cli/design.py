"""``bassinet design``: sample size and power of a two-arm survival trial, fixed or group-sequential."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from bassinet.cli._common import Registry, _actor, _option_date, _run, app, err, out
from bassinet.errors import ConfigurationError, DataError

if TYPE_CHECKING:
    from rich.table import Table

    from bassinet.design import (
        Curve,
        InterimAnalysis,
        PiecewiseExponential,
        SequentialDesign,
        SequentialSurvival,
        SimulatedPower,
        SimulatedSequential,
        Test,
    )
    from bassinet.plans import Scalar

DAYS_PER_MONTH = 30.4375
T = TypeVar("T")


def _piecewise(text: str) -> PiecewiseExponential:
    from bassinet.design import PiecewiseExponential

    try:
        pairs = [item.split(":") for item in text.split(",")]
        starts = tuple(float(a) for a, _ in pairs)
        rates = tuple(float(b) for _, b in pairs)
    except ValueError:
        raise ConfigurationError(
            f"--piecewise is {text!r}: give START:HAZARD pairs, e.g. 0:0.03,12:0.01,24:0"
        ) from None
    return PiecewiseExponential(starts, rates)


def _where(conditions: list[str]) -> dict[str, Scalar | list[Scalar]]:
    """``NAME=VALUE`` conditions on the plans' derived variables (true/false for yes-no ones)."""
    from bassinet.plans import CATALOGUE

    wanted: dict[str, Scalar | list[Scalar]] = {}
    for condition in conditions:
        name, sep, value = condition.partition("=")
        if not sep or name not in CATALOGUE:
            raise ConfigurationError(
                f"--where {condition!r}: give NAME=VALUE with a variable of {', '.join(CATALOGUE)}"
            )
        wanted[name] = {"true": True, "false": False}.get(value.casefold(), value)
    return wanted


def _registry_curve(
    url: str | None, endpoint: str, origin: str | None, cutoff: str | None, where: list[str]
) -> PiecewiseExponential:
    """The Kaplan-Meier estimate of ``endpoint`` among the patients ``where`` selects, in months."""
    from bassinet.application.design import registry_curve
    from bassinet.registry import database_url

    when = _option_date("--cutoff", cutoff) if cutoff else None
    try:
        found = registry_curve(_actor(None), url, endpoint, origin=origin, cutoff=when, where=_where(where))
    except DataError as exc:
        if "matches --where" not in str(exc):
            raise
        raise DataError(f"no patient in {database_url(url)} matches --where {' '.join(where)}") from None
    out.print(
        f"control curve: {endpoint} in {found.patients} patients of {database_url(url)} "
        f"(Kaplan-Meier, {found.steps} steps)"
    )
    return found.curve


def _numbers(option: str, text: str) -> list[float]:
    try:
        return [float(item) for item in text.split(",")]
    except ValueError:
        raise DataError(f"{option} is {text!r}: give numbers separated by commas, e.g. 0.33,0.67,1") from None


def _sequential_design(
    looks: int, information: str | None, boundary: str, spending: str, spending_parameter: float | None,
    futility: str | None, beta_spending: str | None, beta_parameter: float | None, binding: bool,
    alpha: float, power: float, sided: int, alpha_spending: str | None = None,
) -> SequentialDesign | None:  # fmt: skip
    """The group-sequential design the options ask for, or None for a fixed design."""
    from bassinet.design import check_rates, group_sequential

    if information is not None:
        rates: list[float] | int = list(
            check_rates(_numbers("--information", information), argument="--information")
        )
        if looks not in (1, len(rates)):  # type: ignore[arg-type]
            raise DataError(f"--looks is {looks}: --information gives {len(rates)} analyses")  # type: ignore[arg-type]
    else:
        if not 1 <= looks <= 20:
            raise DataError(f"--looks is {looks}: between 1 and 20 analyses")
        rates = looks
    if rates == 1 or (isinstance(rates, list) and len(rates) == 1 and futility is None):
        return None
    # name the command-line option that is missing, not the library's argument
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
        futility=_numbers("--futility", futility) if futility is not None else None,
        binding=binding, beta_spending=beta_spending, beta_parameter=beta_parameter,  # type: ignore[arg-type]
        alpha_spending=_numbers("--alpha-spending", alpha_spending) if alpha_spending is not None else None,
    )  # fmt: skip


def _sequential_table(plan: SequentialSurvival) -> Table:
    """One column per analysis: when it comes, its bounds on three scales, its stopping probabilities."""
    from rich import box
    from rich.table import Table

    d = plan.design
    table = Table(title=f"{d.k_max} analyses", header_style="bold", box=box.SIMPLE_HEAD)
    table.add_column("analysis", style="bold")
    for k in range(d.k_max):
        table.add_column(str(k + 1), justify="right")
    h0 = d.crossing(0.0)
    direction = "below" if plan.hazard_ratio < 1 else "above"

    def row(label: str, values: Sequence[float], form: str) -> None:
        table.add_row(label, *(format(v, form) for v in values))

    row("information", d.information_rates, ".3f")
    row("events", plan.events_per_stage, ".1f")
    row("month", plan.analysis_times, ".1f")
    row("patients entered", plan.patients_per_stage, ".1f")
    row("efficacy bound, z", d.critical_values, ".4f")
    row("nominal p-value", plan.critical_p_values, ".5f")
    row(f"hazard ratio {direction}", plan.critical_hazard_ratios, ".4f")
    row("alpha spent", d.alpha_spent, ".5f")
    if d.futility_bounds is not None and plan.futility_hazard_ratios is not None:
        table.add_row("futility bound, z", *(f"{b:.4f}" for b in d.futility_bounds), "")
        other = "above" if plan.hazard_ratio < 1 else "below"
        table.add_row(f"hazard ratio {other}", *(f"{b:.4f}" for b in plan.futility_hazard_ratios), "")
    row("P(stop) under H0", [e + f for e, f in zip(h0.efficacy, h0.futility, strict=True)], ".4f")
    row("P(efficacy) under H1", plan.rejection_per_stage, ".4f")
    if d.futility_bounds is not None:
        table.add_row("P(futility) under H1", *(f"{p:.4f}" for p in plan.futility_per_stage[:-1]), "")
    return table


def _describe_design(d: SequentialDesign) -> str:
    if d.boundary != "spending":
        name = {"obrien-fleming": "O'Brien-Fleming", "pocock": "Pocock"}.get(d.boundary, "Wang-Tsiatis")
        text = f"{name} boundaries"
    elif d.spending is None:
        text = "alpha spent as given"
    else:
        name = {
            "obf": "O'Brien-Fleming-like",
            "pocock": "Pocock-like",
            "kd": "Kim-DeMets",
            "hsd": "Hwang-Shih-DeCani",
        }[d.spending]
        text = f"{name} alpha spending" + (f" ({d.parameter:g})" if d.parameter is not None else "")
    if d.beta_spending is not None:
        text += f", {d.beta_spending} beta spending"
    if d.futility_bounds is not None:
        text += ", binding futility" if d.binding else ", non-binding futility"
    return text


def _print_interim(result: InterimAnalysis) -> None:
    """The analyses so far, each with its recomputed bound and repeated interval; then the decision."""
    from rich import box
    from rich.table import Table

    table = Table(
        title=f"interim monitoring at analysis {result.stage} of {result.design.k_max}",
        header_style="bold",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("analysis", style="bold")
    for k in range(result.stage):
        table.add_column(str(k + 1), justify="right")
    table.add_row("events", *(f"{e:g}" for e in result.events))
    table.add_row("information", *(f"{t:.3f}" for t in result.information_fractions))
    table.add_row("efficacy bound, z", *(f"{c:.4f}" for c in result.design.critical_values[: result.stage]))
    futility = result.design.futility_bounds
    if futility is not None:
        # the futility bounds of the analyses so far (none at the final one)
        table.add_row(
            "futility bound, z",
            *(f"{futility[k]:.4f}" if k < len(futility) else "" for k in range(result.stage)),
        )
    table.add_row("observed z (favouring exp.)", *(f"{z:.4f}" for z in result.z))
    table.add_row("hazard ratio", *(f"{h:.4f}" for h in result.hazard_ratios))
    level = 1 - 2 * result.design.alpha / result.design.sided
    intervals = (f"{a:.3f} to {b:.3f}" for a, b in zip(result.rci_lower, result.rci_upper, strict=True))
    table.add_row(f"repeated {level:.0%} CI", *intervals)
    if result.repeated_p_values is not None:
        table.add_row("repeated p-value", *(f"{p:.4f}" for p in result.repeated_p_values))
    out.print(table)
    text = f"decision: {result.decision}"
    if result.conditional_power:
        text += (
            f"; conditional power {result.conditional_power[-1]:.4f} under the design's hazard ratio "
            f"{result.planned_hazard_ratio:.4f}, {result.conditional_power_observed[-1]:.4f} "
            "under the observed "
            f"{result.hazard_ratios[-1]:.4f}, {result.conditional_rejection[-1]:.4f} under H0"
        )
    out.print(text, soft_wrap=True)


def _print_sequential_simulation(sim: SimulatedSequential, plan: SequentialSurvival, n: int) -> None:
    """The simulated stopping shares next to the analytic probabilities, with Monte Carlo errors."""
    from rich import box
    from rich.table import Table

    table = Table(
        title=f"simulated: {sim.replicates:,} trials of {n} patients (logrank, seed {sim.seed})",
        header_style="bold",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("analysis", style="bold")
    for k in range(len(sim.efficacy)):
        table.add_column(str(k + 1), justify="right")
    table.add_row("at events", *(str(e) for e in sim.events))
    table.add_row("P(efficacy), simulated", *(f"{p:.4f}" for p in sim.efficacy))
    table.add_row("Monte Carlo SE", *(f"{sim.std_err(p):.4f}" for p in sim.efficacy))
    table.add_row("P(efficacy), analytic", *(f"{p:.4f}" for p in plan.rejection_per_stage))
    if plan.design.futility_bounds is not None:
        table.add_row("P(futility), simulated", *(f"{p:.4f}" for p in sim.futility[:-1]), "")
        table.add_row("P(futility), analytic", *(f"{p:.4f}" for p in plan.futility_per_stage[:-1]), "")
    out.print(table)
    low, high = sim.power - 1.96 * sim.std_err(sim.power), sim.power + 1.96 * sim.std_err(sim.power)
    out.print(
        f"simulated power {sim.power:.4f} (95% Monte Carlo interval {low:.4f} to {high:.4f}; analytic "
        f"{plan.power:.4f}); on average {sim.mean_events:.1f} events and {sim.mean_duration:.1f} months "
        f"(analytic {plan.expected_events_h1:.1f} and {plan.expected_duration_h1:.1f})",
        soft_wrap=True,
    )


@app.command()
def design(
    control: Annotated[float | None, typer.Option(help="Control arm's survival at --at, e.g. 0.41.")] = None,
    experimental: Annotated[
        float | None, typer.Option(help="Experimental arm's survival at --at, e.g. 0.57.")
    ] = None,
    at: Annotated[float, typer.Option(help="The time of those proportions (months).")] = 36.0,
    hazard_ratio: Annotated[
        float | None,
        typer.Option(help="Hazard ratio, experimental over control (instead of --experimental)."),
    ] = None,
    curve: Annotated[
        str, typer.Option(help="Control curve: exponential, cure, piecewise or registry.")
    ] = "exponential",
    cure_fraction: Annotated[float, typer.Option(help="Plateau of the cure curve (--curve cure).")] = 0.3,
    piecewise: Annotated[
        str | None, typer.Option(help="START:HAZARD pairs for --curve piecewise (months, per month).")
    ] = None,
    registry: Registry = None,
    endpoint: Annotated[str, typer.Option(help="Endpoint of the registry curve.")] = "EFS",
    origin: Annotated[
        str | None, typer.Option(help="Origin of the registry curve's endpoint, e.g. randomisation.")
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(help="Patients of the registry curve: NAME=VALUE, repeatable (e.g. arm=IB)."),
    ] = None,
    cutoff: Annotated[
        str | None, typer.Option(help="Data cut-off of the registry curve, YYYY-MM-DD.")
    ] = None,
    alpha: Annotated[float, typer.Option(help="Type I error.")] = 0.05,
    power: Annotated[float, typer.Option(help="Power wanted.")] = 0.8,
    sided: Annotated[int, typer.Option(help="1 or 2 sided test.")] = 2,
    allocation: Annotated[float, typer.Option(help="Experimental : control ratio.")] = 1.0,
    accrual: Annotated[float | None, typer.Option(help="Accrual period (months).")] = None,
    accrual_rate: Annotated[
        float | None, typer.Option(help="Patients a month (instead of --accrual).")
    ] = None,
    follow_up: Annotated[
        float, typer.Option(help="Follow-up after the last patient enters (months).")
    ] = 36.0,
    dropout: Annotated[float, typer.Option(help="Share of patients lost over --dropout-time.")] = 0.0,
    dropout_time: Annotated[float, typer.Option(help="Months over which --dropout are lost.")] = 12.0,
    method: Annotated[str, typer.Option(help="schoenfeld, freedman or hsieh-freedman.")] = "schoenfeld",
    patients: Annotated[
        int | None, typer.Option(help="Power for this many patients (instead of the sample size).")
    ] = None,
    looks: Annotated[int, typer.Option(help="Analyses, the last one final, at equal information.")] = 1,
    information: Annotated[
        str | None,
        typer.Option(help="Information rates of the analyses, e.g. 0.33,0.67,1 (instead of --looks)."),
    ] = None,
    boundary: Annotated[
        str, typer.Option(help="Efficacy bounds: spending, obrien-fleming, pocock or wang-tsiatis.")
    ] = "spending",
    spending: Annotated[
        str, typer.Option(help="Alpha spending: obf (O'Brien-Fleming-like), pocock, kd (Kim-DeMets), hsd.")
    ] = "obf",
    spending_parameter: Annotated[
        float | None, typer.Option(help="rho of kd, gamma of hsd, delta of wang-tsiatis.")
    ] = None,
    alpha_spending: Annotated[
        str | None,
        typer.Option(
            help="Cumulative alpha to spend by each analysis, e.g. 0.001,0.01,0.05 (instead of --spending)."
        ),
    ] = None,
    futility: Annotated[
        str | None, typer.Option(help="Futility bounds (z) at the interim analyses, e.g. 0,0.5.")
    ] = None,
    beta_spending: Annotated[
        str | None, typer.Option(help="Futility bounds by beta spending: obf, pocock, kd or hsd.")
    ] = None,
    beta_parameter: Annotated[float | None, typer.Option(help="rho or gamma of --beta-spending.")] = None,
    binding: Annotated[bool, typer.Option(help="Futility bounds bind (enter the type I error).")] = False,
    observed_events: Annotated[
        str | None,
        typer.Option(help="Interim monitoring: cumulative events at the analyses so far, e.g. 52,98."),
    ] = None,
    observed_z: Annotated[
        str | None,
        typer.Option(
            help="Log-rank z of the experimental arm at each, e.g. -1.2,-2.6 (negative: fewer events)."
        ),
    ] = None,
    simulate: Annotated[int, typer.Option(help="Trials to simulate to check the power (0: none).")] = 0,
    test: Annotated[str, typer.Option(help="Test of the simulated trials: logrank or cox.")] = "logrank",
    seed: Annotated[int, typer.Option(help="Seed of the simulation.")] = 1,
    workers: Annotated[int, typer.Option(help="Dask workers of the local cluster (0: in this process).")] = 2,
    scheduler: Annotated[
        str | None, typer.Option(help="Address of an existing Dask scheduler, e.g. tcp://host:8786.")
    ] = None,
) -> None:
    """Events and patients needed (or power) for comparing two survival curves, checked by simulation.

    With --looks or --information, a group-sequential design: bounds, events, calendar time and \
stopping probabilities of each analysis. With --observed-events and --observed-z, the \
interim monitoring of a running trial.
    """

    def work() -> None:
        from rich.table import Table

        from bassinet.design import (
            CureFraction,
            Exponential,
            Method,
            check_design,
            dropout_hazard,
            hazard_ratio_from_survival,
            interim_analysis,
            power_for_patients,
            sample_size,
            sequential_power,
            sequential_sample_size,
            simulate_sequential,
        )

        if piecewise is not None and curve != "piecewise":
            raise ConfigurationError(f"--piecewise is given but --curve is {curve!r}: add --curve piecewise")
        if curve in ("exponential", "cure"):
            if control is None:
                raise ConfigurationError("--control is required: the control arm's survival at --at")
            if not 0 < control < 1:
                raise DataError(f"--control is {control:g}: a survival proportion must lie in (0, 1)")
        if curve == "exponential":
            assert control is not None
            base: Curve = Exponential.from_survival(control, at)
        elif curve == "cure":
            assert control is not None
            base = CureFraction.from_survival(cure_fraction, control, at)
        elif curve == "piecewise":
            if piecewise is None:
                raise ConfigurationError("--curve piecewise needs --piecewise START:HAZARD,...")
            base = _piecewise(piecewise)
        elif curve == "registry":
            base = _registry_curve(registry, endpoint, origin, cutoff, where or [])
        else:
            raise ConfigurationError(f"--curve is {curve!r}: exponential, cure, piecewise or registry")
        s0 = float(base.survival(at))
        if hazard_ratio is not None:
            hr = hazard_ratio
        elif experimental is not None:
            hr = hazard_ratio_from_survival(s0, experimental)
        else:
            raise ConfigurationError("give --experimental (survival at --at) or --hazard-ratio")
        phi = dropout_hazard(dropout, dropout_time)
        chosen: Method = method  # type: ignore[assignment]
        check_design(
            hazard_ratio=hr, alpha=alpha, power=power, sided=sided, allocation=allocation, method=method
        )
        if (observed_events is None) != (observed_z is None):
            raise ConfigurationError("give --observed-events and --observed-z together")
        if observed_events is not None and not (looks > 1 or information is not None):
            raise ConfigurationError(
                "--observed-events needs a group-sequential design: --looks or --information"
            )
        plan = _sequential_design(
            looks, information, boundary, spending, spending_parameter, futility, beta_spending,
            beta_parameter, binding, alpha, power, sided, alpha_spending,
        )  # fmt: skip
        table = Table(title="trial design", show_header=False)
        table.add_column("", style="bold")
        table.add_column("")
        table.add_row("control curve", base.describe())
        table.add_row(f"survival at {at:g} months", f"control {s0:.3f}, experimental {s0**hr:.3f}")
        table.add_row("hazard ratio", f"{hr:.4f}")
        table.add_row("test", f"{'two' if sided == 2 else 'one'}-sided alpha {alpha:g}, {chosen} events")
        if plan is not None:
            table.add_row("analyses", f"{plan.k_max}: {_describe_design(plan)}")
            table.add_row("inflation factor", f"{plan.inflation_factor:.4f}")
        if dropout:
            table.add_row("dropout", f"{dropout:.0%} over {dropout_time:g} months (hazard {phi:.4g})")
        sequential: SequentialSurvival | None = None
        if patients is None:
            if plan is not None:
                sequential = sequential_sample_size(
                    plan, base, hr, accrual=accrual, accrual_rate=accrual_rate, follow_up=follow_up,
                    allocation=allocation, dropout=(phi, phi), method=chosen,
                )  # fmt: skip
                events, rounded, omega = (
                    sequential.max_events,
                    sequential.max_events_rounded,
                    sequential.event_probability,
                )
                total, per_arm, months = (
                    sequential.patients,
                    sequential.patients_per_arm_rounded,
                    sequential.accrual,
                )
                exact_arms = (total * allocation / (1 + allocation), total / (1 + allocation))
            else:
                size = sample_size(
                    base, hr, accrual=accrual, accrual_rate=accrual_rate, follow_up=follow_up, alpha=alpha,
                    power=power, sided=sided, allocation=allocation, dropout=(phi, phi), method=chosen,
                )  # fmt: skip
                events, rounded, omega = size.events, size.events_rounded, size.event_probability
                total, per_arm, months = size.patients, size.patients_per_arm_rounded, size.accrual
                exact_arms = (size.patients_experimental, size.patients_control)
            n = sum(per_arm)
            table.add_row("power wanted", f"{power:.0%}")
            table.add_row(
                "maximum events" if plan is not None else "events needed", f"{events:.1f} -> {rounded}"
            )
            table.add_row("accrual, follow-up", f"{months:.1f} months, then {follow_up:g} months")
            table.add_row("P(event) by the analysis", f"{omega:.4f}")
            table.add_row(
                "patients needed",
                f"{total:.1f} -> {n} = {per_arm[0]} experimental + {per_arm[1]} control "
                f"({exact_arms[0]:.1f} + {exact_arms[1]:.1f})",
            )
        else:
            if accrual is None:
                raise ConfigurationError("--patients needs --accrual (months)")
            n, months = patients, accrual
            result = power_for_patients(
                n, base, hr, accrual=accrual, follow_up=follow_up, alpha=alpha, sided=sided,
                allocation=allocation, dropout=(phi, phi), method=chosen,
            )  # fmt: skip
            table.add_row("patients", f"{n} over {accrual:g} months, then {follow_up:g} months")
            if plan is not None:
                sequential = sequential_power(
                    plan, base, hr, events=result.events, patients=n, accrual=accrual, allocation=allocation,
                    dropout=(phi, phi), method=chosen,
                )  # fmt: skip
                table.add_row("maximum events", f"{result.events:.1f}")
                table.add_row("power", f"{sequential.power:.4f}")
            else:
                table.add_row("expected events", f"{result.events:.1f}")
                table.add_row("power", f"{result.power:.4f}")
        if sequential is not None:
            table.add_row(
                "expected events",
                f"{sequential.expected_events_h0:.1f} under H0, {sequential.expected_events_h1:.1f} under H1",
            )
            table.add_row(
                "expected under H1",
                f"{sequential.expected_patients_h1:.1f} patients, "
                f"{sequential.expected_duration_h1:.1f} months",
            )
        monitoring = None
        if observed_events is not None and observed_z is not None:
            if plan is None or sequential is None:
                raise ConfigurationError(
                    "--observed-events needs a group-sequential design: --looks or --information"
                )
            monitoring = interim_analysis(
                plan, _numbers("--observed-events", observed_events), _numbers("--observed-z", observed_z),
                max_events=sequential.max_events, hazard_ratio=hr, allocation=allocation,
            )  # fmt: skip
        out.print(table)
        if sequential is not None:
            out.print(_sequential_table(sequential))
        if allocation != 1 and chosen == "schoenfeld":
            out.print(
                "note: Schoenfeld's formula is approximate under unequal allocation (at 2:1, simulated power "
                "0.732 against the formula's 0.713); check with --simulate",
                soft_wrap=True,
            )
        if monitoring is not None:
            _print_interim(monitoring)
        if simulate and plan is not None and sequential is not None:
            if test != "logrank":
                raise ConfigurationError(
                    f"--test is {test!r}: group-sequential trials are simulated with logrank"
                )
            _print_sequential_simulation(
                _on_dask(
                    simulate, workers, scheduler,
                    lambda client, progress: simulate_sequential(
                        plan, base, hr, n, events=sequential.max_events, accrual=months,
                        allocation=allocation,
                        dropout=(phi, phi), replicates=simulate, seed=seed, client=client, progress=progress,
                    ),
                ),
                sequential, n,
            )  # fmt: skip
        elif simulate:
            if test not in ("logrank", "cox"):
                raise ConfigurationError(f"--test is {test!r}: logrank or cox")
            sim = _simulate(base, hr, n, months, follow_up, alpha, sided, allocation, phi, simulate, seed,
                            test, workers, scheduler)  # type: ignore[arg-type]  # fmt: skip
            low, high = sim.interval
            out.print(
                f"simulated: {sim.replicates:,} trials of {n} patients ({sim.test}, seed {sim.seed}): "
                f"power {sim.power:.4f} (95% Monte Carlo interval {low:.4f} to {high:.4f}), "
                f"{sim.mean_events:.1f} events on average",
                soft_wrap=True,
            )

    _run(work)


def _simulate(
    base: Curve, hr: float, n: int, accrual: float, follow_up: float, alpha: float, sided: int,
    allocation: float, phi: float, replicates: int, seed: int, test: Test, workers: int,
    scheduler: str | None,
) -> SimulatedPower:  # fmt: skip
    """Power by simulation, on a local Dask cluster, an existing one, or (workers 0) in this process."""
    from bassinet.design import simulate_power

    return _on_dask(
        replicates, workers, scheduler,
        lambda client, progress: simulate_power(
            base, hr, n, accrual=accrual, follow_up=follow_up, alpha=alpha, sided=sided,
            allocation=allocation, dropout=(phi, phi), replicates=replicates, seed=seed, test=test,
            client=client, progress=progress,
        ),
    )  # fmt: skip


def _on_dask(
    replicates: int, workers: int, scheduler: str | None, job: Callable[[Any, Callable[[int], None]], T]
) -> T:
    """Run ``job(client, progress)`` on a local Dask cluster, an existing one, or (workers 0) here."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
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
            err.print(
                f"dask: {len(client.scheduler_info()['workers'])} worker(s) at {client.scheduler.address}"
            )
        bar = stack.enter_context(Progress(*columns, console=err, transient=True))
        task = bar.add_task("simulated trials", total=replicates)
        try:
            result: T = job(client, lambda k: bar.update(task, completed=k))
            return result
        except OSError as exc:
            raise DataError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc})") from None
