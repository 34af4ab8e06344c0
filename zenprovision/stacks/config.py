"""The stack config model: what a deployed recipe hands to the pipeline runtime."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from zenprovision.stacks.names import validate_stack_name
from zenprovision.stacks.secrets import assert_no_plaintext_secret

API_VERSION = "zenprovision/v1"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Component(_Frozen):
    """One stack component: a flavor (which implementation) and its config."""

    flavor: str = Field(min_length=1)
    config: dict[str, Any] = Field(default_factory=dict)


class Components(_Frozen):
    artifact_store: Component
    orchestrator: Component
    model_server: Component
    container_registry: Component | None = None


class Labels(_Frozen):
    env: str = "dev"
    owner: str = ""
    ttl: str | None = None  # e.g. 3d; teardown --expired removes the stack after created_at + ttl


class StackConfig(_Frozen):
    """A deployed stack, as written to ``$ZENPROVISION_HOME/stacks/<name>.yaml``."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    api_version: Literal["zenprovision/v1"] = Field(default=API_VERSION, alias="apiVersion")
    name: str
    recipe: str
    engine: Literal["embedded", "pulumi"]
    created_at: datetime
    labels: Labels = Field(default_factory=Labels)
    components: Components

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        validate_stack_name(value)
        return value

    @field_validator("components")
    @classmethod
    def _no_secrets(cls, value: Components) -> Components:
        assert_no_plaintext_secret(value.model_dump(exclude_none=True), "components")
        return value

    def to_document(self) -> dict[str, Any]:
        """The config as plain data, with the YAML field names."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
