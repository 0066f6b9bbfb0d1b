"""Alembic environment for the Bassinet registry.

The engine is handed over by :func:`bassinet.registry.store.init_registry`; batch mode
lets the same migrations alter tables on SQLite, which has limited ALTER TABLE.
"""

from __future__ import annotations

from alembic import context

from bassinet.registry.models import Base

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
    )
    context.run_migrations()
