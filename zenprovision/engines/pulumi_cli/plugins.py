"""The provider plugins a recipe needs, at the versions of the pip SDKs that its program imports.

A recipe lists them in ``recipe.yaml`` as ``plugins: [aws, eks, kubernetes]``. Installing
them before the first preview means a version mismatch between SDK and plugin cannot happen,
and a missing network shows up as one clear error instead of mid-deployment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from zenprovision import yaml_loading
from zenprovision.errors import OperationFailed, RecipeError


@dataclass(frozen=True)
class PluginSpec:
    name: str
    version: str
    server: str | None = None


def declared(recipe_path: Path) -> list[str]:
    """The ``plugins:`` list of a recipe's ``recipe.yaml`` (empty when absent)."""
    path = recipe_path / "recipe.yaml"
    try:
        data = yaml_loading.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RecipeError(f"{path} cannot be read: {exc}") from exc
    plugins = data.get("plugins") if isinstance(data, dict) else None
    if plugins is None:
        return []
    if not isinstance(plugins, list) or not all(isinstance(p, str) and p for p in plugins):
        raise RecipeError(f"{path}: `plugins` must be a list of plugin names, e.g. [aws, kubernetes]")
    return plugins


def wanted(names: list[str]) -> list[PluginSpec]:
    """A spec for each declared plugin whose ``pulumi-<name>`` SDK is installed; others are skipped."""
    specs = []
    for name in names:
        try:
            dist = metadata.distribution(f"pulumi-{name}")
        except metadata.PackageNotFoundError:
            continue
        specs.append(_spec_from(dist, name))
    return specs


def _spec_from(dist: metadata.Distribution, name: str) -> PluginSpec:
    """Prefer the SDK's own ``pulumi-plugin.json`` (exact plugin version and download server)."""
    for file in dist.files or ():
        if file.name == "pulumi-plugin.json":
            try:
                info: dict[str, Any] = json.loads(Path(dist.locate_file(file)).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                break
            if info.get("version"):
                return PluginSpec(str(info.get("name") or name), str(info["version"]).lstrip("v"),
                                  info.get("server") or None)
    return PluginSpec(name, dist.version)


def ensure(workspace: Any, specs: list[PluginSpec]) -> list[PluginSpec]:
    """Install the plugins that are not installed yet; returns the ones it installed."""
    if not specs:
        return []
    have = {(p.name, (p.version or "").lstrip("v")) for p in workspace.list_plugins() if p.kind == "resource"}
    missing = [spec for spec in specs if (spec.name, spec.version) not in have]
    for spec in missing:
        _install(workspace, spec)
    return missing


def _install(workspace: Any, spec: PluginSpec) -> None:
    from pulumi import automation as auto

    version = f"v{spec.version}"
    try:
        if spec.server:
            workspace.install_plugin_from_server(spec.name, version, spec.server)
        else:
            workspace.install_plugin(spec.name, version)
    except auto.CommandError as exc:
        raise OperationFailed(
            f"could not install the pulumi plugin {spec.name} {version}",
            hint=f"check the network, or install it by hand: `pulumi plugin install resource {spec.name} {version}`",
        ) from exc
