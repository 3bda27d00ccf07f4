"""Labeled datasets for the evaluation: named presets and a loader for any labeled file.

A `DatasetSpec` says where the pool and test items come from and how to read them: the same
`fewshot.io.FieldMapping` (id field, text field or template, label field) that ``fewshot ingest``
uses, so a user's own labeled JSONL/CSV/Parquet file evaluates exactly as it would ingest.
It also carries what the language-model scorer needs: the verbalised label set and the prompt
template.

Presets (``sst5``, ``trec``, ``rte``, ``mrpc``, ``gsm8k``; and two more label counts for the
selection benchmarks: ``math-subject``, the 7 MATH subjects of a problem, tested on a seeded
split of MATH train since the shared folder has no MATH test file, and ``gsm8k-skill``, the 14
skewed AdaptMI skill labels of a GSM8K question) read the JSONL files of the shared
data folder: ``$FEWSHOT_SHARED_DATA`` if set, else the first existing ``../shared/data`` next to
the current directory or (in a source checkout) next to the repository; see `shared_data_dir`.
The small slices shipped in ``tests/data`` are test fixtures, never used by the evaluation.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from fewshot.evaluation._data_paths import SHARED_DATA_ENV, shared_data_candidates, shared_data_dir
from fewshot.evaluation._dataset_spec import CALCULATOR, TASKS, DatasetSpec, LabeledDataset
from fewshot.exceptions import InvalidInputError, NotFoundError
from fewshot.io import FieldMapping, iter_records
from fewshot.prompt import PromptTemplate
from fewshot.retrieve import CORE_FIELDS, Example

__all__ = [
    "DatasetSpec",
    "LabeledDataset",
    "DATASETS",
    "TASKS",
    "SHARED_DATA_ENV",
    "shared_data_candidates",
    "shared_data_dir",
    "get_dataset",
    "load_dataset",
]

logger = logging.getLogger(__name__)


def _tpl(name: str, instruction: str, input: str, output: str = " {label}") -> PromptTemplate:
    return PromptTemplate(name=name, instruction=instruction, input=input, output=output)


#: Named presets over the shared data folder (paths relative to it).
DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            name="sst5",
            pool_path="sst5/train.jsonl",
            test_path="sst5/test.jsonl",
            mapping=FieldMapping(text_field="text", label_field="label_text"),
            labels=("terrible", "bad", "okay", "good", "great"),
            template=_tpl("sst5", "Classify the sentiment of each review.", "Review: {text}\nSentiment:"),
        ),
        DatasetSpec(
            name="trec",
            pool_path="trec/train.jsonl",
            test_path="trec/test.jsonl",
            mapping=FieldMapping(text_field="text", label_field="label_text"),
            labels=("description", "entity", "abbreviation", "human", "location", "number"),
            template=_tpl(
                "trec", "Classify each question by the type of its answer.", "Question: {text}\nAnswer type:"
            ),
        ),
        DatasetSpec(
            name="rte",
            pool_path="rte/train.jsonl",
            test_path="rte/dev.jsonl",
            mapping=FieldMapping(template="{premise}\nquestion: {hypothesis}", label_field="label_text"),
            labels=("entailment", "not_entailment"),
            verbalizer={"entailment": "True", "not_entailment": "False"},
            template=_tpl(
                "rte",
                "Decide whether the hypothesis follows from the premise.",
                "{premise}\nHypothesis: {hypothesis}\nTrue or False?\nAnswer:",
            ),
        ),
        DatasetSpec(
            name="mrpc",
            pool_path="mrpc/train.jsonl",
            test_path="mrpc/test.jsonl",
            mapping=FieldMapping(template="{sentence1}\n{sentence2}", label_field="label_text"),
            labels=("not_equivalent", "equivalent"),
            verbalizer={"equivalent": "Yes", "not_equivalent": "No"},
            template=_tpl(
                "mrpc",
                "Decide whether the two sentences mean the same thing.",
                "Sentence 1: {sentence1}\nSentence 2: {sentence2}\nSame meaning?\nAnswer:",
            ),
        ),
        DatasetSpec(
            name="gsm8k",
            pool_path="gsm8k/train.jsonl",
            test_path="gsm8k/test.jsonl",
            mapping=FieldMapping(text_field="question", label_field="final_answer"),
            task="generation",
            output_field="answer",
            strip_calculator=True,
            template=_tpl(
                "gsm8k",
                "Solve each problem. Reason step by step, then give the final answer after ####.",
                "Question: {text}\nAnswer:",
                " {output}",
            ),
            stop=("\n\nQuestion:", "\nQuestion:", "\n\n"),
        ),
        DatasetSpec(
            name="math-subject",
            pool_path="math/train.jsonl",
            test_path=None,  # no MATH test file with problems: the runner splits train
            mapping=FieldMapping(text_field="problem", label_field="subject"),
            labels=(
                "Algebra",
                "Counting & Probability",
                "Geometry",
                "Intermediate Algebra",
                "Number Theory",
                "Prealgebra",
                "Precalculus",
            ),
            template=_tpl("math-subject", "Classify each math problem by its subject.", "Problem: {text}\nSubject:"),
        ),
        DatasetSpec(
            name="gsm8k-skill",
            pool_path="gsm8k/train.jsonl",
            test_path="gsm8k/test.jsonl",
            mapping=FieldMapping(text_field="question", label_field="skills"),
            list_label=True,
            template=_tpl("gsm8k-skill", "Name the main skill each math question needs.", "Question: {text}\nSkill:"),
        ),
    )
}


def get_dataset(
    spec: str | DatasetSpec | Mapping[str, Any], *, data_dir: str | os.PathLike[str] | None = None
) -> DatasetSpec:
    """A `DatasetSpec` from a preset name, a spec, or a mapping of spec fields.

    Preset paths are resolved against ``data_dir`` (default `shared_data_dir`). A mapping
    (e.g. from YAML) takes ``name``, ``pool_path`` (or ``path``), ``test_path``, the
    `FieldMapping` keys ``id_field``, ``text_field``, ``template``, ``label_field``, and
    ``task``, ``labels``, ``verbalizer``, ``output_field``, ``instruction``, ``prompt``
    (the template's input part, e.g. ``"Review: {text}\\nSentiment:"``), ``stop``, ``list_label``.

    Raises
    ------
    InvalidInputError
        Unknown preset name or spec key, or a bad value.
    NotFoundError
        A preset without ``data_dir`` when no shared data folder exists (see `shared_data_dir`).
    """
    if isinstance(spec, DatasetSpec):
        return spec
    if isinstance(spec, str):
        try:
            preset = DATASETS[spec]
        except KeyError:
            raise InvalidInputError(
                f"unknown dataset {spec!r}; presets: {', '.join(DATASETS)} (or give a file)"
            ) from None
        base = Path(data_dir) if data_dir is not None else shared_data_dir()
        return replace(
            preset,
            pool_path=base / preset.pool_path,
            test_path=None if preset.test_path is None else base / preset.test_path,
        )
    if isinstance(spec, Mapping):
        return _spec_from_mapping(spec)
    raise InvalidInputError(f"dataset must be a preset name or a mapping, got {spec!r}")


_MAPPING_KEYS = {"id_field", "text_field", "template", "label_field"}
_SPEC_KEYS = {
    "name",
    "path",
    "pool_path",
    "test_path",
    "task",
    "labels",
    "verbalizer",
    "output_field",
    "instruction",
    "prompt",
    "stop",
    "strip_calculator",
    "list_label",
}


def _spec_from_mapping(data: Mapping[str, Any]) -> DatasetSpec:
    unknown = sorted(set(data) - _MAPPING_KEYS - _SPEC_KEYS)
    where = f"dataset {data.get('name', '?')!r}"
    if unknown:
        raise InvalidInputError(f"{where}: unknown keys {unknown}; valid keys: {sorted(_MAPPING_KEYS | _SPEC_KEYS)}")
    if "name" not in data:
        raise InvalidInputError("a dataset given as a mapping needs a 'name'")
    pool_path = data.get("pool_path", data.get("path"))
    if pool_path is None:
        raise InvalidInputError(f"{where}: give 'path' (or 'pool_path')")
    if "path" in data and "pool_path" in data:
        raise InvalidInputError(f"{where}: give 'path' or 'pool_path', not both")
    mapping = FieldMapping(
        id_field=data.get("id_field"),
        text_field=data.get("text_field"),
        template=data.get("template"),
        label_field=data.get("label_field", "label"),
    )
    task = data.get("task", "classification")
    template = None
    if "prompt" in data or "instruction" in data:
        out = " {output}" if task == "generation" else " {label}"
        template = PromptTemplate(
            name=str(data["name"]),
            instruction=data.get("instruction", ""),
            input=data.get("prompt", "{text}\nLabel:"),
            output=out,
        )
    labels = data.get("labels")
    if labels is not None and (isinstance(labels, str) or not isinstance(labels, Sequence)):
        raise InvalidInputError(f"{where}: 'labels' must be a list, got {labels!r}")
    verbalizer = data.get("verbalizer")
    if verbalizer is not None and not isinstance(verbalizer, Mapping):
        raise InvalidInputError(f"{where}: 'verbalizer' must be a mapping label -> word")
    stop = data.get("stop", ("\n\n",))
    return DatasetSpec(
        name=str(data["name"]),
        pool_path=Path(pool_path),
        test_path=None if data.get("test_path") is None else Path(data["test_path"]),
        mapping=mapping,
        task=task,
        labels=None if labels is None else tuple(labels),
        verbalizer=None if verbalizer is None else {str(k): str(v) for k, v in verbalizer.items()},
        output_field=data.get("output_field"),
        strip_calculator=bool(data.get("strip_calculator", False)),
        template=template,
        stop=(stop,) if isinstance(stop, str) else tuple(stop),
        list_label=bool(data.get("list_label", False)),
    )


def _read_split(spec: DatasetSpec, path: Path) -> tuple[list[Example], int]:
    """Labeled items of one file as `Example` objects (unlabeled rows are skipped, counted)."""
    if not path.exists():
        raise NotFoundError(f"dataset {spec.name!r}: file not found: {path}")
    items: list[Example] = []
    seen: set[str] = set()
    unlabeled = 0
    for line, record in iter_records(path):
        if spec.list_label:
            record = _single_label(record, spec.mapping.label_field)
        rec = spec.mapping.apply(record, path=str(path), line=line)
        if rec.label is None:
            unlabeled += 1
            continue
        if rec.external_id in seen:
            raise InvalidInputError(f"{path}, line {line}: duplicate id {rec.external_id!r}")
        seen.add(rec.external_id)
        output = None
        if spec.output_field is not None:
            value = record.get(spec.output_field)
            if not isinstance(value, str):
                raise InvalidInputError(
                    f"{path}, line {line}: field {spec.output_field!r} (the demonstration answer) must be a string"
                )
            output = CALCULATOR.sub("", value) if spec.strip_calculator else value
        fields = {k: v for k, v in rec.fields.items() if k not in CORE_FIELDS}
        items.append(Example(id=rec.external_id, text=rec.text, label=rec.label, output=output, fields=fields))
    return items, unlabeled


def _single_label(record: dict[str, Any], field: str | None) -> dict[str, Any]:
    """``record`` with its list label replaced by its only entry (removed unless exactly one)."""
    value = record.get(field) if field is not None else None
    if field is None or not isinstance(value, list):
        return record
    out = {k: v for k, v in record.items() if k != field}
    if len(value) == 1:
        out[field] = value[0]
    return out


def load_dataset(
    spec: str | DatasetSpec | Mapping[str, Any], *, data_dir: str | os.PathLike[str] | None = None
) -> LabeledDataset:
    """Read a dataset's pool and test files into `Example` lists.

    Each item's ``text`` is the mapped text (what gets embedded), ``label`` the gold label as a
    string, ``output`` the worked answer (generation tasks), and ``fields`` the record's other
    fields (for prompt templates such as ``{premise}``).

    Raises
    ------
    NotFoundError
        A file is missing.
    InvalidInputError
        A malformed record (`IngestError` names file, line and field), a label outside the
        spec's label set, or fewer than two labels.
    """
    spec = get_dataset(spec, data_dir=data_dir)
    pool, n_unl = _read_split(spec, Path(spec.pool_path))
    test: list[Example] = []
    if spec.test_path is not None:
        test, n_unl_test = _read_split(spec, Path(spec.test_path))
        n_unl += n_unl_test
    if n_unl:
        logger.info("dataset %s: skipped %d unlabeled records", spec.name, n_unl)
    seen = {str(ex.label) for ex in pool} | {str(ex.label) for ex in test}
    if spec.task == "generation":
        labels: tuple[str, ...] = ()  # free-form answers: no label set
    elif spec.labels is not None:
        extra = sorted(seen - set(spec.labels))
        if extra:
            raise InvalidInputError(
                f"dataset {spec.name!r}: labels {extra[:10]} are not in the label set {list(spec.labels)}"
            )
        labels = spec.labels
    else:
        labels = tuple(sorted(seen))
    if spec.task == "classification":
        if len(labels) < 2:
            raise InvalidInputError(f"dataset {spec.name!r}: needs at least two labels, found {list(labels)}")
        for lb in labels:
            spec.verbalize(lb)  # every label must have a word
    sources = {"pool": str(spec.pool_path)}
    if spec.test_path is not None:
        sources["test"] = str(spec.test_path)
    return LabeledDataset(spec=spec, pool=pool, test=test, labels=labels, n_unlabeled=n_unl, sources=sources)


def sample_rows(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``min(size, n)`` distinct row numbers of ``range(n)``, sorted (int64)."""
    if size >= n:
        return np.arange(n, dtype=np.int64)
    return np.sort(rng.choice(n, size=size, replace=False)).astype(np.int64)
