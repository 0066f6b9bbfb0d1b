"""Time the registry: import a 10,000-patient file into SQLite and PostgreSQL, then load the frames.

    python bench/registry_import.py [--patients 10000] [--repeats 3] [--postgres URL]

Without --postgres (or $BASSINET_BENCH_POSTGRES_URL) a throwaway server is started
with scripts/postgres.sh. Each repeat imports into a freshly created registry; the
medians are printed. Targets on a 2-core machine: import under 30 s, frames under 1 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from bassinet.registry import import_files, init_registry, make_engine, read_frames
from bassinet.simulate import registry_rows, write_csv

ROOT = Path(__file__).resolve().parents[1]


def fresh_postgres(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def run(
    url: str, paths: dict[str, Path], repeats: int, reset: object
) -> tuple[list[float], list[float], int]:
    imports, frames, rows = [], [], 0
    long_sheets = {n: p for n, p in paths.items() if n != "patients"}
    for _ in range(repeats):
        reset()  # type: ignore[operator]
        init_registry(url)
        engine = make_engine(url)
        start = time.perf_counter()
        report = import_files(engine, paths["patients"], long_sheets=long_sheets, actor="bench")
        imports.append(time.perf_counter() - start)
        rows = sum(c.inserted for c in report.counts.values())
        start = time.perf_counter()
        loaded = read_frames(engine)
        frames.append(time.perf_counter() - start)
        assert len(loaded.patients) == report.counts["patients"].inserted
        engine.dispose()
    return imports, frames, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("BASSINET_BENCH_POSTGRES_URL"))
    args = parser.parse_args()

    started_server = False
    if args.postgres is None:
        args.postgres = subprocess.run(
            ["bash", str(ROOT / "scripts" / "postgres.sh"), "start"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        started_server = True
    try:
        with tempfile.TemporaryDirectory() as folder:
            tmp = Path(folder)
            start = time.perf_counter()
            paths = write_csv(registry_rows(args.patients, seed=1), tmp / "cohort")
            print(
                f"generated {args.patients} patients in {time.perf_counter() - start:.1f} s "
                f"({', '.join(f'{n}: {len(p.read_text().splitlines()) - 1}' for n, p in paths.items())})"
            )
            database = tmp / "bench.db"
            stores = {
                "SQLite": (f"sqlite:///{database}", lambda: database.unlink(missing_ok=True)),
                "PostgreSQL": (args.postgres, lambda: fresh_postgres(args.postgres)),
            }
            print(
                f"\n{'store':<12}{'rows written':>14}{'import (median)':>18}{'frames (median)':>18}"
                f"{'import runs':>26}"
            )
            for name, (url, reset) in stores.items():
                imports, frames, rows = run(url, paths, args.repeats, reset)
                runs = ", ".join(f"{t:.2f}" for t in imports)
                print(
                    f"{name:<12}{rows:>14,}{statistics.median(imports):>16.2f} s"
                    f"{statistics.median(frames):>16.3f} s{runs:>26}"
                )
    finally:
        if started_server:
            subprocess.run(["bash", str(ROOT / "scripts" / "postgres.sh"), "stop"], check=False)
    print(f"\npython {sys.version.split()[0]}, {os.cpu_count()} cores; targets: import < 30 s, frames < 1 s")


if __name__ == "__main__":
    main()
