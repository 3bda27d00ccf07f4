"""Persistence, and the only floor that writes SQL.

* ``models``, ``db``, ``migrations``: the schema, engines, sessions and Alembic migrations.
* ``vectors``: embedding vectors on disk, keyed by content hash.
* Repositories, one module per table family (keyword-only functions, one session in, no commits):
  ``pools``, ``examples``, ``rounds``, ``indexes``, ``prompt_logs``, ``trained``, ``keys``,
  ``jobs``, ``feedback``.
"""

from .db import create_db_engine, make_session_factory, migrate
from .models import Base, Example, ExampleStatus, Job, JobStatus, Pool, SelectionItem, SelectionRound
from .vectors import VectorStore

__all__ = [
    "Base",
    "Example",
    "ExampleStatus",
    "Job",
    "JobStatus",
    "Pool",
    "SelectionItem",
    "SelectionRound",
    "VectorStore",
    "create_db_engine",
    "make_session_factory",
    "migrate",
]
