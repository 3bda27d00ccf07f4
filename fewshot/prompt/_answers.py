"""Final answers of generated solutions: extraction and exact match (GSM8K-style ``#### 18``).

Used by evaluation (exact-match accuracy) and by the adaptive judges (self-consistency).
"""

from __future__ import annotations

import math
import re

__all__ = ["normalize_answer", "extract_answer", "answers_match"]

_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?")


def normalize_answer(text: str) -> str:
    """Canonical form of a final answer: no ``$``/commas/trailing period, ``18.0`` -> ``18``."""
    s = str(text).strip().replace(",", "").replace("$", "").rstrip(".").strip()
    try:
        value = float(s)
    except ValueError:
        return s.lower()
    if math.isfinite(value) and value == int(value):
        return str(int(value))
    return repr(value)


def extract_answer(text: str) -> str | None:
    """The final answer of a worked solution: the number after ``####``, else the last number.

    >>> extract_answer("9 * 2 = 18 dollars.\\n#### 18")
    '18'
    >>> extract_answer("So she makes $1,200.")
    '1200'
    >>> extract_answer("no idea") is None
    True
    """
    if "####" in text:
        tail = text.split("####", 1)[1]
        m = _NUMBER.search(tail)
        if m:
            return normalize_answer(m.group())
        tail = tail.strip().splitlines()[0].strip() if tail.strip() else ""
        return normalize_answer(tail) if tail else None
    found = _NUMBER.findall(text)
    return normalize_answer(found[-1]) if found else None


def answers_match(predicted: str | None, gold: str) -> bool:
    """Exact match after `normalize_answer` (``None`` never matches)."""
    return predicted is not None and normalize_answer(predicted) == normalize_answer(gold)
