"""``python -m fewshot``: the command line (`fewshot.cli`)."""

from fewshot.cli import main

if __name__ == "__main__":
    main()
