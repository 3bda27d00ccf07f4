"""Repository of trained models (``trained_models``): versioned per name."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fewshot.exceptions import ConflictError
from fewshot.store.errors import is_unique_violation
from fewshot.store.models import TrainedModel

__all__ = ["next_version", "add_model", "list_models", "find_model", "model_names"]


def next_version(session: Session, *, name: str) -> int:
    return (session.scalar(select(func.max(TrainedModel.version)).where(TrainedModel.name == name)) or 0) + 1


def add_model(session: Session, **values: Any) -> TrainedModel:
    """Insert a model row; `ConflictError` when ``(name, version)`` was taken concurrently."""
    row = TrainedModel(**values)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise ConflictError(
                f"model {values.get('name')!r} v{values.get('version')} was saved concurrently; train again"
            ) from None
        raise
    return row


def list_models(session: Session, *, name: str | None = None) -> list[TrainedModel]:
    q = select(TrainedModel).order_by(TrainedModel.name, TrainedModel.version)
    if name is not None:
        q = q.where(TrainedModel.name == name)
    return list(session.scalars(q))


def find_model(session: Session, *, name: str | None = None, version: int | None = None) -> TrainedModel | None:
    """The newest matching model row (by creation, then version)."""
    q = select(TrainedModel)
    if name is not None:
        q = q.where(TrainedModel.name == name)
    if version is not None:
        q = q.where(TrainedModel.version == version)
    return session.scalar(q.order_by(TrainedModel.created_at.desc(), TrainedModel.version.desc()).limit(1))


def model_names(session: Session) -> list[str]:
    return sorted(set(session.scalars(select(TrainedModel.name))))
