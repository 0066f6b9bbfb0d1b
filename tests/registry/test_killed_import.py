"""An import killed halfway (SIGKILL, no chance to clean up) leaves the registry as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, func, select

from bassinet.registry import import_files
from bassinet.registry import models as m
from bassinet.simulate import registry_rows, write_csv
from tests.registry.builders import patient, write_files

PATIENTS = 4000


def state(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            t.__tablename__: int(connection.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (*m.REGISTRY_TABLES, m.AuditEntry, m.ImportRun)
        }


def test_a_killed_import_leaves_the_registry_as_before_and_the_rerun_succeeds(
    engine: Engine, tmp_path: Path
) -> None:
    first, _ = write_files(tmp_path / "first", [patient("EARLIER")])
    import_files(engine, first, actor="tester")
    before = state(engine)

    paths = write_csv(registry_rows(PATIENTS, seed=11), tmp_path / "big")
    command = [
        sys.executable,
        "-m",
        "bassinet.cli",
        "import",
        str(paths.pop("patients")),
        *(arg for name, path in paths.items() for arg in (f"--{name}", str(path))),
        "--registry",
        engine.url.render_as_string(hide_password=False),
        "--user",
        "killed",
    ]
    env = {**os.environ, "COLUMNS": "200"}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert process.stderr is not None
    for line in process.stderr:  # wait until it has begun writing in its transaction
        if b"writing" in line:
            break
    time.sleep(0.3)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the import finished before it could be killed"

    engine.dispose()  # drop pooled connections; the next ones see what the database kept
    assert state(engine) == before

    report = import_files(
        engine,
        tmp_path / "big" / "patients.csv",
        long_sheets={n: p for n, p in paths.items()},
        actor="tester",
    )
    assert report.counts["patients"].inserted == PATIENTS
    assert state(engine)["patient"] == before["patient"] + PATIENTS
