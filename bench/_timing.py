"""What every benchmark here shares: fair, interleaved timings of Bassinet, its Python peers and R.

Fairness rules (issue 17), applied by :class:`Race`:

- **Warm-up.** Every task runs once, untimed, before any timing, so no tool pays for its
  first call (imports, caches, JIT, page faults) in the figures.
- **Interleaved rounds.** A round runs every task once, in an order shuffled per round
  with a fixed seed; ``rounds`` rounds are run. A burst of load on the machine then falls
  on all tools alike, not on whichever ran while it lasted.
- **R in one persistent process, with its own clock.** :class:`RSession` starts one
  ``R --vanilla`` process, loads each data set into it once (the CSV read is not timed)
  and times each call inside R with ``proc.time()``; the pipe and the parsing of the
  answer are not timed either.
- **Like with like.** Conversions (a DataFrame to arrays, the R model matrix) are made
  before timing; each row of a table names the work it times.
- **Every time kept.** :meth:`Race.record` returns every timing of every round with the
  machine, its load and the BLAS threads, for ``--json``; tables print the median and the
  min–max.
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def blas_threads() -> str:
    """The BLAS libraries NumPy loaded and the threads each may use (threadpoolctl), if known."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl)"
    found = [
        f"{info.get('internal_api')} {info.get('version')} ({info.get('architecture', '?')}): "
        f"{info.get('num_threads')} threads"
        for info in threadpool_info()
        if info.get("user_api") == "blas"
    ]
    return "; ".join(found) or "none found"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine() -> str:
    """The machine, its load (1, 5, 15 min) and the BLAS threads, in one line."""
    kernel = os.environ.get("OPENBLAS_CORETYPE")
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, NumPy {np.__version__}, pandas {pd.__version__}; "
        f"load {load_average()}; BLAS {blas_threads()}" + (f"; OPENBLAS_CORETYPE={kernel}" if kernel else "")
    )


