"""`LMBackendError` lives in :mod:`fewshot.exceptions`; re-exported here for the backends."""

from __future__ import annotations

from fewshot.exceptions import LMBackendError

__all__ = ["LMBackendError"]
