"""fewshot.prompt: turn a query and retrieved demonstrations into a prompt.

* `PromptTemplate` (``str.format``-style fields, no code execution; see `_template`) and
  the presets `get_template` knows: ``classification``, ``multiple_choice``,
  ``generation``, ``math``.
* Templates as data (`_pool_template`): `default_template` (derived from a pool's fields and
  labels), `parse_template` (name, object, JSON/YAML file), `template_from_dict`/`template_to_dict`,
  `check_template_fields`.
* `TokenCounter` implementations: `HFTokenCounter`, `TiktokenCounter` (optional),
  `ApproxTokenCounter`; `get_token_counter(spec)`.
* `PromptBuilder` packs demonstrations under a token budget into a `BuiltPrompt`
  (text + chat messages + provenance); `PromptRecord` is its storable provenance.
"""

from __future__ import annotations

from fewshot.prompt._answers import answers_match, extract_answer, normalize_answer
from fewshot.prompt._builder import ORDERS, BuiltPrompt, PromptBuilder, PromptDemo, query_hash
from fewshot.prompt._pool_template import (
    DEFAULT_TEMPLATE_NAME,
    TEMPLATE_KEYS,
    check_template_fields,
    default_template,
    parse_template,
    template_from_dict,
    template_to_dict,
)
from fewshot.prompt._presets import PRESETS, TEMPLATES, get_template, letter_label, lettered_choices
from fewshot.prompt._record import PromptRecord
from fewshot.prompt._template import PromptTemplate
from fewshot.prompt._tokens import (
    TOKENIZER_SPECS,
    ApproxTokenCounter,
    HFTokenCounter,
    TiktokenCounter,
    TokenCounter,
    get_token_counter,
)

__all__ = [
    "DEFAULT_TEMPLATE_NAME",
    "TEMPLATE_KEYS",
    "check_template_fields",
    "default_template",
    "parse_template",
    "template_from_dict",
    "template_to_dict",
    "TOKENIZER_SPECS",
    "ApproxTokenCounter",
    "BuiltPrompt",
    "HFTokenCounter",
    "ORDERS",
    "PRESETS",
    "answers_match",
    "extract_answer",
    "normalize_answer",
    "TEMPLATES",
    "PromptBuilder",
    "PromptDemo",
    "PromptRecord",
    "PromptTemplate",
    "TiktokenCounter",
    "TokenCounter",
    "get_template",
    "get_token_counter",
    "letter_label",
    "lettered_choices",
    "query_hash",
]
