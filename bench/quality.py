"""Time the data-quality checks of a 10,000-patient scope (issue 19: target under 5 s).

``python bench/quality.py [--registry URL] [--fresh] [--patients 10000] [--rounds 5] [--rules FILE]``

With ``--fresh`` (or when the SQLite file does not exist yet) the registry is filled with
``--patients`` synthetic infants (``bassinet.simulate.registry_rows``, seed 1), imported
with validation and audit as ``bassinet import`` does. Each round then runs
:func:`bassinet.application.quality.check_scope` as the local operator (the whole study)
and times, separately, the loading of the scope's patients and records, the built-in
checks, and the study rules (``--rules``; by default the two example rules of
``examples/quality_rules.yaml``). One untimed warm-up round first; medians and min-max of
``--rounds`` rounds are printed, with the machine's load. Tests never assert a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from _timing import machine  # noqa: E402


def fill(url: str, patients: int) -> None:
    from bassinet.registry import import_files, init_registry, make_engine
    from bassinet.simulate import registry_rows, write_csv

    init_registry(url)
    with tempfile.TemporaryDirectory() as name:
        paths = write_csv(registry_rows(patients, seed=1), Path(name) / "cohort")
        registry = make_engine(url)
        start = time.perf_counter()
        import_files(registry, paths.pop("patients"), long_sheets=paths, actor="bench")
        registry.dispose()
    print(f"imported {patients:,} patients in {time.perf_counter() - start:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--registry", default=f"sqlite:///{tempfile.gettempdir()}/bassinet-quality-bench.db")
    parser.add_argument("--fresh", action="store_true", help="Fill the registry with --patients infants.")
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rules", type=Path, default=ROOT / "examples" / "quality_rules.yaml")
    parser.add_argument("--as-of", default="2026-01-01")
    args = parser.parse_args()
    from sqlalchemy.orm import Session

    from bassinet.application import local_operator
    from bassinet.application.quality import load_patients
    from bassinet.quality import BUILTIN_CHECKS, load_rules
    from bassinet.quality.study_rules import symbol_table
    from bassinet.registry import make_engine

    sqlite_file = args.registry.removeprefix("sqlite:///") if args.registry.startswith("sqlite:///") else None
    if args.fresh or (sqlite_file is not None and not Path(sqlite_file).exists()):
        if sqlite_file is not None:
            Path(sqlite_file).unlink(missing_ok=True)
        fill(args.registry, args.patients)
    engine = make_engine(args.registry)
    actor = local_operator("bench")
    rules = load_rules(args.rules)
    as_of = dt.date.fromisoformat(args.as_of)
    times: dict[str, list[float]] = {"load": [], "built-in checks": [], "study rules": [], "total": []}
    counts = (0, 0)
    for round_ in range(args.rounds + 1):
        t0 = time.perf_counter()
        with Session(engine) as session:
            patients = load_patients(session, actor)
        t1 = time.perf_counter()
        found = [f for p in patients for check in BUILTIN_CHECKS for f in check.run(p, as_of)]
        t2 = time.perf_counter()
        ruled = []
        for p in patients:  # as check_patient does: one symbol table a patient, for all the rules
            symbols = symbol_table(p, as_of)
            for rule in rules:
                ruled.extend(rule.check_symbols(p, symbols))
        t3 = time.perf_counter()
        counts = (len(found), len(ruled))
        if round_ == 0:
            continue  # warm-up
        for name, seconds in (("load", t1 - t0), ("built-in checks", t2 - t1), ("study rules", t3 - t2)):
            times[name].append(seconds)
        times["total"].append(t3 - t0)
    print(f"machine: {machine()}")
    print(
        f"{len(patients):,} patients, {sum(sum(len(r) for r in p.records.values()) for p in patients):,} "
        f"records; {counts[0]:,} built-in findings, {counts[1]:,} rule findings ({len(rules)} rules); "
        f"{args.registry.split(':')[0]}; {args.rounds} rounds after a warm-up"
    )
    print(f"{'step':<18}{'median s':>10}{'min s':>8}{'max s':>8}")
    for name, values in times.items():
        print(f"{name:<18}{statistics.median(values):>10.2f}{min(values):>8.2f}{max(values):>8.2f}")


if __name__ == "__main__":
    main()
