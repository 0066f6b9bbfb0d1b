"""Time Bassinet's nonparametric survival statistics against lifelines, scikit-survival, statsmodels and R.

    python bench/survival_nonparametric.py [--sizes 10000 100000 1000000] [--rounds 5] [--json FILE]
        [--variants whole continuous] [--works km logrank stratified competing] [--skip TOOL ...]

The same generated data go to every tool in one run: two groups, about 30 % censored;
times in whole days (as registries record them) and a continuous variant; for competing
risks two causes. Every tool is warmed up, then timed in interleaved rounds (``_timing.Race``); the
table prints the median and min-max of the rounds, with the ratio of each peer's median
to Bassinet's (above 1: Bassinet is faster). R runs in one persistent process with the
data already loaded and times itself (computation only). A peer that lacks an
operation is left out of its row; lifelines' Aalen-Johansen is run only up to 100,000
rows (it took 38 s at 1,000,000 when measured for the issue).

Install the peers with: pip install -e '.[bench]' (R: scripts/test.sh installs it).
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
from _timing import Race, RSession, load_average, machine, write_json

from bassinet.survival import cumulative_incidence, gray_test, kaplan_meier, logrank

warnings.filterwarnings("ignore")


def make_data(n: int, *, whole_days: bool, seed: int = 2026) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, n)
    event_time = rng.exponential(np.where(group == 1, 900.0, 700.0))
    censor_time = rng.exponential(1800.0, n)
    time_ = np.minimum(event_time, censor_time)
    if whole_days:
        time_ = np.ceil(time_)
    event = (event_time <= censor_time).astype(np.int64)
    cause = np.where(event == 1, rng.integers(1, 3, n), 0)
    strata = rng.integers(0, 4, n)
    return pd.DataFrame({"time": time_, "event": event, "group": group, "cause": cause, "strata": strata})


def race(
    d: pd.DataFrame, r: RSession, rounds: int, works: set[str] | None = None, skip: set[str] | None = None
) -> Race:
    """Every tool's tasks on the same data; arrays and R's data frame are built before timing."""
    t = d["time"].to_numpy()
    e = d["event"].to_numpy()
    g = d["group"].to_numpy()
    c = d["cause"].to_numpy()
    s = d["strata"].to_numpy()
    km, lr, slr, aj = "Kaplan-Meier", "log-rank", "stratified log-rank", "Aalen-Johansen + Gray"
    out = Race(rounds=rounds)
    names = {"km": km, "logrank": lr, "stratified": slr, "competing": aj}
    wanted = {names[w] for w in (works or names)}
    out.add(km, "Bassinet", lambda: kaplan_meier(t, e))
    out.add(lr, "Bassinet", lambda: logrank(t, e, g))
    out.add(slr, "Bassinet", lambda: logrank(t, e, g, strata=s))
    out.add(aj, "Bassinet", lambda: (cumulative_incidence(t, c, group=g), gray_test(t, c, g)))
    try:
        from lifelines import AalenJohansenFitter, KaplanMeierFitter
        from lifelines.statistics import logrank_test

        a, b = g == 0, g == 1
        out.add(km, "lifelines", lambda: KaplanMeierFitter().fit(t, e))
        out.add(lr, "lifelines", lambda: logrank_test(t[a], t[b], e[a], e[b]))
        if len(t) <= 100_000:
            out.add(
                aj, "lifelines (AJ only)", lambda: AalenJohansenFitter(seed=1).fit(t, c, event_of_interest=1)
            )
    except ImportError:
        pass
    try:
        from sksurv.compare import compare_survival
        from sksurv.nonparametric import kaplan_meier_estimator

        y = np.empty(len(t), dtype=[("event", bool), ("time", float)])
        y["event"], y["time"] = e.astype(bool), t
        out.add(km, "scikit-survival", lambda: kaplan_meier_estimator(e.astype(bool), t))
        out.add(lr, "scikit-survival", lambda: compare_survival(y, g))
    except ImportError:
        pass
    try:
        from statsmodels.duration.survfunc import SurvfuncRight, survdiff

        out.add(km, "statsmodels", lambda: SurvfuncRight(t, e))
        out.add(lr, "statsmodels", lambda: survdiff(t, e, g))
        out.add(slr, "statsmodels", lambda: survdiff(t, e, g, strata=s))
    except ImportError:
        pass
    skipped = skip or set()
    for key in [key for key in out.tasks if key[0] not in wanted or key[1].split()[0] in skipped]:
        del out.tasks[key]
    if r.available:
        r.load("d", d)
        r.run("y <- Surv(d$time, d$event)")
        for row, tool, expression in (
            (km, "R survfit", "survfit(y ~ 1)"),
            (lr, "R survdiff", "survdiff(y ~ d$group)"),
            (slr, "R survdiff", "survdiff(y ~ d$group + strata(d$strata))"),
            (aj, "R cmprsk::cuminc", "cuminc(d$time, d$cause, d$group)"),
        ):
            if row in wanted:
                out.add_timed(row, tool, r.timer(expression))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", help="write every timing of every round to this file")
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=("whole", "continuous"),
        default=["whole", "continuous"],
        help="time whole-day times, continuous times, or both",
    )
    parser.add_argument(
        "--works",
        nargs="+",
        choices=("km", "logrank", "stratified", "competing"),
        default=["km", "logrank", "stratified", "competing"],
        help="which rows to time (all by default)",
    )
    parser.add_argument(
        "--skip",
        nargs="+",
        default=[],
        help="tools to leave out (e.g. lifelines scikit-survival), for a shorter run",
    )
    args = parser.parse_args()
    print(machine())
    records = []
    with RSession(("survival", "cmprsk")) as r:
        chosen = [(v, w) for v, w in (("whole-day times", True), ("continuous times", False))]
        chosen = [(v, w) for v, w in chosen if ("whole" if w else "continuous") in args.variants]
        for variant, whole in chosen:
            for n in args.sizes:
                data = make_data(n, whole_days=whole)
                contest = race(data, r, args.rounds, set(args.works), set(args.skip))
                contest.run()
                print()
                print(
                    contest.table(
                        f"n = {n:,}, {variant} (median and min-max of {args.rounds} rounds)", unit="ms"
                    )
                )
                records.append(contest.record(n=n, variant=variant))
    print(f"\nload at the end: {load_average()}")
    write_json(args.json, records)


if __name__ == "__main__":
    main()
