"""Skill vocabularies: collecting, checking and parsing skill names (AdaptMI, SPEC 6)."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterable, Sequence

from fewshot.exceptions import InvalidInputError

__all__ = ["normalize_skill", "skill_counts", "vocabulary_from", "check_skills", "parse_skills"]

_SEP = re.compile(r"[\s\-_/]+")


def normalize_skill(name: str) -> str:
    """A comparison key for a skill name: lower case, spaces/hyphens/slashes as one ``_``.

    >>> normalize_skill("  Time-Speed Distance ")
    'time_speed_distance'
    """
    return _SEP.sub("_", str(name).strip().lower()).strip("_")


def skill_counts(skill_lists: Iterable[Sequence[str]]) -> Counter[str]:
    """How many items carry each skill."""
    counts: Counter[str] = Counter()
    for skills in skill_lists:
        counts.update(set(skills or ()))
    return counts


def vocabulary_from(skill_lists: Iterable[Sequence[str]]) -> list[str]:
    """The skills present, most frequent first (ties by name)."""
    counts = skill_counts(skill_lists)
    return sorted(counts, key=lambda s: (-counts[s], s))


def check_skills(skills: Iterable[str], vocabulary: Sequence[str] | None, *, what: str = "skills") -> list[str]:
    """``skills`` as clean strings in vocabulary spelling, duplicates dropped, order kept.

    A name matches a vocabulary entry by `normalize_skill`; with a vocabulary, an unknown name
    raises `InvalidInputError` naming it and the closest known names. Without one (None), names
    are only stripped.
    """
    if isinstance(skills, str):
        skills = [skills]
    by_key = {normalize_skill(v): v for v in vocabulary} if vocabulary is not None else None
    out: list[str] = []
    for raw in skills:
        if not isinstance(raw, str) or not raw.strip():
            raise InvalidInputError(f"{what}: a skill must be a non-empty string, got {raw!r}")
        name = raw.strip()
        if by_key is not None:
            key = normalize_skill(name)
            if key not in by_key:
                close = difflib.get_close_matches(key, list(by_key), n=3, cutoff=0.6)
                hint = f"; did you mean {', '.join(by_key[c] for c in close)}?" if close else ""
                raise InvalidInputError(
                    f"{what}: unknown skill {name!r} (not in the pool's vocabulary of {len(by_key)} skills){hint}"
                )
            name = by_key[key]
        if name not in out:
            out.append(name)
    return out


def parse_skills(text: str, vocabulary: Sequence[str], *, limit: int | None = None) -> list[str]:
    """Vocabulary skills named in a model's free-text answer, in order of appearance.

    Matching, in order: exact vocabulary names (or their spaced spelling) in the text; then each
    comma/line-separated piece of the answer's first line matched to the closest name
    (`difflib`, cutoff 0.75). Returns ``[]`` when nothing matches.

    >>> parse_skills("Skill: percentage, then division", ["division", "percentage", "algebra"])
    ['percentage', 'division']
    """
    low = text.lower()
    found: list[tuple[int, str]] = []
    for name in vocabulary:
        positions = [low.find(form) for form in {name.lower(), name.lower().replace("_", " ")}]
        positions = [p for p in positions if p >= 0]
        if positions:
            found.append((min(positions), name))
    # drop names that only match inside a longer matched name ("arithmetic" in "basic_arithmetic")
    found.sort()
    out = [n for p, n in found if not any(o != n and n.lower() in o.lower() for _, o in found)]
    if not out:
        keys = {normalize_skill(v): v for v in vocabulary}
        first = text.strip().splitlines()[0] if text.strip() else ""
        for piece in re.split(r"[,;]| and ", first):
            key = normalize_skill(piece.strip(" .:'\"*`"))
            if not key:
                continue
            close = difflib.get_close_matches(key, list(keys), n=1, cutoff=0.75)
            if close and keys[close[0]] not in out:
                out.append(keys[close[0]])
    return out[:limit] if limit is not None else out
