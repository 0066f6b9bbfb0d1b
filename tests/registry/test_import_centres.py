"""An import limited to some centres (an uploading user's scope): other centres' rows are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bassinet.registry import ImportRejected, import_files
from bassinet.registry import models as m
from tests.registry.builders import patient, write_files

RULE = "is not a centre you may import for (yours: Kiel, Rotterdam)"


def _study_ids(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return set(session.scalars(select(m.Patient.study_id)))


def test_a_row_of_another_centre_refuses_the_import_and_names_the_rule(
    engine: Engine, tmp_path: Path
) -> None:
    path, _ = write_files(tmp_path, [patient("P1"), patient("P2", centre="Monza", study_group="AIEOP")])
    with pytest.raises(ImportRejected) as caught:
        import_files(engine, path, actor="dm", centres=("Rotterdam", "Kiel"))
    [problem] = caught.value.problems
    assert (problem.row, problem.field, problem.value, problem.rule) == (3, "centre", "Monza", RULE)
    assert _study_ids(engine) == set()


def test_with_a_quarantine_only_the_rows_in_scope_are_imported(engine: Engine, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient("P1"), patient("P2", centre="Monza", study_group="AIEOP")])
    report = import_files(
        engine, path, actor="dm", centres=("Rotterdam", "Kiel"), quarantine=tmp_path / "q.csv"
    )
    assert _study_ids(engine) == {"P1"}
    assert report.quarantine is not None and "Monza" in report.quarantine.read_text(encoding="utf-8")


def test_without_centres_every_centre_may_be_imported(engine: Engine, tmp_path: Path) -> None:
    path, _ = write_files(tmp_path, [patient("P1"), patient("P2", centre="Monza", study_group="AIEOP")])
    import_files(engine, path, actor="office")
    assert _study_ids(engine) == {"P1", "P2"}
