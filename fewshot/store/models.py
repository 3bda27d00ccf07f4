"""SQLAlchemy 2 models: pools, examples, selection rounds, jobs.

Vectors are not stored here: see :mod:`fewshot.store.vectors`. The schema is created and changed
only through Alembic migrations (``fewshot/store/migrations``).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "Base",
    "Pool",
    "Example",
    "ExampleStatus",
    "SelectionRound",
    "SelectionItem",
    "Job",
    "JobStatus",
    "ApiKey",
    "PromptLog",
    "IndexVersion",
    "TrainedModel",
    "FeedbackScore",
    "StagedImport",
    "StagedExample",
]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, list[Any]: JSON}


class ExampleStatus(str, enum.Enum):
    UNLABELED = "unlabeled"
    SELECTED = "selected"
    LABELED = "labeled"


class JobStatus(str, enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Pool(Base):
    """A named collection of examples that share a text template and an embedding model."""

    __tablename__ = "pools"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    template: Mapped[str | None] = mapped_column(Text, default=None)
    text_field: Mapped[str | None] = mapped_column(String(200), default=None)
    embedding_model: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)
    # pool-level options, e.g. {"skills": [...vocabulary...], "difficulty": {...thresholds...}}
    settings: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)

    examples: Mapped[list[Example]] = relationship(
        back_populates="pool", cascade="all, delete-orphan", passive_deletes=True
    )
    rounds: Mapped[list[SelectionRound]] = relationship(
        back_populates="pool", cascade="all, delete-orphan", passive_deletes=True
    )


class Example(Base):
    """One item of a pool: its original fields, rendered text, label and skills."""

    __tablename__ = "examples"
    __table_args__ = (
        UniqueConstraint("pool_id", "external_id", name="uq_examples_pool_external_id"),
        Index("ix_examples_pool_hash", "pool_id", "content_hash"),
        Index("ix_examples_pool_status", "pool_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(500))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(Text, default=None)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default=ExampleStatus.UNLABELED.value)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)

    pool: Mapped[Pool] = relationship(back_populates="examples")


class SelectionRound(Base):
    """One run of a selection method on a pool: its parameters and ordered picks."""

    __tablename__ = "selection_rounds"
    __table_args__ = (UniqueConstraint("pool_id", "number", name="uq_rounds_pool_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(50))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    budget: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    influence: Mapped[float | None] = mapped_column(Float, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    pool: Mapped[Pool] = relationship(back_populates="rounds")
    items: Mapped[list[SelectionItem]] = relationship(
        back_populates="round", cascade="all, delete-orphan", order_by="SelectionItem.position", passive_deletes=True
    )


class SelectionItem(Base):
    __tablename__ = "selection_items"

    round_id: Mapped[int] = mapped_column(ForeignKey("selection_rounds.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    example_id: Mapped[int] = mapped_column(ForeignKey("examples.id", ondelete="CASCADE"), index=True)
    score: Mapped[float] = mapped_column(Float)

    round: Mapped[SelectionRound] = relationship(back_populates="items")
    example: Mapped[Example] = relationship()


class Job(Base):
    """Long work (embedding, selection, index builds): status and progress survive a restart."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    pool_id: Mapped[int | None] = mapped_column(ForeignKey("pools.id", ondelete="CASCADE"), default=None, index=True)
    status: Mapped[str] = mapped_column(String(20), default=JobStatus.PENDING.value)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)


class ApiKey(Base):
    """A REST API key. Only its sha256 is stored; ``pools`` (None = all) limits what it can touch."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    pools: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class PromptLog(Base):
    """Provenance of a built prompt: which demonstrations went into it, found how."""

    __tablename__ = "prompt_logs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id", ondelete="CASCADE"), index=True)
    query_hash: Mapped[str] = mapped_column(String(64), index=True)
    query: Mapped[str] = mapped_column(Text)
    retriever: Mapped[str] = mapped_column(String(100))
    template: Mapped[str] = mapped_column(String(200))
    demo_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    scores: Mapped[list[Any]] = mapped_column(JSON, default=list)
    n_tokens: Mapped[int] = mapped_column(Integer, default=0)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class IndexVersion(Base):
    """A saved retrieval index of a pool's labeled items (a folder under the data directory)."""

    __tablename__ = "index_versions"
    __table_args__ = (UniqueConstraint("pool_id", "kind", "version", name="uq_index_pool_kind_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(50))
    version: Mapped[int] = mapped_column(Integer)
    embedding_model: Mapped[str] = mapped_column(String(500))
    path: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer)
    labeled_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class TrainedModel(Base):
    """A trained encoder (e.g. a UDR retriever): a sentence-transformers folder under the data
    directory, versioned by name."""

    __tablename__ = "trained_models"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_trained_models_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(50), default="udr")
    base_model: Mapped[str] = mapped_column(String(500))
    path: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class FeedbackScore(Base):
    """An LM's score of one demonstration for one item (UDR feedback): mean NLL of the item's gold
    output given the demonstration. Keyed by content, so it is reused across pools and runs."""

    __tablename__ = "feedback_scores"
    __table_args__ = (UniqueConstraint("lm", "template_hash", "item_hash", "demo_hash", name="uq_feedback_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lm: Mapped[str] = mapped_column(String(500))
    template_hash: Mapped[str] = mapped_column(String(64))
    item_hash: Mapped[str] = mapped_column(String(64), index=True)
    demo_hash: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    n_tokens: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class StagedImport(Base):
    """A file import in progress: its rows are staged in ``staged_examples`` in short batch
    transactions and published into ``examples`` in one short transaction at the end. Nothing but
    the import reads staged rows. ``heartbeat_at`` moves on with every batch; an import whose
    heartbeat is stale (its process died) is removed by the next import or at workspace start."""

    __tablename__ = "staged_imports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    pool_name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now, index=True)


class StagedExample(Base):
    """One staged row of an import: a new example (``example_id`` null) or the new content of an
    existing example (``on_conflict="update"``). The pool id is given at publish time (the pool
    may be created by the publish)."""

    __tablename__ = "staged_examples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[str] = mapped_column(String(32), index=True)
    example_id: Mapped[int | None] = mapped_column(Integer, default=None)
    external_id: Mapped[str] = mapped_column(String(500))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(Text, default=None)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20))
