"""`stage_logger`: a ``progress(stage, done, total)`` callback for `fewshot.evaluation.run_eval` that
logs each stage's start, every ``step`` of it (default 5%) and its end, with the seconds since the
stage began."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


def stage_logger(step: float = 0.05) -> Callable[[str, int, int], None]:
    state: dict = {"stage": None, "last": -1.0, "t": time.perf_counter()}

    def report(stage: str, done: int, total: int) -> None:
        frac = done / total if total else 0.0
        if stage != state["stage"] or frac - state["last"] >= step or done == total:
            if stage != state["stage"]:
                state["t"] = time.perf_counter()
            state.update(stage=stage, last=frac)
            logging.info("%s: %d/%d (%.0f s)", stage, done, total, time.perf_counter() - state["t"])

    return report
