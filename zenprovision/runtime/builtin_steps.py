"""Steps zenprovision ships: ``deploy_model`` puts a model onto the stack's model server."""

from __future__ import annotations

from typing import Any

from zenprovision.runtime.context import get_step_context
from zenprovision.runtime.steps import step


@step(cache=False)
def deploy_model(model: Any, name: str) -> dict:
    """Load ``model`` (already stored as an artifact) into the model server as ``name``."""
    context = get_step_context()
    deployed = context.model_server.deploy(model, name)
    context.log_metadata(model=name, endpoint=deployed["infer_url"])
    return deployed
