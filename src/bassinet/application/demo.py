"""Demo accounts for the demo registry: one per role, over two of its centres."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bassinet.access import add_user, grant_role
from bassinet.errors import DataError
from bassinet.registry import models as m


@dataclass(frozen=True)
class DemoAccount:
    """A demo account: its role and scope in words, and its TOTP secret where it has one."""

    username: str
    grant: str
    totp_secret: str | None
    totp_uri: str | None


@dataclass(frozen=True)
class DemoAccounts:
    password: str
    centres: tuple[str, str]
    accounts: tuple[DemoAccount, ...]


def create_demo_accounts(engine: Engine, *, actor: str = "bassinet demo") -> DemoAccounts:
    """Add one account per role to the (demo) registry at ``engine``, all with one new random
    password: ``admin`` and ``statistician`` (whole study, with a TOTP second factor),
    ``datamanager``, ``monitor`` and ``investigator`` (who signs casebooks, with a full name)
    at the largest centre, ``clinician`` at the second largest.

    Raises a DataError if the registry has fewer than two centres or the accounts exist.
    """
    password = "demo-" + secrets.token_urlsafe(12)
    with Session(engine) as session, session.begin():
        counts = session.execute(
            select(m.Centre.name, func.count(m.Patient.id))
            .join(m.Patient, m.Patient.centre_id == m.Centre.id)
            .group_by(m.Centre.name)
            .order_by(func.count(m.Patient.id).desc(), m.Centre.name)
            .limit(2)
        ).all()
        if len(counts) < 2:
            raise DataError("the demo accounts need a registry with patients in at least two centres")
        first, second = str(counts[0][0]), str(counts[1][0])
        plan: list[tuple[str, str, str | None]] = [
            ("admin", "administrator", None),
            ("statistician", "trial_statistician", None),
            ("datamanager", "data_manager", first),
            ("clinician", "clinician", second),
            ("monitor", "monitor", first),
            ("investigator", "investigator", first),
        ]
        accounts = []
        for username, role, centre in plan:
            full_name = "Dr Demo Investigator" if role == "investigator" else None
            add_user(session, username, password, actor=actor, full_name=full_name)
            uri = grant_role(session, username, role, actor=actor, centre=centre).totp_uri
            match = re.search(r"secret=([A-Z2-7]+)", uri) if uri else None
            where = f"centre {centre}" if centre else "the whole study"
            accounts.append(
                DemoAccount(username, f"{role} over {where}", match.group(1) if match else None, uri)
            )
    return DemoAccounts(password, (first, second), tuple(accounts))
