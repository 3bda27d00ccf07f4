"""Training the UDR bi-encoder on LM feedback (SPEC 5).

One shared sentence-transformers encoder embeds queries and demonstrations, each text prefixed by
its task's instruction; similarity is the dot product of the (unnormalised) pooled vectors. Each
step takes B training items of one task with their K sampled candidates (LM order) and minimises
``rank_weight * lambdarank + inbatch``. Tasks are mixed at the batch level: every epoch the
batches of all tasks are shuffled together.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from fewshot.exceptions import InvalidInputError
from fewshot.udr._losses import udr_loss
from fewshot.udr._mining import Feedback
from fewshot.udr._sampling import sample_candidates
from fewshot.udr._task import UDRTask

__all__ = ["TrainConfig", "TrainResult", "train_udr", "prepare_model"]

logger = logging.getLogger(__name__)

#: ``progress(done_steps, total_steps)``
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters.

    epochs : passes over each task's training items (candidates are re-sampled every epoch).
    batch_size : training items per step (all from one task).
    k : candidates per item (paper: 8).
    lr, weight_decay : AdamW.
    rank_weight : weight of the LambdaRank term (paper: 4).
    warmup : fraction of steps with a linear learning-rate warm-up.
    max_seq_length : encoder truncation (tokens).
    seed : sampling, batch order and initialisation of anything random.
    """

    epochs: int = 3
    batch_size: int = 8
    k: int = 8
    lr: float = 3e-5
    weight_decay: float = 0.01
    rank_weight: float = 4.0
    warmup: float = 0.1
    max_seq_length: int = 128
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "max_seq_length"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InvalidInputError(f"{name} must be an int >= 1, got {v!r}")
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 2:
            raise InvalidInputError(f"k must be an int >= 2, got {self.k!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise InvalidInputError(f"lr must be > 0, got {self.lr!r}")
        if not 0 <= self.warmup < 1:
            raise InvalidInputError(f"warmup must be in [0, 1), got {self.warmup!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    """What training did: per-step losses, time, sizes."""

    steps: int
    seconds: float
    losses: list[float] = field(default_factory=list)
    rank_losses: list[float] = field(default_factory=list)
    inbatch_losses: list[float] = field(default_factory=list)
    items: dict[str, int] = field(default_factory=dict)  # usable training items per task
    device: str = "cpu"

    def epoch_means(self, n_epochs: int) -> list[float]:
        """Mean loss of each epoch (steps split evenly)."""
        if not self.losses:
            return []
        parts = np.array_split(np.asarray(self.losses), n_epochs)
        return [float(p.mean()) for p in parts if p.size]

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "seconds": round(self.seconds, 2),
            "items": self.items,
            "device": self.device,
            "loss_first": self.losses[0] if self.losses else None,
            "loss_last": self.losses[-1] if self.losses else None,
        }


def prepare_model(model: Any) -> Any:
    """A copy-free view of a sentence-transformers model without its final ``Normalize`` layer
    (UDR scores by dot product of unnormalised vectors)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Normalize

    mods = [m for m in model]
    if not any(isinstance(m, Normalize) for m in mods):
        return model
    out = SentenceTransformer(modules=[m for m in mods if not isinstance(m, Normalize)], device=str(model.device))
    out.max_seq_length = model.max_seq_length
    return out


def _rows(
    tasks: Sequence[UDRTask], feedback: Mapping[str, Feedback], k: int, rng: np.random.Generator
) -> tuple[list[tuple[int, list[tuple[Any, list[Any]]]]], dict[str, int]]:
    """Per task, the usable items with their K sampled candidates (LM order)."""
    out, counts = [], {}
    for t_index, task in enumerate(tasks):
        fb = feedback.get(task.name, {})
        items = []
        for q in task.queries:
            scores = fb.get(q.id) or {}
            if len(scores) < 2:
                continue
            ranked = sorted(scores, key=lambda cid: (scores[cid], str(cid)))
            items.append((q.id, sample_candidates(ranked, k, rng=rng)))
        counts[task.name] = len(items)
        out.append((t_index, items))
    return out, counts


def _batches(
    per_task: list[tuple[int, list[tuple[Any, list[Any]]]]], batch_size: int, k: int, rng: np.random.Generator
) -> list[tuple[int, list[tuple[Any, list[Any]]]]]:
    """Single-task batches, all tasks' batches shuffled together. Items with fewer than ``k``
    candidates are grouped by their candidate count so that a batch has one list length."""
    batches = []
    for t_index, items in per_task:
        order = rng.permutation(len(items))
        by_len: dict[int, list] = {}
        for i in order:
            by_len.setdefault(len(items[i][1]), []).append(items[i])
        for group in by_len.values():
            for s in range(0, len(group), batch_size):
                batches.append((t_index, group[s : s + batch_size]))
    return [batches[i] for i in rng.permutation(len(batches))]


def train_udr(
    model: Any,
    tasks: Sequence[UDRTask],
    feedback: Mapping[str, Feedback],
    *,
    config: TrainConfig = TrainConfig(),
    progress: Progress | None = None,
) -> TrainResult:
    """Train ``model`` (a sentence-transformers model, modified in place) on LM feedback.

    Parameters
    ----------
    model : SentenceTransformer
        Use `prepare_model` first to drop a final ``Normalize`` layer.
    tasks : sequence of UDRTask
    feedback : mapping task name -> (query id -> {candidate id: mean NLL})
    config : TrainConfig
    progress : callable(done_steps, total_steps), optional
    """
    import torch
    from sentence_transformers.util import batch_to_device

    if not tasks:
        raise InvalidInputError("no tasks to train on")
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"task names must be unique, got {names}")
    rng = np.random.default_rng(config.seed)
    torch.manual_seed(config.seed)
    model.max_seq_length = config.max_seq_length
    device = model.device
    use_amp = device.type == "cuda"
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    # steps are only known after sampling; estimate once for the schedule
    per_task, counts = _rows(tasks, feedback, config.k, rng)
    if sum(counts.values()) == 0:
        raise InvalidInputError("no training item has at least 2 scored candidates; mine feedback first")
    est = len(_batches(per_task, config.batch_size, config.k, np.random.default_rng(0)))
    total = est * config.epochs
    warm = max(1, int(total * config.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (total - s) / max(1, total - warm))
    )
    result = TrainResult(steps=0, seconds=0.0, items=counts, device=str(device))
    queries = [{q.id: q for q in t.queries} for t in tasks]
    tokenize = getattr(model, "preprocess", None) or model.tokenize  # sentence-transformers >= 6 / older
    t0 = time.perf_counter()
    step = 0
    for epoch in range(config.epochs):
        if epoch > 0:
            per_task, _ = _rows(tasks, feedback, config.k, rng)
        for t_index, batch in _batches(per_task, config.batch_size, config.k, rng):
            task = tasks[t_index]
            kk = len(batch[0][1])
            texts = [task.instruction + queries[t_index][qid].text for qid, _ in batch]
            texts += [task.instruction + task.demo(cid).text for _, cids in batch for cid in cids]
            features = batch_to_device(tokenize(texts), device)
            ctx = torch.autocast("cuda", dtype=torch.bfloat16) if use_amp else contextlib.nullcontext()
            with ctx:
                emb = model(features)["sentence_embedding"].float()
            b = len(batch)
            loss, rank, inb = udr_loss(emb[:b], emb[b:], kk, rank_weight=config.rank_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if step < total:
                sched.step()
            step += 1
            for lst, v in ((result.losses, loss), (result.rank_losses, rank), (result.inbatch_losses, inb)):
                x = float(v.detach())
                if not math.isfinite(x):
                    raise InvalidInputError(f"training diverged at step {step} (loss {x}); lower lr")
                lst.append(x)
            if progress is not None:
                progress(min(step, total), total)
    model.eval()
    result.steps = step
    result.seconds = time.perf_counter() - t0
    logger.info(
        "UDR training: %d steps in %.1fs, loss %.4f -> %.4f", step, result.seconds, result.losses[0], result.losses[-1]
    )
    return result
