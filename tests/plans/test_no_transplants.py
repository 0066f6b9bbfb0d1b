"""A registry read from the database where nobody has been transplanted yet.

Its transplant frame then holds only its key columns; the transplant plan must still run and
say that MRD before transplant is unknown for everyone, not crash (found running the
hsct-infants plan on the access tests' small registry).
"""

from __future__ import annotations

from pathlib import Path

from bassinet.endpoints import ClinicalRecords
from bassinet.plans import analysis_frame, load_plan, run_plan, shipped_plan
from bassinet.registry import init_registry, make_engine, read_frames
from tests.access.conftest import build_world


def test_the_transplant_plan_runs_on_a_registry_with_no_transplants(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    init_registry(url)
    engine = make_engine(url)
    try:
        build_world(engine)
        records = ClinicalRecords.from_frames(read_frames(engine))
    finally:
        engine.dispose()
    assert len(records.transplants) == 0
    assert len(records.patients) == 6

    frame = analysis_frame(records, ["mrd_before_transplant"])
    assert frame["mrd_before_transplant"].isna().all()
    assert len(frame) == 6

    result = run_plan(load_plan(shipped_plan("hsct-infants")), records)
    assert result.analyses  # every analysis present, estimable or not
