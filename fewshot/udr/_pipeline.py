"""The whole UDR recipe: mine feedback, train, then iterative rounds of re-mining with the trained
retriever (SPEC 5: retrieve top-N with the new model, score only new pairs, merge, retrain)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fewshot.exceptions import InvalidInputError
from fewshot.retrieve._corpus import Corpus
from fewshot.udr._cache import FeedbackCache, MemoryFeedbackCache
from fewshot.udr._mining import (
    Candidates,
    Feedback,
    MiningStats,
    bm25_candidates,
    candidates_by,
    merge_candidates,
    mine_feedback,
)
from fewshot.udr._model import UDRModel
from fewshot.udr._task import UDRTask
from fewshot.udr._trainer import TrainConfig, TrainResult, prepare_model, train_udr

__all__ = ["UDRRun", "mine_tasks", "run_udr", "load_base_model"]

logger = logging.getLogger(__name__)

#: ``progress(stage, done, total)``; stage is e.g. ``"mine r0 sst5"`` or ``"train r0"``.
StageProgress = Callable[[str, int, int], None]


@dataclass
class UDRRun:
    """Result of `run_udr`: the model, everything mined, and what each round cost."""

    model: UDRModel
    candidates: dict[str, Candidates]
    feedback: dict[str, Feedback]
    mining: list[MiningStats] = field(default_factory=list)
    training: list[TrainResult] = field(default_factory=list)

    def metrics(self) -> dict[str, Any]:
        return {
            "rounds": len(self.training),
            "mining": [m.to_dict() for m in self.mining],
            "training": [t.to_dict() for t in self.training],
        }


def load_base_model(base_model: Any = None, *, device: str | None = None) -> Any:
    """A sentence-transformers model (a loaded one is used as is; a name or path is loaded
    offline; None is the bundled all-MiniLM-L6-v2), without its Normalize layer."""
    from fewshot.embed import DEFAULT_MODEL, load_sentence_transformer

    if base_model is None or isinstance(base_model, str):
        base_model = load_sentence_transformer(base_model or DEFAULT_MODEL, device=device)
    return prepare_model(base_model)


def mine_tasks(
    tasks: Sequence[UDRTask],
    lm: Any,
    candidates: Mapping[str, Candidates],
    *,
    cache: FeedbackCache,
    chunk_size: int = 64,
    progress: StageProgress | None = None,
    stage: str = "mine",
) -> tuple[dict[str, Feedback], MiningStats]:
    """`mine_feedback` for every task; returns (task -> feedback, summed stats)."""
    stats = MiningStats()
    out: dict[str, Feedback] = {}
    for task in tasks:
        label = f"{stage} {task.name}"
        cb = None if progress is None else (lambda d, t, label=label: progress(label, d, t))
        out[task.name] = mine_feedback(
            task, lm, candidates[task.name], cache=cache, chunk_size=chunk_size, progress=cb, stats=stats
        )
    return out, stats


def run_udr(
    tasks: Sequence[UDRTask],
    lm: Any,
    *,
    base_model: Any = None,
    rounds: int = 1,
    n_candidates: int = 50,
    config: TrainConfig = TrainConfig(),
    cache: FeedbackCache | None = None,
    name: str = "udr",
    chunk_size: int = 64,
    progress: StageProgress | None = None,
    initial: Mapping[str, Candidates] | None = None,
    on_round: Callable[[int, UDRRun], None] | None = None,
) -> UDRRun:
    """Mine, train, and re-mine/retrain ``rounds - 1`` more times (paper: 3 rounds).

    Parameters
    ----------
    tasks : sequence of UDRTask (unique names)
    lm : LMBackend giving the feedback
    base_model : SentenceTransformer, name or path; None: the bundled all-MiniLM-L6-v2
    rounds : int >= 1
        Round 0 mines BM25 candidates (or ``initial``); each later round retrieves the top
        ``n_candidates`` with the model trained so far, scores only pairs not scored before,
        merges them with all earlier candidates and continues training on the merged feedback.
    n_candidates : candidates per training item and round
    cache : where scores are kept (default: in memory)
    on_round : called after each round with its index and the run so far (e.g. to evaluate)
    """
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise InvalidInputError(f"rounds must be an int >= 1, got {rounds!r}")
    names = [t.name for t in tasks]
    if not tasks or len(set(names)) != len(names):
        raise InvalidInputError(f"tasks must be non-empty with unique names, got {names}")
    cache = cache if cache is not None else MemoryFeedbackCache()
    model = load_base_model(base_model)
    udr = UDRModel(
        model,
        {t.name: t.instruction for t in tasks},
        name=name,
        meta={
            "train_config": config.to_dict(),
            "rounds": rounds,
            "n_candidates": n_candidates,
            "lm": str(lm.name),
            "tasks": names,
        },
    )
    candidates: dict[str, Candidates] = {}
    for t in tasks:
        candidates[t.name] = (
            dict(initial[t.name]) if initial and t.name in initial else bm25_candidates(t, n_candidates)
        )
    run = UDRRun(model=udr, candidates=candidates, feedback={})
    for r in range(rounds):
        if r > 0:
            for t in tasks:
                found = candidates_by(udr.retriever(Corpus(t.pool), t.name), t, n_candidates)
                candidates[t.name] = merge_candidates(candidates[t.name], found)
        feedback, stats = mine_tasks(
            tasks, lm, candidates, cache=cache, chunk_size=chunk_size, progress=progress, stage=f"mine r{r}"
        )
        run.feedback, run.mining = feedback, run.mining + [stats]
        cb = None if progress is None else (lambda d, t, r=r: progress(f"train r{r}", d, t))
        cfg = config if r == 0 else TrainConfig(**{**config.to_dict(), "seed": config.seed + r})
        run.training.append(train_udr(model, tasks, feedback, config=cfg, progress=cb))
        udr.meta["metrics"] = run.metrics()
        if on_round is not None:
            on_round(r, run)
    return run
