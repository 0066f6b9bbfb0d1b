"""Time Bassinet's Cox and Fine–Gray regression against lifelines, scikit-survival, statsmodels and R.

    python bench/survival_regression.py [--sizes 100000 1000000] [--cp-sizes 100000 1000000]
                                        [--fg-sizes 10000 100000] [--repeats 3]

The same generated data go to every tool in one run. Cox: 5 covariates (3 normal, 2
binary), times in whole days (ties, as registries record them), about 30 % censored;
variants Efron, Breslow, stratified (4 strata, Efron), and (start, stop] rows with a
time-varying binary exposure (about 1.5 rows per subject). Fine–Gray: 2 covariates,
two causes and censoring. Each fit is timed ``--repeats`` times and the median printed,
with the ratio of each peer's median to Bassinet's (above 1: Bassinet is faster). R is
timed inside Rscript with the data already loaded. Peers slower than a minute a fit
are run once (``scikit-survival`` and lifelines at 1,000,000; lifelines' time-varying
fitter only to 100,000). ``cmprsk::crr`` is O(n^2) a step (71 s a fit at 10,000 on the
development machine); it runs up to ``--crr-max`` (20,000), once from 20,000.

Install the peers with: pip install -e '.[bench]' (R: scripts/test.sh installs it).
"""

from __future__ import annotations

import argparse
import warnings
from functools import partial

import numpy as np
import pandas as pd
from _timing import machine, median_time, r_timings

from bassinet.survival import coxph, fine_gray

warnings.filterwarnings("ignore")
COVARIATES = ["x1", "x2", "x3", "b1", "b2"]


def make_cox(n: int, seed: int = 2026) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    b = rng.binomial(1, [0.3, 0.6], size=(n, 2))
    eta = x @ [0.2, -0.1, 0.3] + b @ [0.5, -0.4]
    event_time = rng.exponential(700.0 * np.exp(-eta))
    censor_time = rng.exponential(1800.0, n)
    d = pd.DataFrame(np.c_[x, b], columns=COVARIATES)
    d["time"] = np.ceil(np.minimum(event_time, censor_time))
    d["event"] = (event_time <= censor_time).astype(np.int64)
    d["strata"] = rng.integers(0, 4, n)
    return d


def make_counting(n: int, seed: int = 2027) -> pd.DataFrame:
    """Subjects split at a random exposure day into (start, stop] rows, exposure 0 then 1."""
    d = make_cox(n, seed)
    rng = np.random.default_rng(seed + 1)
    exposure = np.floor(d.time.to_numpy() * rng.random(n))
    split = (rng.random(n) < 0.5) & (exposure > 0)
    whole = d[~split].assign(start=0.0, exposed=0)
    before = d[split].assign(start=0.0, exposed=0, event=0)
    before["time"] = exposure[split]
    after = d[split].assign(start=exposure[split], exposed=1)
    rows = pd.concat([whole, before, after], ignore_index=True)
    rows["id"] = np.concatenate([np.flatnonzero(~split), np.flatnonzero(split), np.flatnonzero(split)])
    return rows


def make_competing(n: int, seed: int = 2028) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = np.c_[rng.normal(size=n), rng.binomial(1, 0.4, n)]
    t1 = rng.exponential(900.0 * np.exp(-(z @ [0.3, 0.5])))
    t2 = rng.exponential(1500.0, n)
    c = rng.exponential(2000.0, n)
    time_ = np.minimum(np.minimum(t1, t2), c)
    cause = np.where(time_ == c, 0, np.where(time_ == t1, 1, 2))
    return pd.DataFrame({"time": time_, "cause": cause, "z1": z[:, 0], "z2": z[:, 1]})


def fit_fine_gray(d: pd.DataFrame) -> object:
    return fine_gray(d.time.to_numpy(), d.cause.to_numpy(), d[["z1", "z2"]].to_numpy())


def cox_python(d: pd.DataFrame, variant: str, repeats: int) -> dict[str, float]:
    n = len(d)
    x = d[COVARIATES].to_numpy()
    t, e, s = d.time.to_numpy(), d.event.to_numpy(), d.strata.to_numpy()
    slow = 1 if n >= 1_000_000 else repeats
    out: dict[str, float] = {}
    ties = "breslow" if variant == "Breslow" else "efron"
    strata = s if variant == "stratified" else None
    out["Bassinet"] = median_time(lambda: coxph(t, e, x, ties=ties, strata=strata), repeats)
    try:
        from statsmodels.duration.hazard_regression import PHReg

        out["statsmodels"] = median_time(lambda: PHReg(t, x, status=e, ties=ties, strata=strata).fit(), slow)
    except ImportError:
        pass
    try:
        from lifelines import CoxPHFitter

        columns = [*COVARIATES, "time", "event"] + (["strata"] if strata is not None else [])
        frame = d[columns]
        if variant != "Breslow":  # lifelines fits Efron ties only
            out["lifelines"] = median_time(
                lambda: CoxPHFitter().fit(
                    frame, "time", "event", strata=["strata"] if strata is not None else None
                ),
                slow,
            )
    except ImportError:
        pass
    try:
        from sksurv.linear_model import CoxPHSurvivalAnalysis

        if strata is None:  # scikit-survival has no strata
            y = np.empty(n, dtype=[("event", bool), ("time", float)])
            y["event"], y["time"] = e.astype(bool), t
            out["scikit-survival"] = median_time(lambda: CoxPHSurvivalAnalysis(ties=ties).fit(x, y), slow)
    except ImportError:
        pass
    return out


