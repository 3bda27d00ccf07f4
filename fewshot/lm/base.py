"""`LMBackend`: the one small interface every language-model backend implements.

Three operations cover what the selection and retrieval methods need from a language model:

* `LMBackend.loglikelihood` -- log-probs of given continuations (UDR's candidate scores, SPEC 5);
* `LMBackend.score_options` -- classification by the lowest mean NLL of each verbalised label,
  with a confidence (vote-k's stage 2, SPEC 2; evaluation of in-context accuracy);
* `LMBackend.generate` -- greedy or seeded sampled generation with stop strings and the mean
  token log-prob of the answer (vote-k's confidence on generation tasks, AdaptMI's stage 1, SPEC 6).

The public methods check their inputs once and hand clean lists to the private ``_`` methods,
which subclasses implement and which never re-check (the scikit-learn split, STYLE 1).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from fewshot.exceptions import InvalidInputError
from fewshot.lm._results import Generation, LogLik, OptionScores

__all__ = ["LMBackend", "Progress", "cut_at_stop"]

#: Optional progress callback: ``progress(done, total)``, called after each batch.
Progress = Callable[[int, int], None]


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Cut ``text`` before the earliest occurrence of any stop string.

    Returns ``(cut_text, found)``. With several stop strings the one that starts first wins
    (the longest of those starting at the same place, which cuts at the same spot anyway).

    >>> cut_at_stop("positive\\nReview: x", ["\\n", "Review:"])
    ('positive', True)
    """
    best = -1
    for s in stop:
        i = text.find(s)
        if i != -1 and (best == -1 or i < best):
            best = i
    if best == -1:
        return text, False
    return text[:best], True


