"""Trained models of a workspace (UDR retrievers): versioned per name, saved under
``{home}/models/<name>/v<N>`` and recorded in ``trained_models``, loaded once per version."""

from __future__ import annotations

import logging
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fewshot.exceptions import CorruptArtifactError, InvalidInputError, NotFoundError
from fewshot.service.context import ServiceContext
from fewshot.store import trained as model_rows
from fewshot.store.models import TrainedModel

if TYPE_CHECKING:
    from fewshot.udr import UDRModel

__all__ = [
    "ModelService",
    "ModelInfo",
    "Readable",
    "parse_udr_spec",
    "check_model_name",
    "MODEL_NAME_PATTERN",
    "UDR_SPEC_PATTERN",
]

#: Which pools a caller may read (an API key's limit); None: every pool (library and CLI callers).
Readable = Callable[[str], bool] | None

logger = logging.getLogger(__name__)

#: What a trained model's name may be (index kinds, ``udr:<name>:v<N>``, are at most 50 characters).
MODEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,29}$"
_NAME = re.compile(MODEL_NAME_PATTERN)
#: The retriever names that select a trained UDR model: ``udr``, ``udr:<name>``, ``udr:<name>:v<N>``.
UDR_SPEC_PATTERN = r"udr(?::(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]{0,99})(?::v(?P<version>\d{1,9}))?)?"
_SPEC = re.compile(f"^{UDR_SPEC_PATTERN}$")


def parse_udr_spec(spec: str) -> tuple[str | None, int | None]:
    """``"udr"`` -> (None, None); ``"udr:m"`` -> ("m", None); ``"udr:m:v2"`` -> ("m", 2).

    >>> parse_udr_spec("udr:mix:v2")
    ('mix', 2)
    """
    m = _SPEC.match(spec or "")
    if m is None:
        raise InvalidInputError(f"bad UDR retriever {spec!r}: use 'udr', 'udr:<model>' or 'udr:<model>:v<N>'")
    return m["name"], (int(m["version"]) if m["version"] else None)


def check_model_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(
            f"model name must be 1-30 letters, digits, '_', '.', '-' (not starting with "
            f"a punctuation mark), got {name!r}"
        )
    return name


@dataclass(frozen=True)
class ModelInfo:
    """A row of ``trained_models``."""

    name: str
    version: int
    kind: str
    base_model: str
    path: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    created_at: str

    @property
    def spec(self) -> str:
        """The retriever name that selects exactly this model version."""
        return f"udr:{self.name}:v{self.version}"

    @classmethod
    def from_row(cls, row: TrainedModel) -> ModelInfo:
        return cls(
            name=row.name,
            version=row.version,
            kind=row.kind,
            base_model=row.base_model,
            path=row.path,
            params=dict(row.params or {}),
            metrics=dict(row.metrics or {}),
            created_at=row.created_at.isoformat(),
        )

    @property
    def pools(self) -> tuple[str, ...]:
        """The pools the model was trained on (its ``params["pools"]``)."""
        pools = self.params.get("pools")
        return tuple(str(p) for p in pools) if isinstance(pools, list | tuple) else ()

    def visible(self, readable: Readable = None) -> bool:
        """Whether a caller who may read the pools ``readable`` accepts may see this model: every
        one of its training pools must be readable (a model recording no pools: only to callers
        without a limit). ``readable=None``: every model is visible."""
        return readable is None or (bool(self.pools) and all(readable(p) for p in self.pools))

    def to_dict(self, *, with_path: bool = True) -> dict[str, Any]:
        """The model as JSON; ``with_path=False`` leaves out the server's folder (API views)."""
        d = dict(self.__dict__)
        if not with_path:
            d.pop("path")
        d["spec"] = self.spec
        return d