def counting_python(d: pd.DataFrame, repeats: int) -> dict[str, float]:
    x = d[[*COVARIATES, "exposed"]].to_numpy(dtype=float)
    t, e, start = d.time.to_numpy(), d.event.to_numpy(), d.start.to_numpy()
    out = {"Bassinet": median_time(lambda: coxph(t, e, x, entry=start), repeats)}
    slow = 1 if len(d) >= 1_000_000 else repeats
    try:
        from statsmodels.duration.hazard_regression import PHReg

        out["statsmodels"] = median_time(lambda: PHReg(t, x, status=e, entry=start, ties="efron").fit(), slow)
    except ImportError:
        pass
    try:
        from lifelines import CoxTimeVaryingFitter

        if len(d) <= 200_000:
            frame = d[["id", "start", "time", "event", *COVARIATES, "exposed"]]
            out["lifelines"] = median_time(
                lambda: CoxTimeVaryingFitter().fit(
                    frame, id_col="id", event_col="event", start_col="start", stop_col="time"
                ),
                1,
            )
    except ImportError:
        pass
    return out


R_COX = r"""
suppressMessages({library(survival); library(cmprsk)})
d <- read.csv("%(path)s")
med <- function(f, k) { x <- numeric(k); for (i in 1:k) x[i] <- system.time(f())[["elapsed"]]; median(x) }
k <- %(repeats)d
f <- Surv(time, event) ~ x1 + x2 + x3 + b1 + b2
cat("Efron", med(function() coxph(f, data = d, ties = "efron"), k), "\n")
cat("Breslow", med(function() coxph(f, data = d, ties = "breslow"), k), "\n")
cat("stratified", med(function() coxph(update(f, . ~ . + strata(strata)), data = d), k), "\n")
"""

R_COUNTING = r"""
suppressMessages(library(survival))
d <- read.csv("%(path)s")
med <- function(f, k) { x <- numeric(k); for (i in 1:k) x[i] <- system.time(f())[["elapsed"]]; median(x) }
fit <- function() coxph(Surv(start, time, event) ~ x1 + x2 + x3 + b1 + b2 + exposed, data = d)
cat("counting process", med(fit, %(repeats)d), "\n")
"""

R_CRR = r"""
suppressMessages(library(cmprsk))
d <- read.csv("%(path)s")
med <- function(f, k) { x <- numeric(k); for (i in 1:k) x[i] <- system.time(f())[["elapsed"]]; median(x) }
cat("Fine-Gray", med(function() crr(d$time, d$cause, cbind(d$z1, d$z2)), %(repeats)d), "\n")
"""


def show(title: str, rows: dict[str, dict[str, float]]) -> None:
    print(f"\n## {title}")
    print(f"{'model':<20}{'tool':<18}{'median':>12}{'peer / Bassinet':>18}")
    for model, tools in rows.items():
        base = tools["Bassinet"]
        for tool, seconds in tools.items():
            ratio = "" if tool == "Bassinet" else f"{seconds / base:>17.1f}x"
            print(f"{model:<20}{tool:<18}{seconds:>11.3f}s{ratio:>18}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--cp-sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--fg-sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--crr-max", type=int, default=20_000, help="largest n at which crr is run")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(machine())
    for n in args.sizes:
        d = make_cox(n)
        rows = {
            variant: cox_python(d, variant, args.repeats) for variant in ("Efron", "Breslow", "stratified")
        }
        for variant, seconds in r_timings(d, R_COX, args.repeats).items():
            rows[variant]["R coxph"] = seconds
        show(f"Cox, 5 covariates, n = {n:,} (median of {args.repeats}; slow peers once at 1,000,000)", rows)
    for n in args.cp_sizes:
        d = make_counting(n)
        rows = {"counting process": counting_python(d, args.repeats)}
        for _, seconds in r_timings(d, R_COUNTING, args.repeats).items():
            rows["counting process"]["R coxph"] = seconds
        show(f"Cox, (start, stop] rows, 6 covariates, {n:,} subjects in {len(d):,} rows", rows)
    for n in args.fg_sizes:
        d = make_competing(n)
        rows = {"Fine-Gray": {"Bassinet": median_time(partial(fit_fine_gray, d), args.repeats)}}
        crr_repeats = 1 if n >= 20_000 else args.repeats  # crr is O(n^2): 71 s a fit at 10,000
        if n <= args.crr_max:
            for _, seconds in r_timings(d, R_CRR, crr_repeats).items():
                rows["Fine-Gray"]["R cmprsk::crr"] = seconds
        show(f"Fine-Gray, 2 covariates, n = {n:,}", rows)


if __name__ == "__main__":
    main()
