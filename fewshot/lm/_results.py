"""Result dataclasses shared by every backend: `LogLik`, `OptionScores`, `Generation`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["LogLik", "OptionScores", "Generation", "FinishReason"]

#: Why a generation ended: a stop string was found, the model emitted an end-of-sequence
#: token, or ``max_new_tokens`` was reached.
FinishReason = str  # "stop" | "eos" | "length"


@dataclass(frozen=True)
class LogLik:
    """Log-likelihood of one continuation given its prompt.

    Attributes
    ----------
    token_logprobs : tuple of float, length ``n_tokens``
        Natural-log probability of each continuation token given everything before it.
    tokens : tuple of str, length ``n_tokens``
        The continuation tokens as text (decoded pieces; informative only, joining them need
        not reproduce the continuation exactly).
    is_greedy : bool
        True when every continuation token is the model's argmax at its position, i.e. greedy
        decoding from the prompt would produce this continuation (token-wise).
    """

    token_logprobs: tuple[float, ...]
    tokens: tuple[str, ...]
    is_greedy: bool

    @property
    def n_tokens(self) -> int:
        """Number of continuation tokens (at least 1)."""
        return len(self.token_logprobs)

    @property
    def sum(self) -> float:
        """Sum of the token log-probs: the log-probability of the whole continuation."""
        return float(math.fsum(self.token_logprobs))

    @property
    def mean(self) -> float:
        """Mean token log-prob (length-normalised log-likelihood)."""
        return self.sum / self.n_tokens


@dataclass(frozen=True, eq=False)
class OptionScores:
    """Scores of the verbalised options of one classification prompt.

    Attributes
    ----------
    mean_nll : ndarray of shape (n_options,), float64
        Mean negative log-likelihood per token of each option given the prompt. Lower is better.
    sum_nll : ndarray of shape (n_options,), float64
        Total negative log-likelihood of each option.
    n_tokens : ndarray of shape (n_options,), int64
        Number of tokens scored for each option.

    The prediction is ``best = argmin(mean_nll)`` (the research protocol: lowest mean NLL of
    the label words); ties go to the first option.
    """

    mean_nll: np.ndarray
    sum_nll: np.ndarray
    n_tokens: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean_nll", np.asarray(self.mean_nll, dtype=np.float64))
        object.__setattr__(self, "sum_nll", np.asarray(self.sum_nll, dtype=np.float64))
        object.__setattr__(self, "n_tokens", np.asarray(self.n_tokens, dtype=np.int64))

    @classmethod
    def from_logliks(cls, logliks: Sequence[LogLik]) -> OptionScores:
        """Build from one `LogLik` per option, in option order."""
        return cls(
            mean_nll=np.array([-ll.mean for ll in logliks], dtype=np.float64),
            sum_nll=np.array([-ll.sum for ll in logliks], dtype=np.float64),
            n_tokens=np.array([ll.n_tokens for ll in logliks], dtype=np.int64),
        )

    @property
    def best(self) -> int:
        """Index of the predicted option (lowest mean NLL; first one on ties)."""
        return int(np.argmin(self.mean_nll))

    @property
    def probs(self) -> np.ndarray:
        """Softmax over ``-mean_nll``: a normalised preference over the options, shape (n_options,)."""
        z = -self.mean_nll
        z = np.exp(z - z.max())
        return z / z.sum()

    @property
    def confidence(self) -> float:
        """The probability `probs` gives the predicted option (``1/n_options`` = no preference)."""
        return float(self.probs[self.best])

    @property
    def best_mean_loglik(self) -> float:
        """Mean token log-likelihood of the predicted option (the vote-k stage-2 confidence)."""
        return float(-self.mean_nll[self.best])


@dataclass(frozen=True)
class Generation:
    """One generated continuation.

    Attributes
    ----------
    text : str
        The generated text, cut before the first stop string (the stop string is not included).
    token_logprobs : tuple of float
        Log-prob, under the model's untempered distribution, of each generated token kept for
        ``text`` (the tokens up to the one in which a stop string starts; at least one token when
        anything was generated, so an empty answer is scored by the token that ended it).
    finish_reason : str
        ``"stop"`` (a stop string), ``"eos"`` (end-of-sequence token) or ``"length"``.
    prompt_index, sample_index : int
        Which prompt of the call, and which of its ``n`` samples, this is.
    """

    text: str
    token_logprobs: tuple[float, ...]
    finish_reason: FinishReason
    prompt_index: int = 0
    sample_index: int = 0

    @property
    def n_tokens(self) -> int:
        """Number of generated tokens counted in `token_logprobs`."""
        return len(self.token_logprobs)

    @property
    def mean_logprob(self) -> float:
        """Mean token log-prob of the generated tokens: a confidence (NaN if none were reported)."""
        if not self.token_logprobs:
            return float("nan")
        return float(math.fsum(self.token_logprobs)) / len(self.token_logprobs)