class ModelService:
    """Saving, listing, resolving and loading trained models."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self._lock = threading.RLock()
        self._models: dict[tuple[str, int], UDRModel] = {}

    def save(
        self,
        name: str,
        model: UDRModel,
        *,
        base_model: str = "unknown",
        params: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> ModelInfo:
        """Save ``model`` as the next version of ``name`` (copied under the workspace's models folder)."""
        check_model_name(name)
        params = dict(params or {"pools": sorted(model.instructions)})
        with self.ctx.session() as s:
            version = model_rows.next_version(s, name=name)
        path = self.ctx.model_dir(name) / f"v{version}"
        if path.exists():  # left by a crash before the row was written
            shutil.rmtree(path)
        model.name = f"udr:{name}:v{version}"
        model.meta.update({"base_model": base_model, "params": params})
        model.save(path)
        try:
            with self.ctx.session() as s:
                row = model_rows.add_model(
                    s,
                    name=name,
                    version=version,
                    kind="udr",
                    base_model=base_model,
                    path=str(path),
                    params=params,
                    metrics=dict(metrics or {}),
                )
                info = ModelInfo.from_row(row)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        with self._lock:
            self._models[(name, version)] = model
        logger.info("saved UDR model %s v%d at %s", name, version, path)
        return info

    def versions(self, name: str | None = None, *, readable: Readable = None) -> list[ModelInfo]:
        """Every version (of ``name``, or of every model), by name then version. With ``readable``
        (the pools a caller may read), only the versions trained on readable pools alone."""
        with self.ctx.session() as s:
            infos = [ModelInfo.from_row(r) for r in model_rows.list_models(s, name=name)]
        return [i for i in infos if i.visible(readable)]

    def get(self, name: str | None = None, version: int | None = None, *, readable: Readable = None) -> ModelInfo:
        """A model version (latest when ``version`` is None; the newest model when ``name`` is None).

        With ``readable``, a version trained on a pool the caller may not read does not exist for
        it: the latest *visible* version is chosen, and an invisible one is the same `NotFoundError`
        as a missing one (the error never tells that it exists). The known model names go in the
        error's ``hint`` (shown by the CLI, never by the API)."""
        with self.ctx.session() as s:
            if readable is None:
                row = model_rows.find_model(s, name=name, version=version)
                found = None if row is None else ModelInfo.from_row(row)
                known = model_rows.model_names(s) if found is None else []
            else:
                rows = model_rows.list_models(s, name=name)
                infos = [i for i in map(ModelInfo.from_row, rows) if i.visible(readable)]
                found = self._newest([i for i in infos if version is None or i.version == version])
                known = sorted({i.name for i in infos}) if found is None else []
        if found is not None:
            return found
        what = (
            "no trained UDR model yet; run `fewshot udr train`"
            if name is None
            else (f"no UDR model {name!r}" + (f" v{version}" if version is not None else ""))
        )
        raise NotFoundError(what, hint=f"known models: {', '.join(known)}" if known else None)

    @staticmethod
    def _newest(infos: list[ModelInfo]) -> ModelInfo | None:
        """The newest by creation, then version (the order of `find_model`)."""
        return max(infos, key=lambda i: (i.created_at, i.version), default=None)

    def resolve(self, spec: str, *, readable: Readable = None) -> ModelInfo:
        """The model a retriever name selects (``udr``, ``udr:<name>``, ``udr:<name>:v<N>``), among
        those visible to a caller who may read the pools ``readable`` accepts (see `get`)."""
        name, version = parse_udr_spec(spec)
        return self.get(name, version, readable=readable)

    def load(self, info: ModelInfo) -> UDRModel:
        """The model's weights, loaded once per version (on the CPU)."""
        from fewshot.udr import load_udr_model

        key = (info.name, info.version)
        with self._lock:
            if key not in self._models:
                if not Path(info.path).exists():
                    raise CorruptArtifactError(
                        f"model {info.spec} is recorded but its folder is missing; train it again",
                        hint=f"missing folder: {info.path}",
                    )
                try:
                    self._models[key] = load_udr_model(info.path, name=info.spec, device="cpu")
                except (OSError, ValueError, KeyError) as exc:
                    raise CorruptArtifactError(
                        f"model {info.spec} cannot be loaded; train it again",
                        hint=f"{info.path}: {type(exc).__name__}: {exc}",
                    ) from None
            return self._models[key]
