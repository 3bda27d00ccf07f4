"""What an item costs to annotate: cost specs, their evaluation on items, and the checks.

A cost spec is a short string (stored as is on a pool, so rounds reuse it), a sum of terms::

    2.5                      a constant per item (minutes, cents, ...)
    constant:2.5             the same
    words:0.5/60             0.5/60 per word of the rendered text (whitespace-separated)
    tokens:0.002             0.002 per token of the rendered text (the caller's token counter)
    chars:0.001              per character
    field:minutes            the item's own numeric field ``minutes`` (``field:minutes*60`` scales it)
    1+words:0.5/60           a fixed overhead plus a per-word rate

A rate is a number or a quotient ``a/b``. :func:`parse_cost_spec` checks the syntax;
:func:`item_costs` evaluates a spec on items and refuses a cost that is missing, not a number,
NaN, infinite, zero or negative, naming the item. :func:`check_costs` does the same checks on a
bare cost vector (the library entry point, ``select(X, budget_cost=..., costs=...)``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fewshot.exceptions import InvalidInputError

__all__ = ["CostSpec", "CostTerm", "COST_SPEC_FORMS", "parse_cost_spec", "item_costs", "check_costs"]

#: The spec forms `parse_cost_spec` understands (help texts).
COST_SPEC_FORMS = ("<number>", "words:<rate>", "tokens:<rate>", "chars:<rate>", "field:<name>[*<rate>]", "a+b")
_PER_UNIT = ("words", "tokens", "chars")
_NUMBER = r"[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"
_RATE_RE = re.compile(rf"^({_NUMBER})(?:/({_NUMBER}))?$")
_FIELD_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.\-]*)(?:\*(.+))?$")

#: ``count_tokens(texts) -> counts``: the token counter of ``tokens:`` terms.
TokenCounterFn = Callable[[Sequence[str]], Sequence[int]]


@dataclass(frozen=True)
class CostTerm:
    """One term of a cost spec: ``rate`` times a count (``kind`` words/tokens/chars), times a
    field's value (``kind == "field"``), or the constant ``rate`` (``kind == "constant"``)."""

    kind: str
    rate: float
    field: str | None = None


@dataclass(frozen=True)
class CostSpec:
    """A parsed cost spec; ``text`` is the spec as given (whitespace removed), which re-parses to it."""

    text: str
    terms: tuple[CostTerm, ...]

    def __str__(self) -> str:
        return self.text

    @property
    def needs_tokens(self) -> bool:
        return any(t.kind == "tokens" for t in self.terms)

    @property
    def fields(self) -> list[str]:
        """Item fields the spec reads."""
        return [t.field for t in self.terms if t.field is not None]


def _rate(text: str, spec: str) -> float:
    m = _RATE_RE.match(text)
    if not m:
        raise InvalidInputError(f"cost spec {spec!r}: {text!r} is not a rate (a number or a/b, e.g. 0.5/60)")
    value = float(m.group(1))
    if m.group(2) is not None:
        den = float(m.group(2))
        if den == 0:
            raise InvalidInputError(f"cost spec {spec!r}: division by zero in {text!r}")
        value /= den
    if not math.isfinite(value) or value <= 0:
        raise InvalidInputError(f"cost spec {spec!r}: rate {text!r} must be a finite number > 0")
    return value


def parse_cost_spec(spec: str | CostSpec) -> CostSpec:
    """Parse a cost spec (see the module documentation); a `CostSpec` passes through.

    Raises
    ------
    InvalidInputError
        Empty spec, unknown kind, bad or non-positive rate; the message names the part.

    Examples
    --------
    >>> parse_cost_spec("1 + words:0.5/60").terms[1]
    CostTerm(kind='words', rate=0.008333333333333333, field=None)
    >>> parse_cost_spec("field:minutes").fields
    ['minutes']
    """
    if isinstance(spec, CostSpec):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidInputError(
            f"cost spec must be a non-empty string such as {', '.join(COST_SPEC_FORMS)}; got {spec!r}"
        )
    text = re.sub(r"\s+", "", spec)
    terms: list[CostTerm] = []
    for part in text.split("+"):
        if not part:
            raise InvalidInputError(f"cost spec {spec!r}: empty term")
        kind, sep, rest = part.partition(":")
        kind = kind.lower()
        if not sep:
            terms.append(CostTerm("constant", _rate(part, spec)))
        elif kind == "constant":
            terms.append(CostTerm("constant", _rate(rest, spec)))
        elif kind in _PER_UNIT:
            terms.append(CostTerm(kind, _rate(rest, spec)))
        elif kind == "field":
            m = _FIELD_RE.match(rest)
            if not m:
                raise InvalidInputError(f"cost spec {spec!r}: {rest!r} is not a field name (field:NAME or NAME*RATE)")
            terms.append(CostTerm("field", 1.0 if m.group(2) is None else _rate(m.group(2), spec), m.group(1)))
        else:
            raise InvalidInputError(
                f"cost spec {spec!r}: unknown term {part!r}; terms are {', '.join(COST_SPEC_FORMS)}"
            )
    return CostSpec(text, tuple(terms))


