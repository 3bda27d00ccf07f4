"""Every registered prompt template (`fewshot.prompt.TEMPLATES`) keeps the template contract
(``checks.TEMPLATE_CHECKS``) on its sample item from ``TEMPLATE_SAMPLES`` (conftest)."""

from __future__ import annotations

import pytest
from checks import TEMPLATE_CHECKS, check_template_samples_cover

from fewshot.prompt import TEMPLATES

NAMES = TEMPLATES.names()  # at collection time


def test_every_template_has_a_sample(template_samples):
    check_template_samples_cover(TEMPLATES.names(), template_samples)


@pytest.mark.parametrize("check", TEMPLATE_CHECKS, ids=lambda f: f.__name__.removeprefix("check_template_"))
@pytest.mark.parametrize("name", NAMES)
def test_template_contract(name, check, template_samples):
    if name not in template_samples:
        pytest.fail(
            f"template {name!r} has no sample item: add one to TEMPLATE_SAMPLES in tests/contracts/conftest.py",
            pytrace=False,
        )
    check(name, template_samples[name])
