"""Engine creation and schema migration (Alembic, run programmatically)."""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from ..exceptions import InvalidInputError, MissingDependencyError

__all__ = [
    "DEFAULT_BUSY_TIMEOUT",
    "busy_timeout_from_env",
    "create_db_engine",
    "migrate",
    "make_session_factory",
    "schema_version",
]

logger = logging.getLogger(__name__)
_MIGRATIONS = Path(__file__).parent / "migrations"


def _normalise_url(url: str) -> str:
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse message
        raise InvalidInputError(f"database URL {url!r} is not a valid SQLAlchemy URL") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise MissingDependencyError("psycopg", "postgres") from exc
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


#: Seconds a SQLite connection waits for another writer's lock before "database is locked"
#: (``PRAGMA busy_timeout``); ``FEWSHOT_SQLITE_BUSY_TIMEOUT`` overrides it.
DEFAULT_BUSY_TIMEOUT = 30.0


def busy_timeout_from_env() -> float:
    """``FEWSHOT_SQLITE_BUSY_TIMEOUT`` in seconds (default `DEFAULT_BUSY_TIMEOUT`)."""
    raw = os.environ.get("FEWSHOT_SQLITE_BUSY_TIMEOUT")
    if raw is None or not raw.strip():
        return DEFAULT_BUSY_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInputError(f"FEWSHOT_SQLITE_BUSY_TIMEOUT must be a number of seconds, got {raw!r}") from None
    if not math.isfinite(value) or value < 0 or value > 86400:
        raise InvalidInputError(f"FEWSHOT_SQLITE_BUSY_TIMEOUT must be 0-86400 seconds, got {raw!r}")
    return value


def create_db_engine(url: str, *, busy_timeout: float | None = None) -> Engine:
    """An engine for ``url``. SQLite gets foreign keys, WAL (readers never wait for the writer) and
    an explicit ``PRAGMA busy_timeout`` of ``busy_timeout`` seconds (default: `busy_timeout_from_env`)
    so a writer waits for another writer's short transaction instead of failing at once."""
    url = _normalise_url(url)
    if url.startswith("sqlite"):
        timeout = busy_timeout_from_env() if busy_timeout is None else float(busy_timeout)
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": timeout, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic (idempotent)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def schema_version(session: Session) -> str | None:
    """The Alembic revision the database is at (None before the first migration)."""
    from sqlalchemy import text

    return session.execute(text("select version_num from alembic_version")).scalar()
