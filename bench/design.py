"""Time power by simulation: 10,000 trials of 320 patients, each analysed by the log-rank test.

    python bench/design.py [--replicates 10000] [--patients 320] [--repeats 3]

The Interfant-06 scenario: 41% against 57% 3-year DFS (exponential control), accrual
over 60 months, analysis 36 months after the last patient. Bassinet runs in this process
and on a two-worker local Dask cluster (started once, outside the timing). As a peer,
R's ``rpact::getSimulationSurvival`` simulates the same trials (it stops each trial at
the planned number of events, 148, rather than at a fixed date, and simulates one-sided
tests only, so it runs at one-sided 2.5%, the same critical value as two-sided 5%; the
work per trial is alike). Prints medians, replicates per second, and the ratio to Bassinet in-process.

Then the same trials with two interim analyses (``--looks 3``: one-sided 2.5%,
O'Brien-Fleming-like alpha spending, analyses at 50, 100 and 150 events, every trial
followed until its analyses' events have occurred): Bassinet's ``simulate_sequential``
against ``getSimulationSurvival`` with that design, with the stopping shares of both next
to the analytic probabilities.
"""

from __future__ import annotations

import argparse
import math
from functools import partial

import pandas as pd
from _timing import machine, median_time, r_timings

from bassinet.design import Exponential, group_sequential, simulate_power
from bassinet.design._sequential import crossing_probabilities
from bassinet.design._simulate import simulate_sequential

R_SIMULATION = r"""
suppressMessages(library(rpact))
med <- function(f, k) { x <- numeric(k); for (i in 1:k) x[i] <- system.time(f())[["elapsed"]]; median(x) }
run <- function() getSimulationSurvival(alpha = 0.025, sided = 1, directionUpper = FALSE,
    pi1 = 0.43, pi2 = 0.59, eventTime = 36,
    plannedEvents = 148, accrualTime = c(0, 60), maxNumberOfSubjects = %(patients)d,
    maxNumberOfIterations = %(replicates)d, seed = 1)
cat("rpact", med(run, %(repeats)d), "\n")
"""

R_SEQUENTIAL = r"""
suppressMessages(library(rpact))
med <- function(f, k) { x <- numeric(k); for (i in 1:k) x[i] <- system.time(f())[["elapsed"]]; median(x) }
d <- getDesignGroupSequential(kMax = 3, alpha = 0.025, sided = 1, typeOfDesign = "asOF")
run <- function() getSimulationSurvival(d, directionUpper = FALSE, pi1 = 0.43, pi2 = 0.59, eventTime = 36,
    plannedEvents = c(50, 100, 150), accrualTime = c(0, 60), maxNumberOfSubjects = %(patients)d,
    maxNumberOfIterations = %(replicates)d, seed = 1)
cat("rpact", med(run, %(repeats)d), "\n")
x <- run()
for (k in 1:3) cat(paste0("stop", k), x$rejectPerStage[k], "\n")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=10_000)
    parser.add_argument("--patients", type=int, default=320)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sequential-only", action="store_true", help="only the three-analysis part")
    args = parser.parse_args()
    print(machine())
    control = Exponential.from_survival(0.41, 36)
    hr = math.log(0.57) / math.log(0.41)
    if not args.sequential_only:
        fixed(args, control, hr)
    sequential(args, control, hr)


def fixed(args: argparse.Namespace, control: Exponential, hr: float) -> None:
    run = partial(
        simulate_power, control, hr, args.patients, accrual=60.0, follow_up=36.0, replicates=args.replicates
    )
    times = {"Bassinet, this process": median_time(run, args.repeats)}
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        run(client=client)  # warm the workers up (imports) before timing
        times["Bassinet, Dask 2 workers"] = median_time(partial(run, client=client), args.repeats)
    script = R_SIMULATION % {
        "patients": args.patients,
        "replicates": args.replicates,
        "repeats": args.repeats,
    }
    for _, seconds in r_timings(pd.DataFrame(), script, args.repeats).items():
        times["R rpact::getSimulationSurvival"] = seconds
    base = times["Bassinet, this process"]
    print(
        f"\n{args.replicates:,} trials of {args.patients} patients, log-rank test (median of {args.repeats})"
    )
    print(f"{'tool':<34}{'median':>10}{'trials/s':>12}{'time / Bassinet':>18}")
    for tool, seconds in times.items():
        print(f"{tool:<34}{seconds:>9.3f}s{args.replicates / seconds:>12,.0f}{seconds / base:>17.1f}x")


def sequential(args: argparse.Namespace, control: Exponential, hr: float) -> None:
    design = group_sequential(3, alpha=0.025)
    run = partial(
        simulate_sequential, design, control, hr, args.patients, events=150, accrual=60.0,
        replicates=args.replicates,
    )  # fmt: skip
    times = {"Bassinet, this process": median_time(run, args.repeats)}
    ours = run()
    script = R_SEQUENTIAL % {
        "patients": args.patients,
        "replicates": args.replicates,
        "repeats": args.repeats,
    }
    found = r_timings(pd.DataFrame(), script, args.repeats)
    if "rpact" in found:
        times["R rpact::getSimulationSurvival"] = found["rpact"]
    analytic = crossing_probabilities(
        [e / 150 for e in ours.events],
        design.critical_values,
        design.lower_bounds(),
        math.sqrt(150) * abs(math.log(hr)) / 2,
    )
    base = times["Bassinet, this process"]
    print(f"\n{args.replicates:,} trials of {args.patients} patients, 3 analyses at 50, 100, 150 events")
    print(f"{'tool':<34}{'median':>10}{'trials/s':>12}{'time / Bassinet':>18}")
    for tool, seconds in times.items():
        print(f"{tool:<34}{seconds:>9.3f}s{args.replicates / seconds:>12,.0f}{seconds / base:>17.1f}x")
    print(f"\n{'P(reject) at analysis':<34}{'1':>10}{'2':>10}{'3':>10}")
    print(f"{'analytic (recursion)':<34}" + "".join(f"{p:>10.4f}" for p in analytic.efficacy))
    print(f"{'Bassinet simulated':<34}" + "".join(f"{p:>10.4f}" for p in ours.efficacy))
    if "stop1" in found:
        print(f"{'rpact simulated':<34}" + "".join(f"{found[f'stop{k}']:>10.4f}" for k in (1, 2, 3)))
    se = max(ours.std_err(p) for p in ours.efficacy)
    print(f"(Monte Carlo SE at most {se:.4f})")


if __name__ == "__main__":
    main()
