"""The selection-method registry (`STRATEGIES`) and `get_strategy`, with nothing registered here:
`fewshot.annotate._registry` registers the built-in methods. Methods that run other methods by name
(stratified, auto, partitioned) import this module, so no method module imports the registrations."""

from __future__ import annotations

from typing import Any

from fewshot.annotate._base import SelectionStrategy
from fewshot.exceptions import InvalidInputError
from fewshot.registry import Registry

__all__ = ["STRATEGIES", "get_strategy"]

#: Registered selection methods by name. ``STRATEGIES.register("name", cls)`` with a
#: `SelectionStrategy` subclass makes a method usable by `select`, the service, the CLI and the API.
STRATEGIES: Registry[type[SelectionStrategy]] = Registry("selection method")


def get_strategy(name: str, **params: Any) -> SelectionStrategy:
    """The strategy registered as ``name``, configured with ``params``.

    Raises
    ------
    InvalidInputError
        Unknown name, or a parameter the method does not take.

    Examples
    --------
    >>> get_strategy("votek", k=50)
    VoteK(center=True, k=50, rho=10, exact=None, n_threads=None)
    """
    cls = STRATEGIES.get(name)
    try:
        return cls(**params)
    except TypeError as exc:
        raise InvalidInputError(f"method {name!r}: {exc}") from None