def _field_value(item_id: str, fields: Mapping[str, Any], name: str) -> float:
    if name not in fields or fields[name] is None:
        raise InvalidInputError(f"item {item_id!r} has no cost field {name!r}")
    value = fields[name]
    if isinstance(value, bool):
        raise InvalidInputError(f"item {item_id!r}: cost field {name!r} must be a number; got {value!r}")
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise InvalidInputError(f"item {item_id!r}: cost field {name!r} must be a number; got {value!r}") from None
    if not isinstance(value, (int, float)):
        raise InvalidInputError(f"item {item_id!r}: cost field {name!r} must be a number; got {value!r}")
    return float(value)


def item_costs(
    spec: str | CostSpec,
    items: Iterable[tuple[str, str, Mapping[str, Any]]],
    *,
    count_tokens: TokenCounterFn | None = None,
) -> np.ndarray:
    """The cost of each item under ``spec``.

    Parameters
    ----------
    spec : str or CostSpec
    items : iterable of (item_id, text, fields)
        ``item_id`` names the item in errors; ``text`` is the rendered text the annotator reads;
        ``fields`` its original fields (for ``field:`` terms).
    count_tokens : callable, optional
        ``count_tokens(texts) -> counts``; required when the spec has a ``tokens:`` term.

    Returns
    -------
    ndarray of float64, shape (n_items,), every value finite and > 0.

    Raises
    ------
    InvalidInputError
        A missing or non-numeric field, or a cost that is NaN, infinite, zero or negative;
        the message names the item.

    Examples
    --------
    >>> item_costs("1+words:0.5", [("a", "two words", {}), ("b", "x", {})]).tolist()
    [2.0, 1.5]
    """
    cs = parse_cost_spec(spec)
    rows = list(items)
    if cs.needs_tokens and count_tokens is None:
        raise InvalidInputError(f"cost spec {cs.text!r} counts tokens: a token counter is needed")
    tokens = list(count_tokens([t for _, t, _ in rows])) if cs.needs_tokens and count_tokens is not None else []
    out = np.empty(len(rows), dtype=np.float64)
    for i, (item_id, text, fields) in enumerate(rows):
        total = 0.0
        for term in cs.terms:
            if term.kind == "constant":
                total += term.rate
            elif term.kind == "words":
                total += term.rate * len(text.split())
            elif term.kind == "chars":
                total += term.rate * len(text)
            elif term.kind == "tokens":
                total += term.rate * int(tokens[i])
            else:
                assert term.field is not None
                total += term.rate * _field_value(item_id, fields, term.field)
        if not math.isfinite(total) or total <= 0:
            raise InvalidInputError(
                f"item {item_id!r} costs {total!r} under cost spec {cs.text!r}; every cost must be a finite number > 0"
            )
        out[i] = total
    return out


def check_costs(costs: Any, n: int, *, skip: np.ndarray | None = None) -> np.ndarray:
    """Validate a cost vector for ``n`` rows: a float64 copy, shape ``(n,)``.

    Rows in ``skip`` (already labeled: never picked) may hold anything, NaN included; every other
    row must be finite and > 0. The error names the first bad row.
    """
    try:
        arr = np.array(costs, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"costs must be a 1-D array of numbers: {exc}") from None
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InvalidInputError(f"costs must have shape ({n},), one per row of vectors; got shape {arr.shape}")
    check = np.ones(n, dtype=bool)
    if skip is not None and skip.size:
        check[skip] = False
    bad = check & ~(np.isfinite(arr) & (arr > 0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InvalidInputError(f"costs[{row}] is {float(arr[row])!r}; every cost must be a finite number > 0")
    return arr
