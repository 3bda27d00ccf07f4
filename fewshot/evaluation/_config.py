"""`EvalConfig`: what one evaluation run measures, loadable from YAML.

Every key is checked when the config is built; a bad key or value raises `InvalidInputError`
naming it. Lists may be given as YAML lists or as comma-separated strings (``"18,100"``), so
command-line options map onto the same keys.

Example YAML::

    datasets: [sst5, trec]
    methods: [random, votek, ideal]
    budgets: [18, 100]
    seeds: [0, 1, 2]
    scorers: [proxy, lm]
    lm: smollm2
    k: 8
    max_tokens: 512
    out: benchmarks/out/eval
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from fewshot.annotate import STRATEGIES, get_strategy
from fewshot.exceptions import InvalidInputError
from fewshot.registry import Registry
from fewshot.retrieve import RETRIEVERS

__all__ = ["EvalConfig", "load_config", "SCORERS"]

#: ``proxy``: the LM-free `knn_vote_proxy`; ``lm``: a real language model.
SCORERS = ("proxy", "lm")

_KEYWORD = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@dataclass(frozen=True)
class EvalConfig:
    """Settings of an evaluation run (the research protocol by default).

    Attributes
    ----------
    datasets : list of (str or mapping)
        Preset names (any key of `fewshot.evaluation.DATASETS`: ``sst5``, ``trec``, ``rte``,
        ``mrpc``, ``gsm8k``, ``math-subject``, ``gsm8k-skill``) or dataset mappings (see
        `get_dataset`) for a user's labeled file.
    methods : list of str
        Selection methods: any name registered in `fewshot.annotate.STRATEGIES` (``random``,
        ``votek``, ``ideal``, ``kmeans``, ``facility``...). Those that need a confidence
        function (``votek2``) need the ``lm`` scorer: the config's LM answers the pool items
        with demonstrations from the selection so far, whose gold labels it sees (the paper's
        protocol; `fewshot.evaluation._confidence`).
    method_params : mapping of method -> mapping
        Extra parameters per method, e.g. ``{votek: {k: 50}}``.
    budgets : list of int
        Annotation budgets B.
    seeds : list of int
        One run per seed: the seed of the pool draw (``resample_pool``) and of the method.
    pool_size, test_size : int
        Items drawn (seeded) from the pool split and the test split (capped at the split size).
    resample_pool : bool
        Draw a new pool per seed (the research code's protocol; without it vote-k, which is
        deterministic, would show no spread over seeds). The test sample is fixed by
        ``data_seed``.
    data_seed : int
        Seed of the test sample (and of the pool when ``resample_pool`` is off).
    k : int
        Demonstrations retrieved per test item.
    retrievers : list of str
        Any name registered in `fewshot.retrieve.RETRIEVERS`: ``dense`` (cosine kNN over the
        annotated items; the protocol), ``bm25``, ``random``, ``mmr``, ``label_balanced``...
    retriever_params : mapping of retriever -> mapping
        Extra constructor parameters per retriever, e.g. ``{mmr: {lambda_: 0.7}}``. The dense
        retriever takes none (it is the run's exact cosine search), and ``seed`` is the run's.
    scorers : list of str
        ``proxy`` and/or ``lm``.
    lm : str
        `fewshot.lm.get_backend` spec for the ``lm`` scorer.
    lm_options : mapping
        Keyword arguments for `get_backend` (``batch_size``, ``device``...).
    max_tokens : int
        Token budget of each LM prompt (demonstrations are packed until it is full).
    max_new_tokens : int
        Generation tasks: tokens to generate per answer.
    limit : int or None
        Score only the first ``limit`` test items (quick runs).
    center : bool
        Subtract the pool mean before cosine similarity in selection (the research default).
    embedding_model : str
        Sentence-transformers model for selection and retrieval (default: the bundled MiniLM).
    data_dir : str or None
        Where the presets' files are (default ``$FEWSHOT_SHARED_DATA`` or ``../shared/data``).
    out : str
        Output folder: results, plots and (by default) the caches that make a rerun resume.
    cache_dir : str or None
        Where the embedding, selection and LM caches live (default ``<out>/cache``); several
        configs can share one.
    """

    datasets: list[Any] = field(default_factory=lambda: ["sst5"])
    methods: list[str] = field(default_factory=lambda: ["random", "votek", "ideal"])
    method_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    budgets: list[int] = field(default_factory=lambda: [18, 100])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    pool_size: int = 3000
    test_size: int = 256
    resample_pool: bool = True
    data_seed: int = 0
    k: int = 8
    retrievers: list[str] = field(default_factory=lambda: ["dense"])
    retriever_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    scorers: list[str] = field(default_factory=lambda: ["proxy"])
    lm: str = "smollm2"
    lm_options: dict[str, Any] = field(default_factory=dict)
    max_tokens: int = 512
    max_new_tokens: int = 192
    limit: int | None = None
    center: bool = True
    embedding_model: str = "all-MiniLM-L6-v2"
    data_dir: str | None = None
    out: str = "eval-out"
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        set_("datasets", _dataset_list(self.datasets))
        scorers = self.scorers
        if isinstance(scorers, str) and scorers.strip() == "both":
            scorers = list(SCORERS)
        set_("scorers", _str_list(scorers, "scorers", allowed=SCORERS))
        set_("methods", _method_list(self.methods, with_lm="lm" in self.scorers))
        set_("budgets", _int_list(self.budgets, "budgets", minimum=1))
        set_("seeds", _int_list(self.seeds, "seeds", minimum=0))
        set_("retrievers", _str_list(self.retrievers, "retrievers", allowed=RETRIEVERS.names()))
        for name in ("pool_size", "test_size", "k", "max_tokens", "max_new_tokens"):
            set_(name, _int(getattr(self, name), name, minimum=1))
        set_("data_seed", _int(self.data_seed, "data_seed", minimum=0))
        if self.limit is not None:
            set_("limit", _int(self.limit, "limit", minimum=1))
        for name in ("resample_pool", "center"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidInputError(f"{name} must be true or false, got {getattr(self, name)!r}")
        for name in ("lm", "embedding_model", "out"):
            value = getattr(self, name)
            if isinstance(value, os.PathLike):
                value = os.fspath(value)
                set_(name, value)
            if not isinstance(value, str) or not value.strip():
                raise InvalidInputError(f"{name} must be a non-empty string, got {value!r}")
        for name in ("data_dir", "cache_dir"):
            if getattr(self, name) is not None:
                set_(name, os.fspath(getattr(self, name)))
        if not isinstance(self.lm_options, Mapping):
            raise InvalidInputError(f"lm_options must be a mapping, got {self.lm_options!r}")
        set_("lm_options", dict(self.lm_options))
        set_("method_params", _params_by_name(self.method_params, "method_params", STRATEGIES, _check_method_params))
        set_(
            "retriever_params",
            _params_by_name(self.retriever_params, "retriever_params", RETRIEVERS, _check_retriever_params),
        )
        if max(self.budgets) > self.pool_size:
            raise InvalidInputError(f"budgets: {max(self.budgets)} exceeds pool_size {self.pool_size}")

    # ------------------------------------------------------------------ building
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvalConfig:
        """Build from a mapping (e.g. parsed YAML); unknown keys are an error naming them.

        ``None`` values are ignored (the default is kept), so command-line options that were
        not given can be passed straight through.
        """
        if not isinstance(data, Mapping):
            raise InvalidInputError(f"an eval config must be a mapping, got {type(data).__name__}")
        names = {f.name for f in fields(cls)}
        aliases = {
            "dataset": "datasets",
            "method": "methods",
            "budget": "budgets",
            "seed": "seeds",
            "scorer": "scorers",
            "retriever": "retrievers",
            "out_dir": "out",
        }
        clean: dict[str, Any] = {}
        unknown = []
        for key, value in data.items():
            name = aliases.get(key, key)
            if name not in names:
                unknown.append(key)
            elif value is not None:
                clean[name] = value
        if unknown:
            raise InvalidInputError(
                f"unknown eval config keys {sorted(map(str, unknown))}; valid keys: {sorted(names)}"
            )
        return cls(**clean)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> EvalConfig:
        """Read a YAML file (a mapping of the attribute names)."""
        return cls.from_dict(_read_yaml(path))

    def replace(self, **changes: Any) -> EvalConfig:
        """A copy with ``changes`` (``None`` values ignored), validated again."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        """A JSON/YAML-friendly dict (what `from_dict` reads back)."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @property
    def out_dir(self) -> Path:
        return Path(self.out)

    @property
    def cache_path(self) -> Path:
        return Path(self.cache_dir) if self.cache_dir is not None else self.out_dir / "cache"


def load_config(path: str | os.PathLike[str] | None = None, **overrides: Any) -> EvalConfig:
    """The config of a YAML file (or the defaults), with ``overrides`` applied on top.

    Overrides whose value is ``None`` are ignored.
    """
    data: dict[str, Any] = _read_yaml(path) if path is not None else {}
    for key, value in overrides.items():
        if value is not None:
            data[key] = value
    return EvalConfig.from_dict(data)


# ------------------------------------------------------------------------------- helpers


def _read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    import yaml

    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"config file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"{p}: not valid YAML ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInputError(f"{p}: the top level must be a mapping of config keys")
    return data


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _split(value: Any, name: str) -> list[Any]:
    if isinstance(value, str):
        items: list[Any] = [v.strip() for v in value.split(",") if v.strip()]
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        items = [value]
    elif isinstance(value, Sequence):
        items = list(value)
    else:
        raise InvalidInputError(f"{name} must be a list, got {value!r}")
    if not items:
        raise InvalidInputError(f"{name} must not be empty")
    return items


def _int(value: Any, name: str, *, minimum: int) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise InvalidInputError(f"{name} must be >= {minimum}, got {value}")
    return value


def _int_list(value: Any, name: str, *, minimum: int) -> list[int]:
    out = [_int(v, f"{name} value", minimum=minimum) for v in _split(value, name)]
    if len(set(out)) != len(out):
        raise InvalidInputError(f"{name} has duplicates: {out}")
    return out


def _str_list(value: Any, name: str, *, allowed: Sequence[str]) -> list[str]:
    out = []
    for v in _split(value, name):
        if v not in allowed:
            raise InvalidInputError(f"{name}: unknown value {v!r}; choose from {', '.join(allowed)}")
        if v not in out:
            out.append(v)
    return out


def _method_list(value: Any, *, with_lm: bool) -> list[str]:
    """Registered selection methods, read now (a method registered after import counts).

    A method that needs a confidence function (``votek2``) is allowed only with the ``lm``
    scorer: its confidence comes from the config's LM (`fewshot.evaluation._confidence`)."""
    need_confidence = [n for n, cls in STRATEGIES.items() if getattr(cls, "needs_confidence", False)]
    if not with_lm:
        for name in _split(value, "methods"):
            if name in need_confidence:
                raise InvalidInputError(
                    f"methods: {name!r} needs a confidence function (model feedback): add the lm scorer "
                    "(scorers: [proxy, lm]), whose model gives it"
                )
    return _str_list(value, "methods", allowed=STRATEGIES.names())


def _dataset_list(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        value = [value]
    items = _split(value, "datasets")
    names = []
    for item in items:
        if isinstance(item, Mapping):
            if "name" not in item:
                raise InvalidInputError("datasets: a dataset given as a mapping needs a 'name'")
            names.append(str(item["name"]))
            item = dict(item)
        elif not isinstance(item, str):
            raise InvalidInputError(f"datasets: expected a preset name or a mapping, got {item!r}")
        else:
            names.append(item)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidInputError(f"datasets: duplicate names {dupes}")
    from fewshot.evaluation._datasets import DATASETS

    for item in items:
        if isinstance(item, str) and item not in DATASETS:
            raise InvalidInputError(
                f"datasets: unknown dataset {item!r}; presets: {', '.join(DATASETS)} (or a mapping with a 'path')"
            )
    return [dict(i) if isinstance(i, Mapping) else i for i in items]


def _params_by_name(
    value: Any, key: str, registry: Registry[Any], check: Callable[[str, Mapping[str, Any]], object]
) -> dict[str, dict[str, Any]]:
    """``{name: {parameter: value}}`` for names registered in ``registry`` (read now);
    ``check(name, params)`` raises `InvalidInputError` naming a parameter the entry does not take."""
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{key} must be a mapping {registry.kind} -> parameters, got {value!r}")
    out = {}
    for name, params in value.items():
        if name not in registry:
            raise InvalidInputError(
                f"{key}: unknown {registry.kind} {name!r}; choose from {', '.join(registry.names())}"
            )
        if not isinstance(params, Mapping):
            raise InvalidInputError(f"{key}.{name} must be a mapping, got {params!r}")
        check(str(name), params)
        out[str(name)] = dict(params)
    return out


def _check_method_params(name: str, params: Mapping[str, Any]) -> None:
    get_strategy(name, **params)  # unknown parameters are reported by name


def _check_retriever_params(name: str, params: Mapping[str, Any]) -> None:
    """Parameters after the corpus (or dense retriever) argument of the class's constructor; the
    dense retriever takes none (it is the run's own exact cosine search), ``seed`` is the run's."""
    from fewshot.retrieve import DenseRetriever

    cls = RETRIEVERS.get(name)
    taken = [] if cls is DenseRetriever else list(inspect.signature(cls).parameters.values())[1:]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in taken):
        return
    accepted = {p.name for p in taken if p.kind in _KEYWORD} - {"seed"}
    unknown = sorted(set(map(str, params)) - accepted)
    if unknown:
        raise InvalidInputError(
            f"retriever_params.{name}: {cls.__name__} does not take {unknown} "
            f"here; it takes {sorted(accepted) or 'nothing'}"
        )
