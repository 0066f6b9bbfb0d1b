"""R as the oracle: run R code on the same data Bassinet sees and read back its numbers.

``run_r(code, data)`` writes ``data`` (columns of equal length) to a CSV file, runs
``Rscript`` with ``d`` holding that table, and reads back every element of the named
list ``out`` that the code builds, printed at 17 significant digits (NA as NaN).
``r_dataset(name)`` exports one of R's own data sets, so both sides use the same rows.

Without Rscript (or its survival / cmprsk packages) the tests skip with a message on
how to install them, unless ``BASSINET_REQUIRE_R=1`` (as in CI), where they fail.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

INSTALL = "apt-get install r-base-core r-cran-survival r-cran-cmprsk (or run scripts/test.sh)"

_DUMP = r"""
.dump <- function(out, path) {
  con <- file(path, "w")
  for (name in names(out)) {
    x <- as.numeric(unlist(out[[name]]))
    cells <- ifelse(is.na(x), "NaN", ifelse(is.infinite(x), ifelse(x > 0, "Inf", "-Inf"),
                    sprintf("%.17g", x)))
    writeLines(paste0(name, "\t", paste(cells, collapse = ",")), con)
  }
  close(con)
}
"""


PACKAGES = ("survival", "cmprsk")


@functools.cache
def r_available(packages: tuple[str, ...] = PACKAGES) -> str | None:
    """None if Rscript with ``packages`` runs here, else the reason it does not."""
    if shutil.which("Rscript") is None:
        return f"Rscript is not installed: {INSTALL}"
    load = "; ".join(f"library({p})" for p in packages)
    probe = subprocess.run(["Rscript", "-e", load], capture_output=True, text=True)
    if probe.returncode != 0:
        names = ", ".join(f"r-cran-{p}" for p in packages)
        return f"R lacks one of {', '.join(packages)} ({probe.stderr.strip()[:200]}): apt-get install {names}"
    return None


def require_r(packages: tuple[str, ...] = PACKAGES) -> None:
    reason = r_available(packages)
    if reason is None:
        return
    if os.environ.get("BASSINET_REQUIRE_R") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def run_r(
    code: str,
    data: dict[str, object] | pd.DataFrame | None = None,
    *,
    packages: tuple[str, ...] = PACKAGES,
) -> dict[str, np.ndarray]:
    """Run ``code`` in R with ``d`` as the data and ``packages`` loaded; return the numbers of ``out``."""
    require_r(packages)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        load = "; ".join(f"library({p})" for p in packages)
        script = [_DUMP, f"suppressMessages({{{load}}})"]
        if data is not None:
            frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
            frame.to_csv(tmp / "data.csv", index=False, float_format="%.17g")
            script.append(f'd <- read.csv("{tmp / "data.csv"}")')
        script += [code, f'.dump(out, "{tmp / "out.txt"}")']
        (tmp / "script.R").write_text("\n".join(script))
        result = subprocess.run(["Rscript", str(tmp / "script.R")], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"R failed:\n{result.stderr}\n--- code ---\n{code}")
        values = {}
        for line in (tmp / "out.txt").read_text().splitlines():
            name, _, cells = line.partition("\t")
            values[name] = np.array([float(c) for c in cells.split(",")] if cells else [])
        return values


@functools.cache
def r_dataset(expression: str) -> pd.DataFrame:
    """An R data set (any R expression giving a data frame), exported as R has it."""
    require_r()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.csv"
        code = (
            f"suppressMessages(library(survival)); x <- {expression}; "
            f'write.csv(x, "{path}", row.names = FALSE)'
        )
        result = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"R failed:\n{result.stderr}")
        return pd.read_csv(path)


def assert_close(ours: object, theirs: np.ndarray, *, rtol: float = 1e-6, what: str = "") -> None:
    """Equal to R at a relative ``rtol``; NaN where R has NA. Exact zeros must be zero to 1e-14."""
    np.testing.assert_allclose(
        np.asarray(ours, dtype=float), theirs, rtol=rtol, atol=1e-14, equal_nan=True, err_msg=what
    )
