"""Stack configs: the validated, versioned contract between provisioning and running."""

from zenprovision.stacks.config import API_VERSION, Component, Labels, StackConfig
from zenprovision.stacks.names import validate_stack_name

__all__ = ["API_VERSION", "Component", "Labels", "StackConfig", "validate_stack_name"]
