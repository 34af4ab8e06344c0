"""Refuse a bad name or choice before anything is written."""

import sys

from zenprovision.authoring import resolve_components, validate_name
from zenprovision.errors import InputError

cloud = {{ cookiecutter._cloud | tojson }}
pairs = [
    "artifact_store={{ cookiecutter._artifact_store }}",
    "orchestrator={{ cookiecutter._orchestrator }}",
    "model_server={{ cookiecutter._model_server }}",
    "container_registry={{ cookiecutter._container_registry }}",
]
try:
    validate_name({{ cookiecutter.recipe_name | tojson }})
    resolve_components(cloud, pairs)
except InputError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(1)
