"""Background jobs (embedding, selection, UDR mining and training)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

__all__ = ["JobPublic"]


class JobPublic(BaseModel):
    id: str
    kind: str
    status: Literal["pending", "running", "succeeded", "failed"]
    progress_done: int
    progress_total: int
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    created_at: str
    updated_at: str
