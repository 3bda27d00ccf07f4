"""Pieces shared by the request and response bodies: names checked against fewshot's registries.

A field typed `SelectionMethod`, `RetrieverName`, `TemplateName`, `SkillPredictorName` or
`PromptPredictorName` is validated against its registry *when the request arrives* (a name
registered after the app was built is accepted), and its JSON schema lists the registered names
as an ``enum`` *when the OpenAPI document is generated*. An unknown name is a 422 naming the field
and the choices.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from ...adaptive import PREDICTORS
from ...exceptions import InvalidInputError
from ...prompt import TEMPLATES
from ...service.models import UDR_SPEC_PATTERN, parse_udr_spec
from ...service.retrieval import UDR_FORMS, is_udr_spec, retriever_names
from ...service.selection import SelectionService
from ...service.skills import SkillService

__all__ = [
    "RegisteredName",
    "OtherForms",
    "SelectionMethod",
    "RetrieverName",
    "TemplateName",
    "SkillPredictorName",
    "PromptPredictorName",
    "UDRTemplateName",
    "MAX_INT",
    "Seed",
    "NO_BOOL",
    "no_lone_surrogates",
]


@dataclass(frozen=True)
class OtherForms:
    """Names accepted next to the registered ones, described by a pattern (trained UDR models)."""

    accepts: Callable[[str], bool]
    pattern: str
    forms: Sequence[str]
    description: str


class RegisteredName:
    """``Annotated[str, RegisteredName(kind, names)]``: a name that ``names()`` returns at request
    time (or one ``other`` accepts); the JSON schema's ``enum`` is ``names()`` at generation time."""

    def __init__(self, kind: str, names: Callable[[], Sequence[str]], *, other: OtherForms | None = None) -> None:
        self.kind, self.names, self.other = kind, names, other

    def choices(self) -> list[str]:
        """The registered names, then the other forms (for messages)."""
        return [*self.names(), *(self.other.forms if self.other else ())]

    def validate(self, value: str) -> str:
        if value in self.names() or (self.other is not None and self.other.accepts(value)):
            return value
        raise PydanticCustomError(
            "registered_name",
            "unknown {kind} {value}; choose from: {choices}",
            {"kind": self.kind, "value": repr(value), "choices": ", ".join(self.choices())},
        )

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.validate, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        js = dict(handler(schema))
        names = list(self.names())
        if self.other is None:
            js["enum"] = names
            js["description"] = f"A registered {self.kind}: {', '.join(names)}."
            return js
        js.pop("type", None)
        js["anyOf"] = [
            {"type": "string", "enum": names, "title": f"registered {self.kind}"},
            {"type": "string", "pattern": self.other.pattern, "description": self.other.description},
        ]
        js["description"] = f"A registered {self.kind} ({', '.join(names)}), or {self.other.description}."
        return js


def no_lone_surrogates(value: Any) -> Any:
    """Reject text that is not valid Unicode (a lone surrogate such as ``\\ud800``) anywhere in a
    value (a record, a list of queries): it cannot be hashed or stored, so it is a 422 here instead of an error deep down."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("text must be valid Unicode (no lone surrogates)") from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return value


#: The largest integer any path, query or body field accepts (int32: safe for every store and
#: library the value reaches); larger values are a 422, never an overflow deeper down.
MAX_INT = 2**31 - 1


def _not_a_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer, not a boolean")
    return value


#: ``Annotated[int, NO_BOOL]``: an integer field that refuses ``true``/``false`` (pydantic's lax
#: mode reads them as 1/0) but, unlike strict mode, still takes ``100.0`` (an integer in JSON Schema).
NO_BOOL = BeforeValidator(_not_a_bool)

#: A random seed: 0 .. `MAX_INT`.
Seed = Annotated[int, Field(ge=0, le=MAX_INT, description="Random seed (0 .. 2**31-1)."), NO_BOOL]


def _is_trained_retriever(name: str) -> bool:
    if not is_udr_spec(name):
        return False
    try:
        parse_udr_spec(name)
    except InvalidInputError:
        return False
    return True


def _json_pattern(python_pattern: str) -> str:
    """A Python regex as an ECMA-262 one for JSON Schema (named groups unnamed), anchored."""
    return "^" + re.sub(r"\(\?P<\w+>", "(", python_pattern) + "$"


def _predictors_without_lm() -> list[str]:
    """Skill predictors a prompt request can use (it names no LM backend)."""
    return [name for name, cls in PREDICTORS.items() if not cls.needs_lm]


_TRAINED = OtherForms(
    accepts=_is_trained_retriever,
    pattern=_json_pattern(UDR_SPEC_PATTERN),
    forms=UDR_FORMS,
    description=f"a trained UDR model: {', '.join(UDR_FORMS)} (latest model, its latest version, a version)",
)

#: A selection method of `fewshot.annotate.STRATEGIES`.
SelectionMethod = Annotated[str, RegisteredName("selection method", SelectionService.methods)]
#: A retriever of `fewshot.retrieve.RETRIEVERS`, or a trained UDR model (`UDR_FORMS`).
RetrieverName = Annotated[str, RegisteredName("retriever", retriever_names, other=_TRAINED)]
#: A prompt template of `fewshot.prompt.TEMPLATES`.
TemplateName = Annotated[str, RegisteredName("template", TEMPLATES.names)]
#: A skill predictor of `fewshot.adaptive.PREDICTORS`.
SkillPredictorName = Annotated[str, RegisteredName("skill predictor", SkillService.predictor_names)]
#: A skill predictor that needs no LM backend (adaptive prompts name none).
PromptPredictorName = Annotated[str, RegisteredName("skill predictor", _predictors_without_lm)]
#: The LM feedback format of UDR mining: ``default`` or a template of `fewshot.prompt.TEMPLATES`.
UDRTemplateName = Annotated[str, RegisteredName("template", lambda: ["default", *TEMPLATES.names()])]
