"""Token counting: the `TokenCounter` protocol and three implementations.

* `HFTokenCounter` -- a Hugging Face tokenizer, loaded from local files only.
* `TiktokenCounter` -- an OpenAI ``tiktoken`` encoding (optional dependency).
* `ApproxTokenCounter` -- no tokenizer at all: a deliberately high estimate.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from fewshot.exceptions import InvalidInputError, MissingDependencyError, NotFoundError

__all__ = [
    "TOKENIZER_SPECS",
    "TokenCounter",
    "HFTokenCounter",
    "TiktokenCounter",
    "ApproxTokenCounter",
    "get_token_counter",
    "parse_chars_per_token",
]

#: The spec forms `get_token_counter` understands (help texts).
TOKENIZER_SPECS = ("approx", "approx:<chars per token>", "hf:<name-or-path>", "tiktoken:<encoding>")


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens of a text and cuts a text to a token budget."""

    name: str

    def count(self, text: str) -> int:
        """Number of tokens in ``text``."""
        ...

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """`count` for each text."""
        ...

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest prefix of ``text`` (cut at a token boundary) of at most ``max_tokens``."""
        ...


class HFTokenCounter:
    """Counts with a Hugging Face tokenizer.

    Parameters
    ----------
    tokenizer : PreTrainedTokenizerBase
    name : str
    add_special_tokens : bool
        Count special tokens (BOS, [CLS]/[SEP], ...) the tokenizer adds to a sequence.
        Default False: the prompt text's own tokens; reserve room for specials with the
        builder's ``reserve_tokens`` if your model adds them.
    """

    def __init__(self, tokenizer: Any, *, name: str, add_special_tokens: bool = False) -> None:
        self.tokenizer = tokenizer
        self.name = name
        self.add_special_tokens = add_special_tokens

    @classmethod
    def from_pretrained(
        cls, name_or_path: str | os.PathLike[str], *, add_special_tokens: bool = False
    ) -> HFTokenCounter:
        """Load ``AutoTokenizer`` from a local directory or the local cache (no download)."""
        from transformers import AutoTokenizer

        try:
            tok = AutoTokenizer.from_pretrained(str(name_or_path), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise NotFoundError(f"tokenizer {str(name_or_path)!r} is not available locally ({exc})") from exc
        return cls(tok, name=f"hf:{name_or_path}", add_special_tokens=add_special_tokens)

    def _ids(self, texts: list[str], **kw: Any) -> Any:
        return self.tokenizer(
            texts,
            add_special_tokens=self.add_special_tokens,
            return_attention_mask=False,
            return_token_type_ids=False,
            verbose=False,
            **kw,
        )

    def count(self, text: str) -> int:
        return self.count_many([text])[0]

    def count_many(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        return [len(ids) for ids in self._ids(list(texts))["input_ids"]]

    def truncate(self, text: str, max_tokens: int) -> str:
        if max_tokens <= 0:
            return ""
        if getattr(self.tokenizer, "is_fast", False):
            enc = self.tokenizer(
                text, add_special_tokens=False, return_offsets_mapping=True, return_attention_mask=False, verbose=False
            )
            offsets = enc["offset_mapping"]
            if len(offsets) <= max_tokens:
                return text
            return text[: offsets[max_tokens - 1][1]]
        ids = self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
        if len(ids) <= max_tokens:
            return text
        return self.tokenizer.decode(ids[:max_tokens], skip_special_tokens=True)


class TiktokenCounter:
    """Counts with a ``tiktoken`` encoding (e.g. ``cl100k_base``, ``o200k_base``).

    Raises `MissingDependencyError` when ``tiktoken`` is not installed. Encodings that
    tiktoken has not cached need network access the first time.
    """

    def __init__(self, encoding: str = "cl100k_base") -> None:
        try:
            import tiktoken
        except ImportError as exc:
            raise MissingDependencyError("tiktoken", "tiktoken") from exc
        self.encoding = tiktoken.get_encoding(encoding)
        self.name = f"tiktoken:{encoding}"

    def count(self, text: str) -> int:
        return len(self.encoding.encode(text, disallowed_special=()))

    def count_many(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self.encoding.encode_batch(list(texts), disallowed_special=())]

    def truncate(self, text: str, max_tokens: int) -> str:
        ids = self.encoding.encode(text, disallowed_special=())
        if len(ids) <= max_tokens:
            return text
        return self.encoding.decode(ids[: max(max_tokens, 0)])


#: Piece lengths whose approximate cost is precomputed (longer pieces are computed each time).
_LENGTH_TABLE = 128


class ApproxTokenCounter:
    """A tokenizer-free estimate that errs high.

    The text is split into words (``\\w+``) and single punctuation marks; a word counts
    ``ceil(len(word) / chars_per_token)`` tokens and a punctuation mark one. With the default
    4 characters per token this overestimates typical BPE/WordPiece counts on English prose
    (common words are one token there), so prompts packed with it fit the real budget with
    some slack. Whitespace is free. Use a real tokenizer when the budget is tight.
    """

    _PIECE = re.compile(r"\w+|[^\w\s]")

    def __init__(self, chars_per_token: float = 4.0) -> None:
        if not (isinstance(chars_per_token, (int, float)) and math.isfinite(chars_per_token)) or not (
            MIN_CHARS_PER_TOKEN <= chars_per_token <= MAX_CHARS_PER_TOKEN
        ):
            raise InvalidInputError(
                f"chars_per_token must be a number from {MIN_CHARS_PER_TOKEN:g} to {MAX_CHARS_PER_TOKEN:g}, "
                f"got {chars_per_token!r}"
            )
        self.chars_per_token = chars_per_token
        self.name = f"approx:{chars_per_token:g}"
        # cost by piece length, so that counting a prompt is two C-level maps instead of a Python
        # call per word (a prompt has hundreds of pieces; this runs on every request)
        self._by_length = [self._cost_of_length(n) for n in range(_LENGTH_TABLE)]

    def _cost_of_length(self, n: int) -> int:
        return max(1, math.ceil(n / self.chars_per_token))

    def _cost(self, piece: str) -> int:
        return self._cost_of_length(len(piece))

    def count(self, text: str) -> int:
        lengths = list(map(len, self._PIECE.findall(text)))
        if lengths and max(lengths) >= _LENGTH_TABLE:
            return sum(map(self._cost_of_length, lengths))
        return sum(map(self._by_length.__getitem__, lengths))

    def count_many(self, texts: Sequence[str]) -> list[int]:
        return [self.count(t) for t in texts]

    def truncate(self, text: str, max_tokens: int) -> str:
        used = 0
        for match in self._PIECE.finditer(text):
            used += self._cost(match.group())
            if used > max_tokens:
                return text[: match.start()].rstrip()
        return text


#: Bounds of ``approx:<chars per token>``.
MIN_CHARS_PER_TOKEN = 0.1
MAX_CHARS_PER_TOKEN = 100.0


def parse_chars_per_token(arg: str) -> float:
    """The number in ``approx:<number>``: finite and within bounds, else `InvalidInputError`."""
    try:
        value = float(arg)
    except ValueError:
        raise InvalidInputError(f"tokenizer 'approx:{arg}': {arg!r} is not a number") from None
    if not math.isfinite(value) or not (MIN_CHARS_PER_TOKEN <= value <= MAX_CHARS_PER_TOKEN):
        raise InvalidInputError(
            f"tokenizer 'approx:{arg}': chars per token must be from {MIN_CHARS_PER_TOKEN:g} to {MAX_CHARS_PER_TOKEN:g}"
        )
    return value


def get_token_counter(spec: str | TokenCounter) -> TokenCounter:
    """A counter from a short spec.

    ``"approx"`` or ``"approx:<chars per token>"``; ``"tiktoken:<encoding>"``;
    ``"hf:<name or path>"``, or any other string as a Hugging Face name or path. An object
    that already is a `TokenCounter` is returned as is.
    """
    if not isinstance(spec, str):
        if isinstance(spec, TokenCounter):
            return spec
        raise InvalidInputError(f"not a token counter: {spec!r}")
    kind, _, arg = spec.partition(":")
    if kind == "approx":
        return ApproxTokenCounter(parse_chars_per_token(arg)) if arg else ApproxTokenCounter()
    if kind == "tiktoken":
        return TiktokenCounter(arg or "cl100k_base")
    if kind == "hf":
        return HFTokenCounter.from_pretrained(arg)
    return HFTokenCounter.from_pretrained(spec)
