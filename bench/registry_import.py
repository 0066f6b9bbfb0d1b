"""Time the registry and measure its peak memory: import, re-import, export, list, on SQLite and PostgreSQL.

    python bench/registry_import.py [--patients 10000] [--repeats 3] [--postgres URL]
                                    [--stores sqlite,postgresql]

Without --postgres (or $BASSINET_BENCH_POSTGRES_URL) a throwaway server is started
with scripts/postgres.sh. Each step runs in a child process of its own, so that its
peak resident memory (``ru_maxrss`` from ``wait4``) is its own and not the parent's:

- ``import``: the generated files into a freshly initialised registry;
- ``reimport``: the same files again (nothing changes);
- ``export``: every table and the audit log as CSV (``bassinet export``);
- ``list``: ``bassinet patients list --limit 20``.

Each repeat starts from a fresh registry; medians are printed. Targets at 200,000
patients (issue 16): import < 90 s, re-import < 30 s, export < 60 s, each < 1 GB;
``patients list --limit 20`` < 1 s.
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

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("import", "reimport", "export", "list")


def child(step: str, url: str, folder: Path) -> None:
    """One step, timed inside the child (start-up excluded); prints the seconds."""
    from typer.testing import CliRunner

    from bassinet.cli import app
    from bassinet.registry import import_files, make_engine

    paths = {p.stem: p for p in (folder / "cohort").glob("*.csv")}
    long_sheets = {n: p for n, p in paths.items() if n != "patients"}
    start = time.perf_counter()
    if step in ("import", "reimport"):
        engine = make_engine(url)
        report = import_files(engine, paths["patients"], long_sheets=long_sheets, actor="bench")
        engine.dispose()
        assert report.changed == (step == "import")
    else:
        args = (
            ["export", "--out", str(folder / "export"), "--registry", url]
            if step == "export"
            else ["patients", "list", "--limit", "20", "--registry", url]
        )
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
    print(f"{time.perf_counter() - start:.3f}")


def measure(step: str, url: str, folder: Path) -> tuple[float, float, float]:
    """(seconds, peak resident memory in MiB, CPU seconds) of one step in its own process.

    The CPU time (user + system, start-up included) says what a step costs when the
    machine is shared and its wall time mostly waiting for a core.
    """
    command = [sys.executable, __file__, "--child", step, "--url", url, "--folder", str(folder)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{step} failed on {url} (exit {process.returncode})")
    cpu = usage.ru_utime + usage.ru_stime
    return float(output.strip().splitlines()[-1]), usage.ru_maxrss / 1024, cpu  # Linux: kilobytes


def fresh_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("BASSINET_BENCH_POSTGRES_URL"))
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--child", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, args.folder)
        return

    from bassinet.registry import init_registry
    from bassinet.simulate import registry_rows, write_csv

    stores = args.stores.split(",")
    started_server = False
    if "postgresql" in stores and args.postgres is None:
        args.postgres = subprocess.run(
            ["bash", str(ROOT / "scripts" / "postgres.sh"), "start"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        started_server = True
    try:
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            start = time.perf_counter()
            paths = write_csv(registry_rows(args.patients, seed=1), folder / "cohort")
            counts = {n: sum(1 for _ in p.open()) - 1 for n, p in paths.items()}
            print(
                f"generated {args.patients:,} patients in {time.perf_counter() - start:.1f} s "
                f"({', '.join(f'{n}: {c:,}' for n, c in counts.items())}; {sum(counts.values()):,} rows)"
            )
            database = folder / "bench.db"
            urls = {"sqlite": f"sqlite:///{database}", "postgresql": args.postgres}
            header = "".join(f"{s:>26}" for s in STEPS)
            units = "".join(f"{'s (median), CPU s, MiB':>26}" for _ in STEPS)
            print(f"\n{'store':<12}{header}\n{'':<12}{units}", flush=True)
            for store in stores:
                results: dict[str, list[tuple[float, float, float]]] = {s: [] for s in STEPS}
                for _ in range(args.repeats):
                    if store == "sqlite":
                        for suffix in ("", "-wal", "-shm"):
                            Path(f"{database}{suffix}").unlink(missing_ok=True)
                    else:
                        fresh_postgres(args.postgres)
                    init_registry(urls[store])
                    for step in STEPS:
                        results[step].append(measure(step, urls[store], folder))
                        seconds, mib, cpu = results[step][-1]
                        line = f"  {store} {step}: {seconds:.2f} s, CPU {cpu:.1f} s, {mib:,.0f} MiB"
                        print(line, flush=True)
                cells = "".join(
                    f"{statistics.median(t for t, _, _ in r):>10.2f}"
                    f"{statistics.median(c for _, _, c in r):>8.1f}"
                    f"{max(m for _, m, _ in r):>8,.0f}"
                    for r in results.values()
                )
                print(f"{store:<12}{cells}", flush=True)
    finally:
        if started_server:
            subprocess.run(["bash", str(ROOT / "scripts" / "postgres.sh"), "stop"], check=False)
    print(f"\npython {sys.version.split()[0]}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
