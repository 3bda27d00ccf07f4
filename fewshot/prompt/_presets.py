"""Ready-made templates: ``classification``, ``multiple_choice``, ``generation``, ``math``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from fewshot.exceptions import InvalidInputError
from fewshot.prompt._template import PromptTemplate
from fewshot.registry import Registry

__all__ = ["TEMPLATES", "PRESETS", "get_template", "lettered_choices", "letter_label"]

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def lettered_choices(choices: Sequence[Any]) -> str:
    """Render a list of options as ``"A. first\\nB. second"``."""
    if isinstance(choices, str):
        return choices
    if len(choices) > len(_LETTERS):
        raise InvalidInputError(f"at most {len(_LETTERS)} choices, got {len(choices)}")
    return "\n".join(f"{_LETTERS[i]}. {c}" for i, c in enumerate(choices))


def letter_label(label: Any) -> str:
    """A choice index (0, 1, ...) as its letter; a str label is kept as is."""
    if isinstance(label, str):
        return label
    if isinstance(label, int) and not isinstance(label, bool) and 0 <= label < len(_LETTERS):
        return _LETTERS[label]
    raise InvalidInputError(f"multiple-choice label must be a choice index or a letter, got {label!r}")


#: The registered prompt templates by name (presets first). Copy with changes through `get_template`;
#: ``TEMPLATES.register(name, PromptTemplate(...))`` adds one everywhere (library, CLI, API).
TEMPLATES: Registry[PromptTemplate] = Registry("template")
PRESETS = TEMPLATES  # the former name

for _preset in (
    PromptTemplate(
        name="classification",
        instruction="Classify the sentiment of each review.",
        input="Review: {text}\nSentiment:",
        output=" {label}",
    ),
    PromptTemplate(
        name="multiple_choice",
        instruction="Answer each question with the letter of the correct choice.",
        input="Question: {text}\n{choices}\nAnswer:",
        output=" {label}",
        verbalizer=letter_label,
        formatters={"choices": lettered_choices},
    ),
    PromptTemplate(name="generation", input="Input: {text}\nOutput:", output=" {output}"),
    PromptTemplate(
        name="math",
        instruction="Solve each problem. Reason step by step, then state the final answer.",
        input="Question: {text}\nAnswer: Let's think step by step.",
        output=" {output}",
    ),
):
    TEMPLATES.register(_preset.name, _preset)


def get_template(name: str, **changes: Any) -> PromptTemplate:
    """A preset template, optionally with fields replaced.

    >>> t = get_template("classification", verbalizer={0: "negative", 1: "positive"})
    >>> t.render_demo({"text": "great fun", "label": 1})
    'Review: great fun\\nSentiment: positive'
    """
    preset = TEMPLATES.get(name)
    try:
        return dataclasses.replace(preset, **changes)
    except TypeError as exc:
        raise InvalidInputError(f"bad template option: {exc}") from exc
