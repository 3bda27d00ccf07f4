"""Annotation-tool formats, out: Label Studio tasks with a labeling config and Argilla records with
dataset settings, an allow-list of the item's fields (gold columns never leave by default) and
optional pre-annotations (the reading side is `fewshot.io._annotation_formats`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import quoteattr

__all__ = [
    "to_labelstudio_task",
    "to_argilla_record",
    "labelstudio_config",
    "argilla_settings",
    "GOLD_FIELDS",
]

#: Item fields that hold gold answers: never sent to annotators unless allow-listed.
GOLD_FIELDS = frozenset({"label", "labels", "label_text", "gold", "gold_label", "answer", "target"})


def _scalar_fields(fields: dict[str, Any], allow: Sequence[str] | None) -> dict[str, Any]:
    keys = [k for k in fields if k not in GOLD_FIELDS] if allow is None else list(allow)
    return {k: fields[k] for k in keys if k in fields and isinstance(fields[k], (str, int, float, bool))}


def to_labelstudio_task(
    external_id: str,
    text: str,
    fields: dict[str, Any],
    *,
    allow: Sequence[str] | None = None,
    prediction: tuple[str, float] | None = None,
    control: str = "label",
    cost: float | None = None,
) -> dict[str, Any]:
    """A Label Studio task; ``allow`` the item fields sent (None: all but `GOLD_FIELDS`),
    ``prediction`` a ``(label, score)`` pre-annotation for the Choices ``control``, ``cost`` the
    item's annotation cost (``data.cost``)."""
    data = _scalar_fields(fields, allow)
    data.update({"text": text, "fewshot_id": external_id})
    if cost is not None:
        data["cost"] = cost
    task: dict[str, Any] = {"data": data}
    if prediction is not None:
        label, score = prediction
        task["predictions"] = [
            {
                "model_version": "fewshot-knn",
                "score": score,
                "result": [
                    {
                        "from_name": control,
                        "to_name": "text",
                        "type": "choices",
                        "value": {"choices": [label]},
                        "score": score,
                    }
                ],
            }
        ]
    return task


def to_argilla_record(
    external_id: str,
    text: str,
    fields: dict[str, Any],
    *,
    allow: Sequence[str] | None = None,
    prediction: tuple[str, float] | None = None,
    control: str = "label",
    cost: float | None = None,
) -> dict[str, Any]:
    """An Argilla 2.x record dict; ``prediction`` becomes a suggestion for the ``control`` question,
    ``cost`` the metadata ``cost``."""
    metadata = {k: v for k, v in _scalar_fields(fields, allow).items() if k != "text"}
    if cost is not None:
        metadata["cost"] = cost
    record: dict[str, Any] = {"id": external_id, "fields": {"text": text}, "metadata": metadata}
    if prediction is not None:
        record["suggestions"] = {control: {"value": prediction[0], "score": prediction[1], "agent": "fewshot-knn"}}
    return record


def labelstudio_config(labels: Sequence[str], *, control: str = "label", comment: bool = False) -> str:
    """A Label Studio labeling config: the text and one Choices control over ``labels``."""
    choices = "\n".join(f"    <Choice value={quoteattr(str(lab))}/>" for lab in labels) or (
        "    <!-- no labels yet: add one <Choice value=...> per label -->"
    )
    extra = '\n  <TextArea name="comment" toName="text" placeholder="Comment (optional)"/>' if comment else ""
    return (
        "<View>\n"
        '  <Text name="text" value="$text"/>\n'
        f'  <Choices name={quoteattr(control)} toName="text" choice="single" showInLine="true">\n'
        f"{choices}\n"
        f"  </Choices>{extra}\n"
        "</View>\n"
    )


def argilla_settings(
    labels: Sequence[str],
    *,
    control: str = "label",
    metadata: Sequence[str] = (),
    guidelines: str | None = None,
    cost: bool = False,
) -> dict[str, Any]:
    """Argilla 2.x dataset settings (the shape ``rg.Settings.serialize`` writes): a text field and
    one label question over ``labels``; with ``cost`` a float metadata property ``cost``."""
    props = [
        {"name": m, "title": m, "type": "terms", "visible_for_annotators": True}
        for m in metadata
        if not (cost and m == "cost")
    ]
    if cost:
        props.append({"name": "cost", "title": "cost", "type": "float", "visible_for_annotators": True})
    return {
        "guidelines": guidelines,
        "allow_extra_metadata": True,
        "distribution": {"strategy": "overlap", "min_submitted": 1},
        "fields": [
            {
                "name": "text",
                "title": "text",
                "required": True,
                "type": "text",
                "settings": {"type": "text", "use_markdown": False},
            }
        ],
        "questions": [
            {
                "name": control,
                "title": control,
                "description": None,
                "required": True,
                "type": "label_selection",
                "settings": {
                    "type": "label_selection",
                    "options": [{"value": str(lab), "text": str(lab), "description": None} for lab in labels],
                    "visible_options": None,
                },
            }
        ],
        "metadata": props,
        "vectors": [],
        "mapping": None,
    }
