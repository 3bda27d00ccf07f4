"""Rounds: each round's method, parameters and items with scores; downloads of a round for
annotators (`SelectionService.export_round`); label import by upload (`LabelService.import_labels`)
with its report."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, Response, UploadFile
from fastapi import Path as PathParam

from ...exceptions import FewshotError
from ...io import LABEL_FORMATS
from ...service.labels import RESOLVE_MODES, LabelImportError
from ...service.selection import EXPORT_FORMATS, annotation_config_path
from ..deps import WorkspaceDep
from ..schemas.common import MAX_INT
from .auth import CSRF_FIELD, SessionDep, check_csrf
from .render import ConsoleRoute, render

router = APIRouter(route_class=ConsoleRoute)

#: What each export downloads as: file suffix and media type.
_DOWNLOADS = {
    "jsonl": (".jsonl", "application/x-ndjson"),
    "csv": (".csv", "text/csv"),
    "labelstudio": (".json", "application/json"),
    "argilla": (".json", "application/json"),
}
#: Suffixes an uploaded label file keeps (the reader detects the format from content and suffix).
_UPLOAD_SUFFIXES = {".json", ".jsonl", ".csv", ".ndjson"}
#: Largest label file accepted by the console (the API's request limit applies too).
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


@router.get("/pools/{pool}/rounds")
def rounds_page(pool: str, request: Request, ws: WorkspaceDep, session: SessionDep) -> Response:
    session.guard.check(pool)
    rounds = [r.to_dict(with_items=False) for r in ws.selection.rounds(pool)][::-1]
    return render(request, "rounds.html", session=session, csrf=session.csrf, pool=pool, rounds=rounds, active="rounds")


def _round_page(
    request: Request, ws: WorkspaceDep, session: SessionDep, pool: str, number: int, **extra: object
) -> Response:
    rnd = ws.selection.get_round(pool, number)
    return render(
        request,
        "round.html",
        status=int(extra.pop("status", 200)),  # type: ignore[call-overload]
        session=session,
        csrf=session.csrf,
        pool=pool,
        round=rnd,
        formats=EXPORT_FORMATS,
        label_formats=LABEL_FORMATS,
        resolve_modes=RESOLVE_MODES,
        active="rounds",
        report=extra.pop("report", None),
        import_error=extra.pop("import_error", None),
    )


@router.get("/pools/{pool}/rounds/{number}")
def round_page(
    pool: str,
    number: Annotated[int, PathParam(ge=0, le=MAX_INT)],
    request: Request,
    ws: WorkspaceDep,
    session: SessionDep,
) -> Response:
    session.guard.check(pool)
    return _round_page(request, ws, session, pool, number)


@router.get("/pools/{pool}/rounds/{number}/export")
def export_round(
    pool: str,
    number: Annotated[int, PathParam(ge=0, le=MAX_INT)],
    ws: WorkspaceDep,
    session: SessionDep,
    format: Annotated[str, Query(max_length=20)] = "jsonl",
    part: Annotated[str, Query(pattern="^(items|config)$")] = "items",
    only_unlabeled: bool = True,
) -> Response:
    """Download the round as ``format``; ``part=config``: the Label Studio labeling config / Argilla
    settings written next to it."""
    session.guard.check(pool)
    if format not in _DOWNLOADS:
        raise HTTPException(422, f"format must be one of {', '.join(EXPORT_FORMATS)}, got {format!r}")
    suffix, media = _DOWNLOADS[format]
    with tempfile.TemporaryDirectory(prefix="fewshot-console-") as tmp:
        path = Path(tmp) / f"round-{number}{suffix}"  # never the pool's name in a path
        ws.selection.export_round(pool, path, number=number, fmt=format, only_unlabeled=only_unlabeled)
        name = f"round-{number}-{format}{suffix}"
        if part == "config":
            side = annotation_config_path(path, format)
            if side is None:
                raise HTTPException(404, f"format {format!r} has no labeling config")
            path, name = side, f"round-{number}-{side.name.split('.', 1)[1]}"
            media = "application/xml" if side.suffix == ".xml" else "application/json"
        content = path.read_bytes()
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/pools/{pool}/rounds/{number}/labels")
def import_labels(
    pool: str,
    number: Annotated[int, PathParam(ge=0, le=MAX_INT)],
    request: Request,
    ws: WorkspaceDep,
    session: SessionDep,
    file: Annotated[UploadFile, File()],
    csrf_token_field: Annotated[str, Form(alias=CSRF_FIELD, max_length=256)] = "",
    control: Annotated[str, Form(max_length=200)] = "",
    resolve: Annotated[str, Form(max_length=20)] = "majority",
    skip_invalid: Annotated[bool, Form()] = False,
) -> Response:
    """Import an annotation tool's export (format detected by content) and show the report; with
    problems and no ``skip_invalid``, nothing is applied and the problems are listed."""
    check_csrf(request, csrf_token_field)
    session.guard.check(pool)
    ws.selection.get_round(pool, number)  # 404 before reading the upload
    raw_name = file.filename or "labels.json"
    suffix = Path(raw_name).suffix.lower()
    suffix = suffix if suffix in _UPLOAD_SUFFIXES else ".json"
    content = file.file.read(MAX_UPLOAD_BYTES + 1)  # a sync route: runs in the thread pool
    if len(content) > MAX_UPLOAD_BYTES:
        raise HTTPException(413, f"label file larger than {MAX_UPLOAD_BYTES} bytes")
    with tempfile.TemporaryDirectory(prefix="fewshot-console-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(content)
        try:
            report = ws.labels.import_labels(
                pool, path, control=control.strip() or None, resolve=resolve, skip_invalid=skip_invalid
            )
        except LabelImportError as exc:
            return _round_page(request, ws, session, pool, number, status=422, report=exc.report)
        except FewshotError as exc:  # shown on the page, the temporary path replaced by the file's name
            message = str(exc).replace(str(path), raw_name)
            return _round_page(request, ws, session, pool, number, status=422, import_error=message)
    return _round_page(request, ws, session, pool, number, report=report)
