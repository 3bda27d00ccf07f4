"""``python -m fewshot.cli``."""

from fewshot.cli import main

main()
