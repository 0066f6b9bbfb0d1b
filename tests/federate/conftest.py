"""Fixtures of the federation tests: the Interfant-06 plan with disclosure rules, and sites.

The simulated Interfant-06 cohort (the session fixture ``records``) is split into sites
in several ways; each site's summary is made from that site's records alone, as a
site would make it from its own registry.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bassinet.endpoints import ClinicalRecords
from bassinet.federate import FederatedPlan, load_federated_plan
from bassinet.plans import PlanResult, run_plan, shipped_plan

Sites = dict[str, ClinicalRecords]


def plan_text(
    time_unit: str = "day", min_cell: int = 1, min_group: int = 1, stratify_by_site: bool = False
) -> str:
    """The shipped Interfant-06 plan with a federation block."""
    return shipped_plan("interfant06").read_text(encoding="utf-8") + (
        "federation:\n"
        f"  time_unit: {time_unit}\n"
        f"  min_cell: {min_cell}\n"
        f"  min_group: {min_group}\n"
        f"  stratify_by_site: {str(stratify_by_site).lower()}\n"
    )


@pytest.fixture(scope="session")
def make_plan(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., FederatedPlan]:
    folder = tmp_path_factory.mktemp("plans")
    counter = iter(range(10_000))

    def make(**rules: object) -> FederatedPlan:
        path = folder / f"interfant06-{next(counter)}.yaml"
        path.write_text(plan_text(**rules), encoding="utf-8")  # type: ignore[arg-type]
        return load_federated_plan(path)

    return make


@pytest.fixture(scope="session")
def day_plan(make_plan: Callable[..., FederatedPlan]) -> FederatedPlan:
    return make_plan()


@pytest.fixture(scope="session")
def interfant(records: ClinicalRecords) -> ClinicalRecords:
    """The Interfant-06 patients of the session registry (it also holds the transplant cohort)."""
    p = records.patients
    return records.subset(p.loc[p["protocol"] == "Interfant-06", "study_id"])


@pytest.fixture(scope="session")
def central(day_plan: FederatedPlan, interfant: ClinicalRecords) -> PlanResult:
    """The central report: the plan run on every patient row."""
    return run_plan(day_plan.loaded, interfant)


def split_by_group(records: ClinicalRecords) -> Sites:
    """One site per study group, as in the trial."""
    groups = records.patients.groupby("study_group")["study_id"].apply(list)
    return {str(g): records.subset(ids) for g, ids in groups.items()}


def split_at_random(records: ClinicalRecords, n_sites: int, seed: int) -> Sites:
    ids = records.patients["study_id"].to_numpy()
    site = np.random.default_rng(seed).integers(0, n_sites, len(ids))
    return {f"site-{k}": records.subset(ids[site == k]) for k in range(n_sites)}


def split_with_tiny_sites(records: ClinicalRecords) -> Sites:
    """A site with one patient, a site whose patients have no event, and the rest."""
    p = records.patients
    with_events = set(records.events["study_id"])
    quiet = [sid for sid in p["study_id"] if sid not in with_events][:4]
    single = [sid for sid in p["study_id"] if sid not in quiet][:1]
    rest = [sid for sid in p["study_id"] if sid not in set(quiet) | set(single)]
    return {
        "one-patient": records.subset(single),
        "no-events": records.subset(quiet),
        "rest": records.subset(rest),
    }


def path_of(tmp: Path, name: str) -> Path:
    return tmp / f"{name}.json"


def site_token(url: str, username: str = "coordinator", role: str = "trial_statistician") -> str:
    """A personal access token of a user with ``role`` over the whole study, in the registry at ``url``."""
    from sqlalchemy.orm import Session

    from bassinet.access import create_token
    from bassinet.access.accounts import add_user, grant_role
    from bassinet.registry import make_engine

    engine = make_engine(url)
    try:
        with Session(engine) as session, session.begin():
            add_user(session, username, "a long passphrase 4 tests", actor="test")
            grant_role(session, username, role, actor="test")
            return create_token(session, username, name="federation", actor="test").secret
    finally:
        engine.dispose()
