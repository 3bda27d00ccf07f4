"""`Registry`: named implementations of one family (selection methods, retrievers, LM backends,
skill predictors, prompt templates, job kinds).

Every surface reads names from the registry of its family: library factories, API validation and
OpenAPI enums, CLI help and validation, evaluation configs and the contract tests. Registering a
new implementation (from any module, even a test) makes it usable everywhere at once.

>>> from fewshot.registry import Registry
>>> shapes = Registry[type]("shape")
>>> @shapes.register("square")
... class Square:
...     def __init__(self, side=1):
...         self.side = side
>>> shapes.names()
['square']
>>> shapes.create("square", side=2).side
2
>>> shapes.get("sqare")
Traceback (most recent call last):
...
fewshot.exceptions.InvalidInputError: unknown shape 'sqare' (did you mean 'square'?); choose from: square
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar, overload

from fewshot.exceptions import ConflictError, InvalidInputError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """A thread-safe mapping of names to implementations of one family.

    Parameters
    ----------
    kind : str
        What the entries are, for error messages ("retriever", "selection method", ...).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._lock = threading.Lock()

    @overload
    def register(self, name: str) -> Callable[[T], T]: ...

    @overload
    def register(self, name: str, obj: T, *, replace: bool = ...) -> T: ...

    def register(self, name: str, obj: Any = None, *, replace: bool = False) -> Any:
        """Register ``obj`` as ``name`` (or use as a decorator: ``@registry.register("name")``).

        A name already taken raises `ConflictError` unless ``replace=True``.
        """
        if not isinstance(name, str) or not name or name != name.strip():
            raise InvalidInputError(
                f"{self.kind} name must be a non-empty string without surrounding spaces, got {name!r}"
            )

        def add(value: T) -> T:
            with self._lock:
                if name in self._entries and not replace and self._entries[name] is not value:
                    raise ConflictError(f"{self.kind} {name!r} is already registered")
                self._entries[name] = value
            return value

        return add if obj is None else add(obj)

    def unregister(self, name: str) -> None:
        """Remove ``name`` (no error when absent)."""
        with self._lock:
            self._entries.pop(name, None)

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        with self._lock:
            return list(self._entries)

    def get(self, name: str) -> T:
        """The entry registered as ``name``; `InvalidInputError` naming the choices otherwise."""
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise self.unknown(name) from None

    def create(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the entry registered as ``name`` (a class or factory) with the arguments."""
        factory: Any = self.get(name)
        return factory(*args, **kwargs)

    def unknown(self, name: object) -> InvalidInputError:
        """The error for a name that is not registered, with the closest names as hints."""
        names = self.names()
        close = difflib.get_close_matches(str(name), names, n=1) if isinstance(name, str) else []
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return InvalidInputError(f"unknown {self.kind} {name!r}{hint}; choose from: {', '.join(names)}")

    def items(self) -> list[tuple[str, T]]:
        with self._lock:
            return list(self._entries.items())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
