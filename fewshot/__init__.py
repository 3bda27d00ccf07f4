"""fewshot: choose which examples to label, and which labeled examples go into each prompt."""

from __future__ import annotations

__version__ = "0.1.0"
