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
import copy
import tracemalloc
import warnings
from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd
from _timing import Race, RSession, load_average, machine, write_json

from bassinet.survival import CoxFit, coxph, fine_gray

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


def _fresh_concordance(fit: CoxFit) -> object:
    """The fit's concordance computed anew (its risk sets too), as ``concordancefit`` does."""
    again = copy.copy(fit)
    for cached in ("_sets", "_engine", "concordance"):
        again.__dict__.pop(cached, None)
    return again.concordance


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(field)


def peak_memory(action: Callable[[], object]) -> tuple[int, int | None]:
    """Peak bytes allocated while ``action`` runs: tracemalloc's, and the resident set's.

    tracemalloc sees NumPy's and Python's allocations; the resident peak (Linux: VmHWM
    reset through ``/proc/self/clear_refs``, less the resident size before) also sees
    what Numba's loops allocate, but only where the allocator had to take new pages.
    """
    action()  # warm-up: Numba's first call loads its compiled loops, which is not the fit's memory
    tracemalloc.start()
    try:
        action()
        traced = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        before = _status_kib("VmRSS")
        action()
        return traced, (_status_kib("VmHWM") - before) * 1024
    except OSError:
        return traced, None


def cox_race(
    d: pd.DataFrame, variant: str, r: RSession, rounds: int, peers: bool = True
) -> tuple[Race, set[tuple[str, str]]]:
    n = len(d)
    x = d[COVARIATES].to_numpy()
    t, e, s = d.time.to_numpy(), d.event.to_numpy(), d.strata.to_numpy()
    ties = "breslow" if variant == "Breslow" else "efron"
    strata = s if variant == "stratified" else None
    fit_row, conc_row, full_row = (
        f"{variant}: fit",
        f"{variant}: concordance",
        f"{variant}: fit + concordance",
    )
    race = Race(rounds=rounds)
    slow: set[tuple[str, str]] = set()
    race.add(fit_row, "Bassinet", lambda: coxph(t, e, x, ties=ties, strata=strata))
    fitted = coxph(t, e, x, ties=ties, strata=strata)
    race.add(conc_row, "Bassinet", lambda: _fresh_concordance(fitted))
    race.add(full_row, "Bassinet", lambda: coxph(t, e, x, ties=ties, strata=strata).concordance)
    if r.available:
        r.load("d", d)
        r.run(
            "X <- as.matrix(d[, c('x1', 'x2', 'x3', 'b1', 'b2')]); Y <- Surv(d$time, d$event); "
            "S <- as.integer(d$strata); ctrl <- coxph.control()"
        )
        strata_r = "S" if strata is not None else "NULL"
        fit_r = f"coxph.fit(X, Y, {strata_r}, NULL, NULL, ctrl, NULL, '{ties}', NULL)"
        r.run(f"lp <- drop(X %*% {fit_r}$coefficients)")
        race.add_timed(fit_row, "R coxph.fit", r.timer(fit_r))
        # coxph() calls concordancefit on the linear predictor, reverse = TRUE, timefix = FALSE
        race.add_timed(
            conc_row,
            "R concordancefit",
            r.timer(f"concordancefit(Y, lp, {strata_r}, NULL, reverse = TRUE, timefix = FALSE)"),
        )
        terms = "x1 + x2 + x3 + b1 + b2" + (" + strata(strata)" if strata is not None else "")
        race.add_timed(
            full_row, "R coxph()", r.timer(f"coxph(Surv(time, event) ~ {terms}, data = d, ties = '{ties}')")
        )
    if not peers:
        return race, slow
    try:
        from statsmodels.duration.hazard_regression import PHReg

        race.add(fit_row, "statsmodels", lambda: PHReg(t, x, status=e, ties=ties, strata=strata).fit())
        if n >= 1_000_000:
            slow.add((fit_row, "statsmodels"))
    except ImportError:
        pass
    try:
        from lifelines import CoxPHFitter

        columns = [*COVARIATES, "time", "event"] + (["strata"] if strata is not None else [])
        frame = d[columns]
        if variant != "Breslow":  # lifelines fits Efron ties only; it always computes concordance
            race.add(
                full_row,
                "lifelines",
                lambda: CoxPHFitter().fit(
                    frame, "time", "event", strata=["strata"] if strata is not None else None
                ),
            )
            if n >= 1_000_000:
                slow.add((full_row, "lifelines"))
    except ImportError:
        pass
    try:
        from sksurv.linear_model import CoxPHSurvivalAnalysis

        if strata is None:  # scikit-survival has no strata
            y = np.empty(n, dtype=[("event", bool), ("time", float)])
            y["event"], y["time"] = e.astype(bool), t
            race.add(fit_row, "scikit-survival", lambda: CoxPHSurvivalAnalysis(ties=ties).fit(x, y))
            if n >= 1_000_000:
                slow.add((fit_row, "scikit-survival"))
    except ImportError:
        pass
    return race, slow


