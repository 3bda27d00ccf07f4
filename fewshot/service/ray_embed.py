"""Embedding a pool on a Ray cluster (optional extra ``ray``): Ray Data streams the texts through
a pool of stateful encoder actors, and the driver writes the vectors into the pool's ordinary
content-addressed shards.

The work list is the same as `fewshot.service.vectors.VectorService.embed`'s: the pool's unique
rendered texts whose content hash has no vector yet for the pool's model. So a Ray-embedded pool
and a locally embedded pool are interchangeable (same shards, same keys, same model), an
interrupted run resumes from the shards already written, and nothing is embedded twice.

Storage: only the driver (the process calling `embed_on_ray`, e.g. ``fewshot embed POOL --ray``)
reads the database and writes the data directory; workers receive texts through Ray's object
store and return float32 rows, so they need neither the database URL nor the data directory,
only the embedding model (installed or in their Hugging Face cache). Any store the driver can
use works: SQLite or PostgreSQL, a local or shared filesystem data directory. Shards are
written one at a time by the driver (the vector store has a single writer), each as soon as
its batch arrives.

Entry points: `ray_embed` (a `Workspace`), ``VectorService.embed(pool, ray=True | ADDRESS)`` (``True``:
the settings' ``ray_address``), ``fewshot embed POOL --ray`` and, over the API, an embed job asked
with ``{"ray": true}``, which always joins the operator's ``ray_address`` (a request never names
a cluster; without one configured the API answers 422).

Actors: ``num_actors`` CPU actors (default: the cluster's CPUs divided by ``cpus_per_actor``),
or GPU actors with ``num_gpus=1`` each where the cluster has GPUs.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from fewshot.exceptions import InvalidInputError, MissingDependencyError, NotFoundError
from fewshot.progress import Progress
from fewshot.service.context import ServiceContext
from fewshot.service.pools import PoolService
from fewshot.service.vectors import EmbedReport, pending_texts

__all__ = ["ray_available", "embed_on_ray", "ray_embed", "connect"]


def ray_available() -> bool:
    """Whether the ``ray`` extra (Ray with Ray Data) is installed."""
    try:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError:
        return False
    return True


def _require_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise MissingDependencyError("ray[data]", extra="ray") from None
    return ray


def connect(address: str | None = None, *, num_cpus: int | None = None) -> Any:
    """Join the Ray cluster at ``address`` (``"auto"``: the one ``ray start`` runs on this host;
    None or ``"local"``: a private local one, ``num_cpus`` CPUs), unless this process already
    is connected. Returns the ``ray`` module."""
    ray = _require_ray()
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"ignore_reinit_error": True, "log_to_driver": False}
        if address not in (None, "", "local"):
            kwargs["address"] = address
        elif num_cpus is not None:
            kwargs["num_cpus"] = int(num_cpus)
        try:
            ray.init(**kwargs)
        except ConnectionError as exc:
            raise NotFoundError(f"no Ray cluster answers at address {address!r}: {exc}") from None
    return ray


class _EncoderActor:
    """Ray Data callable class: loads the embedding model once per actor, encodes batches."""

    def __init__(self, model: str, device: str | None, batch_size: int) -> None:
        from fewshot.embed import Embedder

        self.embedder = Embedder(model, device=device, batch_size=batch_size)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(t) for t in batch["text"]]
        return {"hash": batch["hash"], "vector": self.embedder.encode(texts)}


def embed_on_ray(
    ctx: ServiceContext,
    pools: PoolService,
    pool: str,
    *,
    address: str | None = None,
    num_actors: int | None = None,
    cpus_per_actor: float = 1.0,
    num_gpus: float = 0.0,
    shard_size: int | None = None,
    progress: Progress | None = None,
) -> EmbedReport:
    """Embed every example of ``pool`` that has no vector yet, on Ray.

    Parameters
    ----------
    address : str, optional
        The cluster (see :func:`connect`); ignored when this process is already connected.
    num_actors : int, optional
        Encoder actors (default: cluster CPUs // ``cpus_per_actor``, or cluster GPUs // ``num_gpus``).
    cpus_per_actor, num_gpus : float
        Resources of one actor; ``num_gpus=1`` puts each actor on a GPU.
    shard_size : int, optional
        Texts per batch and per written shard (default: ``settings.embed_chunk_size``).

    Returns
    -------
    EmbedReport
        As `VectorService.embed` returns.

    Raises
    ------
    MissingDependencyError
        Without the ``ray`` extra (the message names it).
    """
    ray = _require_ray()
    start = time.perf_counter()
    pool_id, model = pools.ref(pool)
    store = ctx.vector_store(pool_id, model)
    pending = pending_texts(ctx, pool_id, store)
    todo, unique = pending.todo, pending.texts
    chunk = int(shard_size or ctx.settings.embed_chunk_size)
    if chunk < 1:
        raise InvalidInputError(f"shard_size must be a positive integer; got {shard_size!r}")
    done = 0
    if todo:
        connect(address)
        actors = num_actors or _default_actors(ray, cpus_per_actor, num_gpus)
        data_ctx = ray.data.DataContext.get_current()  # the caller reports progress; keep stdout clean
        data_ctx.print_on_execution_start = False
        data_ctx.enable_progress_bars = False
        n_blocks = max(1, -(-len(todo) // chunk))
        ds = ray.data.from_items([{"hash": h, "text": unique[h]} for h in todo], override_num_blocks=n_blocks)
        encoded = ds.map_batches(
            _EncoderActor,
            fn_constructor_kwargs={
                "model": model,
                "device": "cuda" if num_gpus else ctx.settings.device,
                "batch_size": ctx.settings.embed_batch_size,
            },
            batch_size=chunk,
            batch_format="numpy",
            concurrency=max(1, min(int(actors), n_blocks)),
            num_cpus=cpus_per_actor,
            num_gpus=num_gpus or None,
        )
        for batch in encoded.iter_batches(batch_size=chunk, batch_format="numpy"):
            part = [h.decode() if isinstance(h, bytes) else str(h) for h in batch["hash"]]
            store.add(part, np.asarray(batch["vector"], dtype=np.float32))
            done += len(part)
            if progress is not None:
                progress(done, len(todo))
    elif progress is not None:
        progress(0, 0)
    return pending.report(pool, model, store, embedded=done, start=start)


def _default_actors(ray: Any, cpus_per_actor: float, num_gpus: float) -> int:
    res = ray.cluster_resources()
    if num_gpus:
        return max(1, int(res.get("GPU", 0) // num_gpus))
    return max(1, int(res.get("CPU", 1) // max(cpus_per_actor, 1e-9)))


def ray_embed(ws: Any, pool: str, **kwargs: Any) -> EmbedReport:
    """`embed_on_ray` for a `Workspace` ``ws`` (the library equivalent of ``fewshot embed POOL --ray``;
    typed loosely because the Workspace imports this module)."""
    return embed_on_ray(ws.ctx, ws.pools, pool, **kwargs)
