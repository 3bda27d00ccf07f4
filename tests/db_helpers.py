"""Fresh test databases on each backend (one copy for every test folder)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["fresh_database", "PG_ENV"]

PG_ENV = "FEWSHOT_TEST_POSTGRES_URL"


@contextmanager
def fresh_database(backend: str, directory: Path, postgres_admin_url: str | None) -> Iterator[str]:
    """The URL of a fresh, empty database: a SQLite file in ``directory``, or a new PostgreSQL
    database dropped when the block ends (skips when no PostgreSQL server answers)."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'fewshot.db'}"
        return
    if postgres_admin_url is None:
        pytest.skip(f"PostgreSQL not reachable (set {PG_ENV} to require it)")
    import sqlalchemy as sa

    from fewshot.store.db import create_db_engine

    name = f"fewshot_test_{uuid.uuid4().hex[:10]}"
    admin = create_db_engine(postgres_admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
