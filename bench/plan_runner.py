"""Time the plan runner and the report's ADaM files on a large simulated Interfant-06 cohort.

    python bench/plan_runner.py [--patients 100000] [--rounds 3] [--plan interfant06] [--json PATH]

The cohort comes from :func:`bassinet.simulate.simulate_interfant06` (seed 1; simulated
once, not timed). Two rows, each run on a records object built afresh for every call
(untimed), so that nothing a previous call kept on the records is reused:

- ``run_plan``: :func:`bassinet.plans.run_plan` of the shipped plan on the records
  (patient facts, the analysis frame, every analysis, the tables, the data fingerprint).
- ``ADaM ADSL + ADTTE``: the ADaM part of ``bassinet report``
  (``cli_report.write_study_report``: the plan's population, its endpoints derived,
  ADTTE and ADSL built and written as SAS transport files), timed after ``run_plan`` has
  run on the same records, as in the report.

The harness (:mod:`_timing`) warms each task up once and interleaves the rounds.
Targets (issue 17): ``run_plan`` under 5 s and the ADaM files under 3 s at 100,000 patients.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _timing import Race, machine, write_json

from bassinet.endpoints import ClinicalRecords, derive, get_endpoint
from bassinet.endpoints._adam import to_adsl, to_adtte, write_xpt
from bassinet.plans import LoadedPlan, load_plan, run_plan, shipped_plan
from bassinet.plans._run import population_ids
from bassinet.plans._variables import CATALOGUE
from bassinet.simulate import simulate_interfant06
from bassinet.simulate.calibrate import records_of
from bassinet.simulate.registry_rows import RegistryRows


def adam_files(loaded: LoadedPlan, records: ClinicalRecords, out_dir: Path, name: str) -> list[Path]:
    """The ADaM steps of ``cli_report.write_study_report``, in its order, with its calls."""
    study = name.upper().replace("-", "")[:20]
    wanted = {}
    for a in loaded.plan.analyses:
        endpoint = get_endpoint(a.endpoint)
        endpoint = endpoint.from_origin(a.origin) if a.origin else endpoint
        wanted[(endpoint.name, endpoint.origin)] = endpoint
    population = records.subset(population_ids(loaded.plan, records))
    derived = derive(population, [wanted[k] for k in sorted(wanted)], cutoff=loaded.plan.cutoff)
    adtte = to_adtte(derived, study=study)
    patients = population.patients.set_index("study_id")
    risk = CATALOGUE["risk_group"].compute(population, patients)
    adsl = to_adsl(population, study=study, risk_group=risk)
    return [
        write_xpt(adtte, out_dir / f"{name}-adtte.xpt", name="ADTTE", label="Time-to-event analysis"),
        write_xpt(adsl, out_dir / f"{name}-adsl.xpt", name="ADSL", label="Subject-level analysis"),
    ]


def timed_run_plan(loaded: LoadedPlan, rows: RegistryRows) -> float:
    records = records_of(rows)
    start = time.perf_counter()
    run_plan(loaded, records)
    return time.perf_counter() - start


def timed_adam(loaded: LoadedPlan, rows: RegistryRows, out_dir: Path, name: str) -> float:
    records = records_of(rows)
    run_plan(loaded, records)
    start = time.perf_counter()
    adam_files(loaded, records, out_dir, name)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--plan", default="interfant06")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="write every timing of every round to this file")
    args = parser.parse_args()

    start = time.perf_counter()
    rows = simulate_interfant06(seed=args.seed, n=args.patients)
    simulated = time.perf_counter() - start
    loaded = load_plan(shipped_plan(args.plan))
    records = records_of(rows)
    print(
        f"{args.patients:,} simulated Interfant-06 patients (seed {args.seed}, made in {simulated:.0f} s): "
        f"{len(records.remissions):,} remission assessments, {len(records.events):,} events, "
        f"{len(records.transplants):,} transplants; plan {args.plan} "
        f"({len(loaded.plan.analyses)} analyses, {len(loaded.plan.variables)} variables)"
    )
    print(machine())
    race = Race(rounds=args.rounds)
    with tempfile.TemporaryDirectory() as folder:
        out_dir = Path(folder)
        race.add_timed(f"run_plan ({args.plan})", "Bassinet", lambda: timed_run_plan(loaded, rows))
        race.add_timed(
            "ADaM ADSL + ADTTE files", "Bassinet", lambda: timed_adam(loaded, rows, out_dir, args.plan)
        )
        race.run()
        sizes = {p.name: p.stat().st_size for p in out_dir.glob("*.xpt")}
    print()
    print(race.table(f"Plan runner, {args.patients:,} patients ({args.rounds} rounds after a warm-up)"))
    print("ADaM files: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sorted(sizes.items())))
    print(f"after the run: {machine()}")
    write_json(args.json, [race.record(patients=args.patients, plan=args.plan, machine=machine())])


if __name__ == "__main__":
    main()
