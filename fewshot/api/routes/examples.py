"""Examples: bulk ingest (JSON or file upload), list with filters, embed."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile, status

from ...exceptions import InvalidInputError
from ..deps import JobsDep, KeyDep, WorkspaceDep, check_pool_access
from ..schemas import ExamplesIngest, ExamplesPublic, IngestReportPublic, JobPublic

router = APIRouter(prefix="/pools/{pool}", tags=["examples"])


@router.post("/examples", response_model=IngestReportPublic, summary="Add records (JSON body); all or nothing")
def add_examples(pool: str, body: ExamplesIngest, ws: WorkspaceDep, key: KeyDep) -> dict:
    check_pool_access(key, pool)
    m = body.mapping
    return ws.add_records(pool, body.records, id_field=m.id_field, text_field=m.text_field, template=m.template,
                          label_field=m.label_field, skills_field=m.skills_field, on_conflict=body.on_conflict,
                          keep_duplicates=body.keep_duplicates, create=False).to_dict()


@router.post("/examples/file", response_model=IngestReportPublic,
             summary="Upload a JSONL/CSV/Parquet file; the pool is created if missing")
def upload_examples(pool: str, ws: WorkspaceDep, key: KeyDep, file: Annotated[UploadFile, File()],
                    id_field: Annotated[str | None, Form()] = None, text_field: Annotated[str | None, Form()] = None,
                    template: Annotated[str | None, Form()] = None, label_field: Annotated[str | None, Form()] = None,
                    skills_field: Annotated[str | None, Form()] = None,
                    file_format: Annotated[Literal["jsonl", "csv", "parquet"] | None, Form()] = None,
                    on_conflict: Annotated[Literal["error", "skip", "update"], Form()] = "error") -> dict:
    check_pool_access(key, pool)
    suffix = Path(file.filename or "upload").suffix
    if file_format is None and suffix.lower() not in (".jsonl", ".ndjson", ".json", ".csv", ".parquet", ".pq"):
        raise InvalidInputError(f"cannot tell the format of {file.filename!r}; send file_format")
    uploads = ws.settings.home / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=uploads, suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := file.file.read(1 << 20):
                out.write(chunk)
        report = ws.ingest(pool, tmp, fmt=file_format, id_field=id_field, text_field=text_field, template=template,
                           label_field=label_field, skills_field=skills_field, on_conflict=on_conflict)
    finally:
        Path(tmp).unlink(missing_ok=True)
    report.source = file.filename or "upload"
    return report.to_dict()


@router.get("/examples", response_model=ExamplesPublic, summary="List examples, filtered by status and label")
def list_examples(pool: str, ws: WorkspaceDep, key: KeyDep,
                  status_: Annotated[Literal["unlabeled", "selected", "labeled"] | None, Query(alias="status")] = None,
                  label: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                  offset: Annotated[int, Query(ge=0)] = 0) -> dict:
    check_pool_access(key, pool)
    data = [e.to_dict() for e in ws.list_examples(pool, status=status_, label=label, limit=limit, offset=offset)]
    return {"data": data, "count": len(data)}


@router.post("/embed", response_model=JobPublic, status_code=status.HTTP_202_ACCEPTED,
             summary="Start embedding the pool's new texts (a job)")
def embed(pool: str, ws: WorkspaceDep, jobs: JobsDep, key: KeyDep) -> dict:
    check_pool_access(key, pool)
    info = ws.get_pool(pool)
    return jobs.submit("embed", {"pool": pool}, pool_id=info.id)
