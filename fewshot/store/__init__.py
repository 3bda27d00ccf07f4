"""Persistence: SQLAlchemy models and migrations (``db``), vectors on disk (``vectors``)."""

from .db import create_db_engine, make_session_factory, migrate
from .models import Base, Example, ExampleStatus, Job, JobStatus, Pool, SelectionItem, SelectionRound
from .vectors import VectorStore, content_hash

__all__ = [
    "Base", "Example", "ExampleStatus", "Job", "JobStatus", "Pool", "SelectionItem", "SelectionRound",
    "VectorStore", "content_hash", "create_db_engine", "make_session_factory", "migrate",
]
