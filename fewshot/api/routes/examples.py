"""Examples: bulk ingest (JSON or file upload), list with filters, embed."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile, status
from pydantic import AfterValidator

from ...exceptions import FewshotError, IngestError, InvalidInputError
from ...io import detect_format
from ..deps import JobsDep, PoolAccess, WorkspaceDep
from ..schemas import (
    EmbedRequest,
    ExamplesIngest,
    ExamplesPublic,
    ExampleStatus,
    IngestReportPublic,
    JobPublic,
    OnConflict,
    UploadFormat,
)
from ..schemas.common import MAX_INT
from ..schemas.pools import check_template
from .jobs import submit_pool_job

router = APIRouter(prefix="/pools/{pool}", tags=["examples"])


@router.post("/examples", response_model=IngestReportPublic, summary="Add records (JSON body); all or nothing")
def add_examples(pool: PoolAccess, body: ExamplesIngest, ws: WorkspaceDep) -> dict[str, Any]:
    """200 with the ingest report; 403; 404 for an unknown pool; 409 when the mapping disagrees with
    the pool's stored template or text field; 422 naming the record and field of a malformed record,
    or an id already stored with another text under ``on_conflict: error`` (nothing is added)."""
    mapping = body.mapping.model_dump()
    return ws.add_records(
        pool, body.records, **mapping, on_conflict=body.on_conflict, keep_duplicates=body.keep_duplicates, create=False
    ).to_dict()


@router.post(
    "/examples/file",
    response_model=IngestReportPublic,
    summary="Upload a JSONL/CSV/Parquet file; the pool is created if missing",
)
def upload_examples(
    pool: PoolAccess,
    ws: WorkspaceDep,
    file: Annotated[UploadFile, File()],
    id_field: Annotated[str | None, Form()] = None,
    text_field: Annotated[str | None, Form()] = None,
    template: Annotated[str | None, Form(max_length=10_000), AfterValidator(check_template)] = None,
    label_field: Annotated[str | None, Form()] = None,
    skills_field: Annotated[str | None, Form()] = None,
    file_format: Annotated[UploadFormat | None, Form()] = None,
    on_conflict: Annotated[OnConflict, Form()] = "error",
) -> dict[str, Any]:
    """200 with the ingest report (``source`` is the uploaded file's name; a missing pool is
    created); 403; 409 when the mapping disagrees with the pool's; 422 when the format cannot be
    told from the name (send ``file_format``), a line is malformed, or an id is already stored with
    another text under ``on_conflict: error`` (nothing is added)."""
    name = file.filename or "upload"
    try:
        fmt = detect_format(name, file_format)
    except IngestError:
        raise InvalidInputError(f"cannot tell the format of {name!r}; send file_format") from None
    uploads = ws.settings.home / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=uploads, suffix=Path(name).suffix)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := file.file.read(1 << 20):
                out.write(chunk)
        report = ws.ingest(
            pool,
            tmp,
            fmt=fmt,
            id_field=id_field,
            text_field=text_field,
            template=template,
            label_field=label_field,
            skills_field=skills_field,
            on_conflict=on_conflict,
        )
    except FewshotError as exc:  # name the uploaded file, never the server's temp path
        exc.args = tuple(arg.replace(tmp, name) if isinstance(arg, str) else arg for arg in exc.args)
        if isinstance(exc, IngestError) and exc.path == tmp:
            exc.path = name
        raise
    finally:
        Path(tmp).unlink(missing_ok=True)
    report.source = name
    return report.to_dict()


@router.get("/examples", response_model=ExamplesPublic, summary="List examples, filtered by status and label")
def list_examples(
    pool: PoolAccess,
    ws: WorkspaceDep,
    status_: Annotated[ExampleStatus | None, Query(alias="status")] = None,
    label: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> dict[str, Any]:
    """200 with a page of examples in id order; 403; 404 for an unknown pool; 422 for a bad filter."""
    data = [e.to_dict() for e in ws.list_examples(pool, status=status_, label=label, limit=limit, offset=offset)]
    return {"data": data, "count": len(data)}


@router.post(
    "/embed",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start embedding the pool's new texts (a job)",
)
def embed(pool: PoolAccess, ws: WorkspaceDep, jobs: JobsDep, body: EmbedRequest | None = None) -> dict[str, Any]:
    """202 with the queued job (poll /v1/jobs/{id}); 403; 404 for an unknown pool; with ``ray``:
    422 when the server has no Ray cluster configured, 501 without the ray extra."""
    params = ws.embeddings.embed_job_params(ray=body is not None and body.ray)
    return submit_pool_job(ws, jobs, "embed", pool, params)
