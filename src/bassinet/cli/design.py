"""``bassinet design``: sample size and power of a two-arm survival trial, fixed or group-sequential."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from bassinet.cli._common import Registry, _actor, _option_date, _run, app, err, out
from bassinet.errors import ConfigurationError, DataError

if TYPE_CHECKING:
    from rich.table import Table

    from bassinet.application.design import TrialDesign
    from bassinet.design import (
        InterimAnalysis,
        SequentialDesign,
        SequentialSurvival,
        SimulatedSequential,
    )
    from bassinet.plans import Scalar


def _piecewise(text: str) -> tuple[tuple[float, float], ...]:
    try:
        pairs = [item.split(":") for item in text.split(",")]
        return tuple((float(a), float(b)) for a, b in pairs)
    except ValueError:
        raise ConfigurationError(
            f"--piecewise is {text!r}: give START:HAZARD pairs, e.g. 0:0.03,12:0.01,24:0"
        ) from None


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


def _numbers(option: str, text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(item) for item in text.split(","))
    except ValueError:
        raise DataError(f"{option} is {text!r}: give numbers separated by commas, e.g. 0.33,0.67,1") from None


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
        from bassinet.application.design import DesignQuestion, design_trial, simulate_trial
        from bassinet.design import SimulatedPower, SimulatedSequential
        from bassinet.registry import database_url

        question = DesignQuestion(
            control=control, experimental=experimental, at=at, hazard_ratio=hazard_ratio, curve=curve,
            cure_fraction=cure_fraction, piecewise=_piecewise(piecewise) if piecewise is not None else None,
            registry=registry, endpoint=endpoint, origin=origin,
            cutoff=_option_date("--cutoff", cutoff) if cutoff else None, where=_where(where or []),
            alpha=alpha, power=power, sided=sided, allocation=allocation, accrual=accrual,
            accrual_rate=accrual_rate, follow_up=follow_up, dropout=dropout, dropout_time=dropout_time,
            method=method, patients=patients, looks=looks,
            information=_numbers("--information", information), boundary=boundary, spending=spending,
            spending_parameter=spending_parameter,
            alpha_spending=_numbers("--alpha-spending", alpha_spending),
            futility=_numbers("--futility", futility), beta_spending=beta_spending,
            beta_parameter=beta_parameter, binding=binding,
            observed_events=_numbers("--observed-events", observed_events),
            observed_z=_numbers("--observed-z", observed_z),
        )  # fmt: skip
        actor = _actor(None)
        trial = design_trial(actor, question)
        if trial.registry is not None:
            out.print(
                f"control curve: {endpoint} in {trial.registry.patients} patients of "
                f"{database_url(registry)} (Kaplan-Meier, {trial.registry.steps} steps)"
            )
        out.print(_design_table(trial))
        if trial.sequential is not None:
            out.print(_sequential_table(trial.sequential))
        if allocation != 1 and trial.method == "schoenfeld":
            out.print(
                "note: Schoenfeld's formula is approximate under unequal allocation (at 2:1, simulated power "
                "0.732 against the formula's 0.713); check with --simulate",
                soft_wrap=True,
            )
        if trial.monitoring is not None:
            _print_interim(trial.monitoring)
        if not simulate:
            return
        with _progress(simulate) as progress:
            sim = simulate_trial(
                actor, trial, simulate, seed=seed, test=test, workers=workers, scheduler=scheduler,
                progress=progress, connected=_connected,
            )  # fmt: skip
        if trial.sequential is not None:
            assert isinstance(sim, SimulatedSequential)
            _print_sequential_simulation(sim, trial.sequential, trial.patients)
            return
        assert isinstance(sim, SimulatedPower)
        low, high = sim.interval
        out.print(
            f"simulated: {sim.replicates:,} trials of {trial.patients} patients "
            f"({sim.test}, seed {sim.seed}): power {sim.power:.4f} "
            f"(95% Monte Carlo interval {low:.4f} to {high:.4f}), "
            f"{sim.mean_events:.1f} events on average",
            soft_wrap=True,
        )

    _run(work)


def _design_table(trial: TrialDesign) -> Table:
    """The design's inputs and its answer: events and patients needed, or the power."""
    from rich.table import Table

    q = trial.question
    hr = trial.hazard_ratio
    table = Table(title="trial design", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("control curve", trial.control_curve.describe())
    s0 = trial.control_survival
    table.add_row(f"survival at {q.at:g} months", f"control {s0:.3f}, experimental {s0**hr:.3f}")
    table.add_row("hazard ratio", f"{hr:.4f}")
    table.add_row(
        "test", f"{'two' if q.sided == 2 else 'one'}-sided alpha {q.alpha:g}, {trial.method} events"
    )
    if trial.plan is not None:
        table.add_row("analyses", f"{trial.plan.k_max}: {_describe_design(trial.plan)}")
        table.add_row("inflation factor", f"{trial.plan.inflation_factor:.4f}")
    if q.dropout:
        table.add_row(
            "dropout", f"{q.dropout:.0%} over {q.dropout_time:g} months (hazard {trial.dropout_hazard:.4g})"
        )
    if trial.size is not None:
        size = trial.size
        per_arm, exact = size.patients_per_arm, size.patients_per_arm_exact
        table.add_row("power wanted", f"{q.power:.0%}")
        table.add_row(
            "maximum events" if trial.plan is not None else "events needed",
            f"{size.events:.1f} -> {size.events_rounded}",
        )
        table.add_row("accrual, follow-up", f"{size.accrual:.1f} months, then {q.follow_up:g} months")
        table.add_row("P(event) by the analysis", f"{size.event_probability:.4f}")
        table.add_row(
            "patients needed",
            f"{size.patients:.1f} -> {trial.patients} = {per_arm[0]} experimental + {per_arm[1]} control "
            f"({exact[0]:.1f} + {exact[1]:.1f})",
        )
    else:
        assert trial.powered is not None
        powered = trial.powered
        table.add_row(
            "patients", f"{powered.patients} over {powered.accrual:g} months, then {q.follow_up:g} months"
        )
        table.add_row(
            "maximum events" if trial.plan is not None else "expected events", f"{powered.events:.1f}"
        )
        table.add_row("power", f"{powered.power:.4f}")
    sequential = trial.sequential
    if sequential is not None:
        table.add_row(
            "expected events",
            f"{sequential.expected_events_h0:.1f} under H0, {sequential.expected_events_h1:.1f} under H1",
        )
        table.add_row(
            "expected under H1",
            f"{sequential.expected_patients_h1:.1f} patients, {sequential.expected_duration_h1:.1f} months",
        )
    return table


def _connected(workers: int, address: str) -> None:
    err.print(f"dask: {workers} worker(s) at {address}")


@contextmanager
def _progress(replicates: int) -> Iterator[Callable[[int], None]]:
    """A progress bar of the simulated trials on the error stream, shown from the first trial
    done (not while the options are still being checked) and gone when they are all done."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    bar = Progress(*columns, console=err, transient=True)
    task = bar.add_task("simulated trials", total=replicates)
    shown = False

    def update(done: int) -> None:
        nonlocal shown
        if not shown:
            bar.start()
            shown = True
        bar.update(task, completed=done)

    try:
        yield update
    finally:
        if shown:
            bar.stop()
