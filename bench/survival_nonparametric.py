"""Time Bassinet's nonparametric survival statistics against lifelines, scikit-survival, statsmodels and R.

    python bench/survival_nonparametric.py [--sizes 10000 100000 1000000] [--repeats 5]

The same generated data go to every tool in one run: two groups, about 30 % censored;
times in whole days (as registries record them) and a continuous variant; for competing
risks two causes. Each operation is timed several times and the median printed, with
the ratio of each peer's median to Bassinet's (above 1: Bassinet is faster). R is timed
inside Rscript with the data already loaded (computation only). A peer that lacks an
operation is left out of its row; lifelines' Aalen-Johansen is run only up to 100,000
rows (it took 38 s at 1,000,000 when measured for the issue).

Install the peers with: pip install -e '.[bench]' (R: scripts/test.sh installs it).
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
from _timing import machine, median_time, r_timings

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


def python_timings(d: pd.DataFrame, repeats: int) -> dict[str, dict[str, float]]:
    t = d["time"].to_numpy()
    e = d["event"].to_numpy()
    g = d["group"].to_numpy()
    c = d["cause"].to_numpy()
    s = d["strata"].to_numpy()
    results: dict[str, dict[str, float]] = {
        op: {} for op in ("Kaplan-Meier", "log-rank", "stratified log-rank", "Aalen-Johansen + Gray")
    }
    results["Kaplan-Meier"]["Bassinet"] = median_time(lambda: kaplan_meier(t, e), repeats)
    results["log-rank"]["Bassinet"] = median_time(lambda: logrank(t, e, g), repeats)
    results["stratified log-rank"]["Bassinet"] = median_time(lambda: logrank(t, e, g, strata=s), repeats)
    results["Aalen-Johansen + Gray"]["Bassinet"] = median_time(
        lambda: (cumulative_incidence(t, c, group=g), gray_test(t, c, g)), repeats
    )

    try:
        from lifelines import AalenJohansenFitter, KaplanMeierFitter
        from lifelines.statistics import logrank_test

        results["Kaplan-Meier"]["lifelines"] = median_time(lambda: KaplanMeierFitter().fit(t, e), repeats)
        a, b = g == 0, g == 1
        results["log-rank"]["lifelines"] = median_time(lambda: logrank_test(t[a], t[b], e[a], e[b]), repeats)
        if len(t) <= 100_000:
            results["Aalen-Johansen + Gray"]["lifelines (AJ only)"] = median_time(
                lambda: AalenJohansenFitter(seed=1).fit(t, c, event_of_interest=1), max(1, repeats // 2)
            )
    except ImportError:
        pass
    try:
        from sksurv.compare import compare_survival
        from sksurv.nonparametric import kaplan_meier_estimator

        y = np.empty(len(t), dtype=[("event", bool), ("time", float)])
        y["event"], y["time"] = e.astype(bool), t
        results["Kaplan-Meier"]["scikit-survival"] = median_time(
            lambda: kaplan_meier_estimator(e.astype(bool), t), repeats
        )
        results["log-rank"]["scikit-survival"] = median_time(lambda: compare_survival(y, g), repeats)
    except ImportError:
        pass
    try:
        from statsmodels.duration.survfunc import SurvfuncRight, survdiff

        results["Kaplan-Meier"]["statsmodels"] = median_time(lambda: SurvfuncRight(t, e), repeats)
        results["log-rank"]["statsmodels"] = median_time(lambda: survdiff(t, e, g), repeats)
        results["stratified log-rank"]["statsmodels"] = median_time(
            lambda: survdiff(t, e, g, strata=s), repeats
        )
    except ImportError:
        pass
    return results


R_TIMING = r"""
suppressMessages({library(survival); library(cmprsk)})
d <- read.csv("%(path)s")
med <- function(f, k) { x <- numeric(k); for (i in 1:k) x[i] <- system.time(f())[["elapsed"]]; median(x) }
k <- %(repeats)d
cat("Kaplan-Meier", med(function() survfit(Surv(time, event) ~ 1, data = d), k), "\n")
cat("log-rank", med(function() survdiff(Surv(time, event) ~ group, data = d), k), "\n")
stratified <- function() survdiff(Surv(time, event) ~ group + strata(strata), data = d)
cat("stratified log-rank", med(stratified, k), "\n")
cat("Aalen-Johansen + Gray", med(function() cuminc(d$time, d$cause, d$group), k), "\n")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(machine())
    for variant, whole in (("whole-day times", True), ("continuous times", False)):
        for n in args.sizes:
            repeats = args.repeats if n < 1_000_000 else max(3, args.repeats // 2)
            data = make_data(n, whole_days=whole)
            results = python_timings(data, repeats)
            for operation, seconds in r_timings(data, R_TIMING, repeats).items():
                results[operation]["R"] = seconds
            print(f"\n## n = {n:,}, {variant} (median of {repeats})")
            print(f"{'operation':<24}{'tool':<22}{'median':>12}{'peer / Bassinet':>18}")
            for operation, tools in results.items():
                base = tools["Bassinet"]
                for tool, seconds in tools.items():
                    ratio = "" if tool == "Bassinet" else f"{seconds / base:>17.1f}x"
                    print(f"{operation:<24}{tool:<22}{seconds * 1000:>10.1f}ms{ratio:>18}")


if __name__ == "__main__":
    main()