def median_time(action: Callable[[], object], repeats: int) -> float:
    """The median wall-clock seconds of ``repeats`` calls of ``action`` after one untimed warm-up."""
    action()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class RSession:
    """One persistent R process that loads data once and times expressions with its own clock.

    The protocol over the pipe is line based: each request is one R expression sent on
    stdin; R answers one line ``BASSINET <seconds>`` (or ``BASSINET-ERROR <message>``). A
    request that fails leaves the session usable.
    """

    def __init__(self, packages: tuple[str, ...] = ("survival",)) -> None:
        self._folder = tempfile.TemporaryDirectory()
        try:
            self._process: subprocess.Popen[str] | None = subprocess.Popen(
                ["R", "--vanilla", "--slave"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                bufsize=1,
            )
        except FileNotFoundError:
            self._process = None
            return
        loads = "; ".join(f"library({name})" for name in packages)
        self._send(
            f"suppressMessages({{{loads}}}); "
            "bassinet_time <- function(f) { t0 <- proc.time()[['elapsed']]; f(); "
            "proc.time()[['elapsed']] - t0 }"
        )
        self._ask("invisible(0)")

    @property
    def available(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _send(self, line: str) -> None:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(line + "\n")
        self._process.stdin.flush()

    def _ask(self, expression: str) -> float:
        """Run ``expression`` in R, timed inside R; seconds."""
        assert self._process is not None and self._process.stdout is not None
        self._send(
            "local({ r <- tryCatch(bassinet_time(function() eval(quote({ " + expression + " }), "
            "envir = globalenv())), "
            "error = function(e) paste('ERROR', conditionMessage(e))); "
            "if (is.numeric(r)) cat('BASSINET', format(r, digits = 10), '\\n') "
            "else cat('BASSINET-ERROR', gsub('\\n', ' ', r), '\\n') })"
        )
        while True:
            line = self._process.stdout.readline()
            if not line:
                raise RuntimeError("R stopped")
            if line.startswith("BASSINET-ERROR"):
                raise RuntimeError(line.removeprefix("BASSINET-ERROR").strip())
            if line.startswith("BASSINET"):
                return float(line.split()[1])

    def load(self, name: str, data: pd.DataFrame) -> None:
        """Put ``data`` into R as the data frame ``name`` (not timed)."""
        path = Path(self._folder.name) / f"{name}.csv"
        data.to_csv(path, index=False)
        self._ask(f"{name} <- read.csv('{path}')")
        path.unlink()

    def run(self, setup: str) -> None:
        """Run R code once, untimed (to build model matrices and the like)."""
        self._ask(setup)

    def timer(self, expression: str) -> Callable[[], float]:
        """A task for :class:`Race` that runs ``expression`` and returns R's own seconds."""
        return lambda: self._ask(expression)

    def close(self) -> None:
        if self._process is not None:
            if self._process.stdin is not None:
                self._process.stdin.close()
            self._process.wait(timeout=30)
            self._process = None
        self._folder.cleanup()

    def __enter__(self) -> RSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Race:
    """Tasks of several tools on the same data, warmed up, then timed in interleaved rounds.

    Add Python tasks with :meth:`add` (timed here with ``perf_counter``) and R tasks with
    :meth:`add_timed` (a callable that returns its own seconds, from :class:`RSession`).
    A task key is (row, tool): the row names the work, the tool who does it.
    """

    rounds: int = 5
    seed: int = 17
    tasks: dict[tuple[str, str], Callable[[], float]] = field(default_factory=dict)
    times: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    failed: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, row: str, tool: str, action: Callable[[], object]) -> None:
        def timed() -> float:
            start = time.perf_counter()
            action()
            return time.perf_counter() - start

        self.tasks[(row, tool)] = timed

    def add_timed(self, row: str, tool: str, action: Callable[[], float]) -> None:
        self.tasks[(row, tool)] = action

    def run(self, *, once: set[tuple[str, str]] | None = None) -> None:
        """Warm every task up, then time ``rounds`` interleaved rounds.

        Tasks in ``once`` (too slow to repeat) skip the warm-up and run in the first round only.
        """
        once = once or set()
        for key, task in self.tasks.items():
            if key in once:
                continue
            try:
                task()
            except Exception as error:  # a peer that fails is reported, not fatal
                self.failed[key] = f"{type(error).__name__}: {error}"
        shuffle = random.Random(self.seed)
        for index in range(self.rounds):
            keys = [k for k in self.tasks if k not in self.failed and (k not in once or index == 0)]
            shuffle.shuffle(keys)
            for key in keys:
                try:
                    self.times.setdefault(key, []).append(self.tasks[key]())
                except Exception as error:
                    self.failed[key] = f"{type(error).__name__}: {error}"

    def table(self, title: str, *, base: str = "Bassinet", unit: str = "s") -> str:
        """Median and min–max per (row, tool), and each tool's median over Bassinet's."""
        scale = 1000.0 if unit == "ms" else 1.0
        lines = [f"## {title}", f"{'work':<34}{'tool':<26}{'median':>11}{'min-max':>21}{'peer/Bassinet':>15}"]
        rows = list(dict.fromkeys(row for row, _ in self.tasks))
        for row in rows:
            mine = self.times.get((row, base))
            for (r, tool), values in self.times.items():
                if r != row:
                    continue
                med = statistics.median(values) * scale
                spread = f"{min(values) * scale:.3f}-{max(values) * scale:.3f}"
                ratio = ""
                if tool != base and mine:
                    ratio = f"{statistics.median(values) / statistics.median(mine):.2f}x"
                lines.append(f"{row:<34}{tool:<26}{med:>9.3f}{unit:<2}{spread:>21}{ratio:>15}")
            for (r, tool), why in self.failed.items():
                if r == row:
                    lines.append(f"{row:<34}{tool:<26}{'failed: ' + why[:60]:>47}")
        return "\n".join(lines)

    def record(self, **context: Any) -> dict[str, Any]:
        return {
            "machine": machine(),
            "rounds": self.rounds,
            **context,
            "times": [
                {"work": row, "tool": tool, "seconds": values} for (row, tool), values in self.times.items()
            ],
            "failed": [{"work": row, "tool": tool, "error": why} for (row, tool), why in self.failed.items()],
        }


def r_timings(d: pd.DataFrame, script: str, repeats: int) -> dict[str, float]:
    """Run an R script that prints "name seconds" lines, with ``d`` at %(path)s; {} without R.

    The older, one-shot way (a fresh Rscript per script); prefer :class:`RSession`.
    """
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


def write_json(path: str | None, records: list[dict[str, Any]]) -> None:
    """Keep every run's times (``--json PATH``)."""
    if path:
        Path(path).write_text(json.dumps(records, indent=1))
        print(f"\nevery timing written to {path}")
