"""The service layer: every operation the CLI, the REST API and library users perform.

`Workspace` (``fewshot.service.workspace``) is the composition root; each module holds one
concern's sub-service, built on a `ServiceContext` (settings, unit of work, model caches):
``pools`` (+ ``ingest``), ``vectors``, ``selection``, ``labels``, ``indexes``, ``models``,
``retrieval``, ``skills``, ``prompts``, ``udr``, ``keys``, ``jobs``. Services call the domain
packages for algorithms and ``fewshot.store`` repositories for persistence; they never write SQL.
"""

from fewshot.service.context import ServiceContext
from fewshot.service.workspace import Workspace

__all__ = ["ServiceContext", "Workspace"]
