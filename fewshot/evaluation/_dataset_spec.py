"""What a labeled evaluation dataset is: `DatasetSpec` (where it lives, how to read, verbalise and
prompt it) and `LabeledDataset` (a loaded pool and test split)."""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from fewshot.exceptions import InvalidInputError
from fewshot.io import FieldMapping
from fewshot.prompt import PromptTemplate
from fewshot.retrieve import Example

__all__ = ["DatasetSpec", "LabeledDataset", "TASKS", "CALCULATOR"]

#: ``classification``: accuracy of the predicted label; ``generation``: exact match of the
#: final answer extracted from generated text (GSM8K style).
TASKS = ("classification", "generation")

#: GSM8K calculator annotations (``<<2*3=6>>``), stripped from solutions when asked.
CALCULATOR = re.compile(r"<<[^<>]*>>")


@dataclass(frozen=True)
class DatasetSpec:
    """Where a labeled dataset lives and how to read, verbalise and prompt it.

    Parameters
    ----------
    name : str
        Used in result tables and cache file names.
    pool_path : str or Path
        The file the annotation pool is drawn from (JSONL, CSV or Parquet). Relative paths of
        presets are resolved against the shared data folder.
    test_path : str or Path, optional
        The file test items are drawn from. None: the test items are a seeded sample of
        ``pool_path`` and the pool is drawn from the rest.
    mapping : FieldMapping
        How to read id, text (field or template) and label; the text is what gets embedded.
    task : {"classification", "generation"}
    labels : sequence of str, optional
        The label set, in option order. None: the sorted distinct labels of the data.
    verbalizer : mapping of label -> word, optional
        The words the language model scores (``" " + word`` per label). Default: the labels.
    output_field : str, optional
        Generation tasks: the field holding a demonstration's worked answer (GSM8K
        ``answer``). The gold answer to match is the label.
    strip_calculator : bool
        Remove GSM8K's ``<<48/2=24>>`` calculator annotations from outputs.
    template : PromptTemplate, optional
        The prompt format for the language-model scorer. Default: ``"{text}"`` then
        ``" {label}"`` (classification) or ``" {output}"`` (generation).
    stop : sequence of str
        Stop strings for generation.
    list_label : bool
        The label field holds a list (e.g. GSM8K's ``skills``): an item with exactly one entry
        takes it as its label; items with none or several are skipped as unlabeled.
    """

    name: str
    pool_path: str | Path
    mapping: FieldMapping
    test_path: str | Path | None = None
    task: str = "classification"
    labels: tuple[str, ...] | None = None
    verbalizer: Mapping[str, str] | None = None
    output_field: str | None = None
    strip_calculator: bool = False
    template: PromptTemplate | None = None
    stop: tuple[str, ...] = ("\n\n",)
    list_label: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", self.name):
            raise InvalidInputError(f"dataset name must be letters, digits, '_', '.', '-'; got {self.name!r}")
        if self.task not in TASKS:
            raise InvalidInputError(f"dataset {self.name!r}: task must be one of {TASKS}, got {self.task!r}")
        if self.mapping.label_field is None:
            raise InvalidInputError(
                f"dataset {self.name!r}: mapping needs a label_field (evaluation needs gold labels)"
            )
        if self.task == "generation" and self.output_field is None:
            raise InvalidInputError(
                f"dataset {self.name!r}: a generation task needs output_field (the demonstrations' answers)"
            )
        if self.labels is not None:
            object.__setattr__(self, "labels", tuple(str(x) for x in self.labels))
        object.__setattr__(self, "stop", tuple(self.stop))

    def prompt_template(self) -> PromptTemplate:
        """The template the LM scorer renders prompts with (verbaliser applied to labels)."""
        if self.template is not None:
            tpl = self.template
        elif self.task == "generation":
            tpl = PromptTemplate(name=f"{self.name}-default", input="{text}\nAnswer:", output=" {output}")
        else:
            tpl = PromptTemplate(name=f"{self.name}-default", input="{text}\nLabel:", output=" {label}")
        if self.verbalizer and tpl.verbalizer is None:
            verbalizer: dict[Hashable, str] = {label: word for label, word in self.verbalizer.items()}
            tpl = replace(tpl, verbalizer=verbalizer)
        return tpl

    def verbalize(self, label: str) -> str:
        """The word the language model scores for ``label``."""
        if self.verbalizer is None:
            return label
        try:
            return self.verbalizer[label]
        except KeyError:
            raise InvalidInputError(
                f"dataset {self.name!r}: label {label!r} is not in the verbalizer {sorted(self.verbalizer)}"
            ) from None


@dataclass(frozen=True)
class LabeledDataset:
    """A loaded dataset: every labeled item of the pool source and of the test source.

    ``pool`` and ``test`` are the whole splits (sampling happens in the runner). When the spec
    has no test file, ``test`` is empty and the runner splits ``pool``.
    """

    spec: DatasetSpec
    pool: list[Example]
    test: list[Example]
    labels: tuple[str, ...]  # empty for generation tasks
    n_unlabeled: int = 0
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def options(self) -> list[str]:
        """The continuations the LM scores, one per label, in label order (classification)."""
        return [" " + self.spec.verbalize(lb) for lb in self.labels]
