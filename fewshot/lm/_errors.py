"""`LMBackendError`: a language-model backend failed (HTTP error, timeout, malformed answer)."""

from __future__ import annotations

from fewshot.exceptions import FewshotError

__all__ = ["LMBackendError"]


class LMBackendError(FewshotError):
    """The model server or runtime failed: an HTTP error status, a timeout after the allowed
    retries, or an answer without the fields the request asked for. The message names the URL
    (or runtime) and what went wrong."""
