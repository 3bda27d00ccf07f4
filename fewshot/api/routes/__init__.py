"""The API's routes, one module per resource; each route parses its input, makes one service
call and returns its response model. `PROTECTED` need an API key (health and readiness do not)."""

from . import examples, health, jobs, pools, prompts, retrieval, selections, skills, templates, udr

__all__ = ["PROTECTED", "health"]

#: Routers mounted under /v1 behind the API key check, in the order the OpenAPI document lists them.
PROTECTED = (pools, templates, examples, selections, jobs, retrieval, prompts, skills, udr)