class LMBackend(ABC):
    """A language model that can score continuations and generate text.

    Subclasses implement `name`, `max_context`, `count_tokens`, `_loglikelihood` and
    `_generate`; `_score_options` has a default built on `_loglikelihood` that backends
    override to reuse the prompt's KV cache across options.

    Backends that hold resources (HTTP clients) release them in `close`; every backend can be
    used as a context manager.
    """

    # -- description -----------------------------------------------------------------------

    @property
    @abstractmethod
    def name(self) -> str:
        """A short description of the model, e.g. ``"hf:/models/smollm2"``."""

    @property
    @abstractmethod
    def max_context(self) -> int | None:
        """The longest token sequence the model accepts, or None when the backend cannot tell."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Number of tokens of ``text`` (no special tokens added)."""

    # -- public entry points (validate, then delegate) ---------------------------------------

    def loglikelihood(self, requests: Sequence[tuple[str, str]], *, progress: Progress | None = None) -> list[LogLik]:
        """Log-probs of each continuation given its prompt.

        Parameters
        ----------
        requests : sequence of (prompt, continuation) pairs of str
            The continuation must be non-empty; the prompt may be empty (the model's start
            token is then the only context). Write the separating space where it belongs,
            usually at the start of the continuation: ``("The capital of France is", " Paris")``.
        progress : callable(done, total), optional

        Returns
        -------
        list of LogLik, one per request, in request order.

        Notes
        -----
        Token boundary: ``prompt + continuation`` is tokenised as one text, and the scored
        tokens are those from the first token where that tokenisation departs from the
        prompt's own tokenisation. A token that straddles the boundary (the tokenizer merged
        the prompt's last characters with the continuation's first ones) is therefore scored as
        part of the continuation; every token holding a character of the continuation is scored.
        """
        reqs = _check_requests(requests)
        if not reqs:
            return []
        return self._loglikelihood(reqs, progress)

    def score_options(self, prompt: str, options: Sequence[str], *, kv_reuse: bool | None = None) -> OptionScores:
        """Score each verbalised option as a continuation of ``prompt``.

        The prediction is the option of lowest mean NLL per token (`OptionScores.best`);
        `OptionScores.confidence` and `OptionScores.best_mean_loglik` give its confidence.

        Parameters
        ----------
        prompt : str
        options : sequence of str
            Non-empty strings, e.g. ``[" terrible", " bad", " okay", " good", " great"]``.
        kv_reuse : bool, optional
            Run the prompt once and reuse its KV cache for every option (backends that can).
            None uses the backend's default; False scores each (prompt, option) pair in full,
            which gives the same numbers and is there for benchmarking and debugging.
        """
        if not isinstance(prompt, str):
            raise InvalidInputError(f"prompt must be a str, got {type(prompt).__name__}")
        opts = _check_options(options)
        return self._score_options(prompt, opts, kv_reuse)

    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
        seed: int | None = None,
        n: int = 1,
        progress: Progress | None = None,
    ) -> list[Generation]:
        """Continue each prompt.

        Parameters
        ----------
        prompts : sequence of str
        max_new_tokens : int, >= 1
        stop : sequence of str
            The text is cut before the first occurrence of any of them (not included).
        temperature : float, >= 0
            0 is greedy decoding (deterministic). Above 0, tokens are sampled from the softmax
            of ``logits / temperature``.
        seed : int, optional
            Seed of the sampler: the same seed gives the same samples. None draws fresh entropy.
        n : int, >= 1
            Samples per prompt (self-consistency). Greedy decoding gives ``n`` equal copies.
        progress : callable(done, total), optional

        Returns
        -------
        list of Generation, ``len(prompts) * n`` of them, prompt-major:
        ``[p0 s0, p0 s1, ..., p1 s0, ...]``; each carries its ``prompt_index`` and ``sample_index``.
        """
        ps = _check_prompts(prompts)
        stops = _check_stop(stop)
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
            raise InvalidInputError(f"max_new_tokens must be an int >= 1, got {max_new_tokens!r}")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidInputError(f"n must be an int >= 1, got {n!r}")
        try:
            temp = float(temperature)
        except (TypeError, ValueError):
            raise InvalidInputError(f"temperature must be a number, got {temperature!r}") from None
        if not math.isfinite(temp) or temp < 0:
            raise InvalidInputError(f"temperature must be finite and >= 0, got {temperature!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise InvalidInputError(f"seed must be an int or None, got {seed!r}")
        if not ps:
            return []
        return self._generate(
            ps, max_new_tokens=max_new_tokens, stop=stops, temperature=temp, seed=seed, n=n, progress=progress
        )

    # -- what subclasses implement ------------------------------------------------------------

    @abstractmethod
    def _loglikelihood(self, requests: list[tuple[str, str]], progress: Progress | None) -> list[LogLik]:
        """`loglikelihood` on checked requests (non-empty list, non-empty continuations)."""

    def _score_options(self, prompt: str, options: list[str], kv_reuse: bool | None) -> OptionScores:
        """`score_options` on checked input. Default: one `_loglikelihood` call, no KV reuse."""
        return OptionScores.from_logliks(self._loglikelihood([(prompt, o) for o in options], None))

    @abstractmethod
    def _generate(
        self,
        prompts: list[str],
        *,
        max_new_tokens: int,
        stop: list[str],
        temperature: float,
        seed: int | None,
        n: int,
        progress: Progress | None,
    ) -> list[Generation]:
        """`generate` on checked input (non-empty prompt list)."""

    # -- resources ------------------------------------------------------------------------------

    def close(self) -> None:  # noqa: B027 - optional hook: most backends hold nothing to release
        """Release held resources (HTTP connections). The default does nothing."""

    def __enter__(self) -> LMBackend:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


# -- input checks (public entry points only) ---------------------------------------------------


def _check_requests(requests: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    if isinstance(requests, (str, bytes)) or not isinstance(requests, Sequence):
        raise InvalidInputError("requests must be a sequence of (prompt, continuation) pairs")
    out: list[tuple[str, str]] = []
    for i, req in enumerate(requests):
        if isinstance(req, (str, bytes)) or not isinstance(req, Sequence) or len(req) != 2:
            raise InvalidInputError(f"request {i} must be a (prompt, continuation) pair, got {req!r}")
        prompt, cont = req
        if not isinstance(prompt, str) or not isinstance(cont, str):
            raise InvalidInputError(f"request {i}: prompt and continuation must be str")
        if not cont:
            raise InvalidInputError(f"request {i}: the continuation is empty; there is nothing to score")
        out.append((prompt, cont))
    return out


def _check_options(options: Sequence[str]) -> list[str]:
    if isinstance(options, (str, bytes)) or not isinstance(options, Sequence):
        raise InvalidInputError("options must be a sequence of str (one verbalised label each)")
    opts = list(options)
    if not opts:
        raise InvalidInputError("options is empty: give at least one verbalised label to score")
    for i, o in enumerate(opts):
        if not isinstance(o, str) or not o:
            raise InvalidInputError(f"option {i} must be a non-empty str, got {o!r}")
    return opts


def _check_prompts(prompts: Sequence[str]) -> list[str]:
    if isinstance(prompts, (str, bytes)) or not isinstance(prompts, Sequence):
        raise InvalidInputError("prompts must be a sequence of str (wrap a single prompt in a list)")
    ps = list(prompts)
    for i, p in enumerate(ps):
        if not isinstance(p, str):
            raise InvalidInputError(f"prompt {i} must be a str, got {type(p).__name__}")
    return ps


def _check_stop(stop: Sequence[str]) -> list[str]:
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, Sequence):
        raise InvalidInputError("stop must be a sequence of str")
    out = list(stop)
    for s in out:
        if not isinstance(s, str) or not s:
            raise InvalidInputError(f"stop strings must be non-empty str, got {s!r}")
    return out
