"""What every benchmark here shares: a median of repeated timings and R timed by Rscript."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd


def machine() -> str:
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, NumPy {np.__version__}"
    )


def median_time(action: Callable[[], object], repeats: int) -> float:
    """The median wall-clock seconds of ``repeats`` calls of ``action``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def r_timings(d: pd.DataFrame, script: str, repeats: int) -> dict[str, float]:
    """Run an R script that prints "name seconds" lines, with ``d`` at %(path)s; {} without R."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.csv"
        d.to_csv(path, index=False)
        code = Path(folder) / "time.R"
        code.write_text(script % {"path": path, "repeats": repeats})
        try:
            done = subprocess.run(["Rscript", str(code)], capture_output=True, text=True, check=True)
        except (FileNotFoundError, subprocess.CalledProcessError):
            return {}
    found = {}
    for line in done.stdout.splitlines():
        *name, value = line.split()
        found[" ".join(name)] = float(value)
    return found
