"""``provision new``: a recipe folder from the cookiecutter template shipped in the package.

Names and component choices are checked here, before cookiecutter writes anything, and again
by the template's own pre-generation hook (for people who run cookiecutter directly).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from zenprovision import home
from zenprovision.atomic import atomic_write_text
from zenprovision.errors import InputError

TEMPLATE = Path(__file__).parent / "templates" / "recipe"
CLOUDS = ("aws", "gcp", "local")
_NAME = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")

# kind -> allowed flavors per cloud; the first is the default.
CHOICES: dict[str, dict[str, tuple[str, ...]]] = {
    "aws": {"artifact_store": ("s3",), "orchestrator": ("kubernetes",), "model_server": ("kserve",),
            "container_registry": ("ecr", "none")},
    "gcp": {"artifact_store": ("gcs",), "orchestrator": ("kubernetes",), "model_server": ("kserve",),
            "container_registry": ("gar", "none")},
    "local": {"artifact_store": ("local",), "orchestrator": ("local",), "model_server": ("mlserver",),
              "container_registry": ("none",)},
}


def validate_name(name: str) -> str:
    if not _NAME.match(name or "") or "--" in name:
        raise InputError(f"invalid recipe name {name!r}",
                         hint="use 3-40 lowercase letters, digits and single dashes, starting with a letter")
    return name


def resolve_components(cloud: str, pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """The flavor of every component kind, defaults filled in; unknown choices are refused."""
    if cloud not in CLOUDS:
        raise InputError(f"unknown cloud {cloud!r}", hint=f"choose one of {', '.join(CLOUDS)}")
    chosen = {kind: flavors[0] for kind, flavors in CHOICES[cloud].items()}
    for pair in pairs:
        kind, sep, flavor = pair.partition("=")
        allowed = CHOICES[cloud].get(kind)
        if not sep or allowed is None:
            raise InputError(f"--component {pair!r} is not KIND=FLAVOR with a known kind",
                             hint=f"kinds: {', '.join(CHOICES[cloud])}")
        if flavor not in allowed:
            raise InputError(f"{kind} flavor {flavor!r} is not available for cloud {cloud}",
                             hint=f"choose one of {', '.join(allowed)}")
        chosen[kind] = flavor
    return chosen


def _cookiecutter_config() -> str:
    """Keep cookiecutter's replay and cache folders under the home, not in ~."""
    folder = home.home() / "cookiecutter"
    path = folder / "config.yaml"
    settings = {"cookiecutters_dir": str(folder / "templates"), "replay_dir": str(folder / "replay")}
    atomic_write_text(path, yaml.safe_dump(settings))
    return str(path)


def generate(name: str, cloud: str, components: tuple[str, ...], output_dir: Path, no_input: bool,
             force: bool) -> Path:
    validate_name(name)
    chosen = resolve_components(cloud, components)
    target = Path(output_dir) / name
    if target.exists() and not force:
        raise InputError(f"{target} already exists", hint="choose another name or --output-dir, or pass --force")
    from cookiecutter.exceptions import CookiecutterException, FailedHookException
    from cookiecutter.main import cookiecutter

    context = {"recipe_name": name, "_cloud": cloud, **{f"_{kind}": flavor for kind, flavor in chosen.items()}}
    try:
        created = cookiecutter(str(TEMPLATE), no_input=no_input, extra_context=context, output_dir=str(output_dir),
                               overwrite_if_exists=force, config_file=_cookiecutter_config())
    except FailedHookException as exc:
        raise InputError(f"the recipe template refused the input: {exc}") from exc
    except CookiecutterException as exc:
        raise InputError(f"generating recipe {name!r} failed: {exc}") from exc
    return Path(created)