def counting_race(
    d: pd.DataFrame, r: RSession, rounds: int, peers: bool = True
) -> tuple[Race, set[tuple[str, str]]]:
    x = d[[*COVARIATES, "exposed"]].to_numpy(dtype=float)
    t, e, start = d.time.to_numpy(), d.event.to_numpy(), d.start.to_numpy()
    row = "(start, stop]: fit"
    race = Race(rounds=rounds)
    slow: set[tuple[str, str]] = set()
    race.add(row, "Bassinet", lambda: coxph(t, e, x, entry=start))
    if r.available:
        r.load("d", d)
        r.run(
            "X <- as.matrix(d[, c('x1', 'x2', 'x3', 'b1', 'b2', 'exposed')]); "
            "Y <- Surv(d$start, d$time, d$event); ctrl <- coxph.control()"
        )
        race.add_timed(
            row, "R agreg.fit", r.timer("agreg.fit(X, Y, NULL, NULL, NULL, ctrl, NULL, 'efron', NULL)")
        )
    if not peers:
        return race, slow
    try:
        from statsmodels.duration.hazard_regression import PHReg

        race.add(row, "statsmodels", lambda: PHReg(t, x, status=e, entry=start, ties="efron").fit())
        if len(d) >= 1_000_000:
            slow.add((row, "statsmodels"))
    except ImportError:
        pass
    try:
        from lifelines import CoxTimeVaryingFitter

        if len(d) <= 200_000:
            frame = d[["id", "start", "time", "event", *COVARIATES, "exposed"]]
            race.add(
                row,
                "lifelines",
                lambda: CoxTimeVaryingFitter().fit(
                    frame, id_col="id", event_col="event", start_col="start", stop_col="time"
                ),
            )
            slow.add((row, "lifelines"))
    except ImportError:
        pass
    return race, slow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--cp-sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--fg-sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--crr-max", type=int, default=20_000, help="largest n at which crr is run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="write every timing of every round to this file")
    parser.add_argument(
        "--no-python-peers", action="store_true", help="time Bassinet against R only (a shorter run)"
    )
    args = parser.parse_args()
    print(machine())
    records = []
    with RSession(("survival", "cmprsk")) as r:
        for n in args.sizes:
            d = make_cox(n)
            t, e, x = d.time.to_numpy(), d.event.to_numpy(), d[COVARIATES].to_numpy()
            raw = t.nbytes + e.nbytes + x.nbytes
            peak = peak_memory(lambda t=t, e=e, x=x: coxph(t, e, x))
            for variant in ("Efron", "Breslow", "stratified"):
                race, slow = cox_race(d, variant, r, args.rounds, not args.no_python_peers)
                race.run(once=slow)
                print()
                print(race.table(f"Cox {variant}, 5 covariates, n = {n:,} ({args.rounds} rounds)"))
                records.append(race.record(n=n, model=f"Cox {variant}"))
            traced, resident = peak
            print(
                f"Bassinet Efron fit: peak memory {traced / 1e6:,.0f} MB (tracemalloc), {traced / raw:.1f}x "
                f"the raw input ({raw / 1e6:,.0f} MB)"
                + ("" if resident is None else f"; resident {resident / 1e6:,.0f} MB, {resident / raw:.1f}x")
            )
        for n in args.cp_sizes:
            d = make_counting(n)
            race, slow = counting_race(d, r, args.rounds, not args.no_python_peers)
            race.run(once=slow)
            print()
            print(race.table(f"Cox (start, stop], 6 covariates, {n:,} subjects in {len(d):,} rows"))
            records.append(race.record(n=n, model="Cox (start, stop]"))
        for n in args.fg_sizes:
            d = make_competing(n)
            race = Race(rounds=args.rounds)
            race.add("Fine-Gray", "Bassinet", partial(fit_fine_gray, d))
            once: set[tuple[str, str]] = set()
            if n <= args.crr_max and r.available:
                r.load("d", d)
                r.run("Z <- cbind(d$z1, d$z2)")
                race.add_timed("Fine-Gray", "R cmprsk::crr", r.timer("crr(d$time, d$cause, Z)"))
                once.add(("Fine-Gray", "R cmprsk::crr"))  # crr is O(n^2) a step: 71 s a fit at 10,000
            race.run(once=once)
            print()
            print(race.table(f"Fine-Gray, 2 covariates, n = {n:,}"))
            records.append(race.record(n=n, model="Fine-Gray"))
    print(f"\nload at the end: {load_average()}")
    write_json(args.json, records)


if __name__ == "__main__":
    main()
