"""fewshot: choose which examples to label, and which labeled examples go into each prompt.

>>> from fewshot import Workspace          # the service layer (store, selection, retrieval)
>>> from fewshot.annotate import select     # selection on a bare matrix
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Workspace", "Settings", "__version__"]

if TYPE_CHECKING:
    from .config import Settings
    from .service.workspace import Workspace


def __getattr__(name: str) -> Any:
    # Lazy, so that `import fewshot.annotate` does not pull in the store, FastAPI or torch.
    if name == "Workspace":
        from .service.workspace import Workspace

        return Workspace
    if name == "Settings":
        from .config import Settings

        return Settings
    raise AttributeError(f"module 'fewshot' has no attribute {name!r}")
