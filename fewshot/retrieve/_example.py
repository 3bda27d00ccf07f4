"""`Example`: one labeled item that can serve as a demonstration (id, text, label, output,
skills and any other named ``fields``).

`fewshot.retrieve._corpus` stores them (`Corpus`); filters, templates and retrievers read them.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fewshot.exceptions import InvalidInputError

__all__ = ["Example", "CORE_FIELDS", "MISSING"]

#: Attribute names of `Example`; ``fields`` may not reuse them.
CORE_FIELDS: frozenset[str] = frozenset({"id", "text", "label", "output", "skills"})

#: The "no default" marker of `Example.get`.
MISSING = object()


@dataclass(frozen=True)
class Example:
    """One labeled item that can serve as a demonstration.

    Parameters
    ----------
    id : int or str
        The caller's identifier, unique within a corpus.
    text : str
        The text that is embedded/indexed and shown as the demonstration's input. Render
        multi-field items into one string first (e.g. ``"{premise}\\nquestion: {hypothesis}"``).
    label : hashable, optional
        The gold label (class index or name), used by label filters and label balancing.
    output : str, optional
        The demonstration's answer text (e.g. a worked solution), for generation tasks.
    skills : sequence of str
        Skill tags (AdaptMI), used by skill filters.
    fields : mapping
        Any other named values (``premise``, ``choices``, ...), used by templates and filters.
    """

    id: int | str
    text: str
    label: Hashable | None = None
    output: str | None = None
    skills: tuple[str, ...] = ()
    fields: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.id, bool) or not isinstance(self.id, (int, str)):
            raise InvalidInputError(f"Example.id must be an int or str, got {self.id!r}")
        if not isinstance(self.text, str):
            raise InvalidInputError(f"Example {self.id!r}: text must be a str")
        if self.output is not None and not isinstance(self.output, str):
            raise InvalidInputError(f"Example {self.id!r}: output must be a str or None")
        if isinstance(self.label, list):
            object.__setattr__(self, "label", tuple(self.label))
        try:
            hash(self.label)
        except TypeError as exc:
            raise InvalidInputError(f"Example {self.id!r}: label must be hashable") from exc
        skills = (self.skills,) if isinstance(self.skills, str) else tuple(self.skills)
        if not all(isinstance(s, str) for s in skills):
            raise InvalidInputError(f"Example {self.id!r}: skills must be strings")
        object.__setattr__(self, "skills", skills)
        clash = CORE_FIELDS.intersection(self.fields)
        if clash:
            raise InvalidInputError(f"Example {self.id!r}: fields may not reuse the names {sorted(clash)}")
        object.__setattr__(self, "fields", dict(self.fields))

    def get(self, name: str, default: Any = MISSING) -> Any:
        """Value of a core attribute or of ``fields[name]``; ``default`` if absent.

        Raises KeyError when absent and no default is given. A ``None`` core value
        (e.g. no label) counts as present; callers decide what ``None`` means.
        """
        if name in CORE_FIELDS:
            return getattr(self, name)
        if name in self.fields:
            return self.fields[name]
        if default is MISSING:
            raise KeyError(name)
        return default

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (inverse of `from_dict`)."""
        return {
            "id": self.id,
            "text": self.text,
            "label": self.label,
            "output": self.output,
            "skills": list(self.skills),
            "fields": dict(self.fields),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Example:
        """Build from the dict `to_dict` returns."""
        return cls(
            id=data["id"],
            text=data["text"],
            label=data.get("label"),
            output=data.get("output"),
            skills=tuple(data.get("skills") or ()),
            fields=data.get("fields") or {},
        )
