"""Model servers: where ``deploy_model`` puts models and clients query them."""

from __future__ import annotations

from typing import Any


def for_stack(doc: dict[str, Any]) -> Any:
    """The model server of a stack config document, told which stack it serves so its errors can
    name the commands to run (``provision refresh dev``), not a placeholder."""
    from zenprovision.runtime import flavors
    from zenprovision.runtime.model_servers.base import BaseModelServer

    component = doc["components"]["model_server"]
    server = flavors.build("model_server", component["flavor"], component.get("config", {}))
    if isinstance(server, BaseModelServer):  # a plug-in's own class may have no room for them
        server.stack, server.recipe = str(doc.get("name") or ""), str(doc.get("recipe") or "")
    return server
