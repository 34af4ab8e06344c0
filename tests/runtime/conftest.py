"""Stacks for runtime tests, written by hand so most tests need no model server."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from zenprovision.stacks import store
from zenprovision.stacks.config import StackConfig


def make_stack(name: str, artifact_store: dict, workers: int = 2, model_server: dict | None = None) -> StackConfig:
    config = StackConfig(
        name=name, recipe="hand-made", engine="embedded", created_at=datetime.now(timezone.utc),
        components={
            "artifact_store": artifact_store,
            "orchestrator": {"flavor": "local", "config": {"workers": workers}},
            "model_server": model_server or {"flavor": "mlserver", "config": {"endpoint": "http://127.0.0.1:9"}},
        },
    )
    store.save(config)
    return config


@pytest.fixture
def local_stack(home) -> str:
    make_stack("rt", {"flavor": "local", "config": {"path": (home / "artifacts").as_uri()}})
    return "rt"


PIPELINES = Path(__file__).parent / "pipelines"
