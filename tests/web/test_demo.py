"""The demo's accounts: one per role over the two largest centres, with TOTP where required."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bassinet.access import list_users
from bassinet.application.demo import create_demo_accounts
from bassinet.errors import DataError
from bassinet.registry import init_registry, make_engine
from bassinet.registry import models as m
from tests.access.conftest import build_world


def test_the_demo_makes_one_account_per_role_over_two_centres(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    init_registry(url)
    engine = make_engine(url)
    build_world(engine)
    made = create_demo_accounts(engine)
    assert made.centres == ("Monza", "Rotterdam")  # two patients each: ties by name
    assert [a.username for a in made.accounts] == [
        "admin",
        "statistician",
        "datamanager",
        "clinician",
        "monitor",
        "investigator",
    ]
    with_totp = {a.username for a in made.accounts if a.totp_secret}
    assert with_totp == {"admin", "statistician"}
    with Session(engine) as session:
        users = {u.username: u for u in list_users(session)}
    assert users["clinician"].grants == ("clinician over centre 'Rotterdam'",)
    assert users["datamanager"].grants == ("data_manager over centre 'Monza'",)
    assert users["investigator"].grants == ("investigator over centre 'Monza'",)
    with Session(engine) as session:  # the name a signature shows
        names = dict(session.execute(select(m.User.username, m.User.full_name)).all())
    assert names["investigator"] == "Dr Demo Investigator" and names["monitor"] is None
    assert users["statistician"].totp_enrolled and not users["monitor"].totp_enrolled
    assert made.password.startswith("demo-") and len(made.password) >= 20
    with pytest.raises(DataError, match="already exists"):
        create_demo_accounts(engine)
    engine.dispose()
