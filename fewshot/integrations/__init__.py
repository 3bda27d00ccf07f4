"""Adapters for other frameworks (optional: none of them is a dependency of fewshot)."""
