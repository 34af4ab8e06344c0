"""``provision new``: a recipe folder from the cookiecutter template shipped in the package.

Names and component choices are checked here, before cookiecutter writes anything, and again
by the template's own pre-generation hook (for people who run cookiecutter directly). The
questions are asked here too, not by cookiecutter: the name given on the command line is never
asked again, a question about another cloud is never asked, and nothing is on disk while the
user is still answering.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path

import yaml

from zenprovision import home
from zenprovision.atomic import atomic_write_text, is_stale_temp, temp_name
from zenprovision.errors import InputError

Ask = Callable[[str, str], str]
"""Asks the user one question (its text, its default) and returns the answer."""

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


def _questions(cloud: str) -> list[tuple[str, str, str]]:
    """The template's questions for ``cloud``, as (key, text, default).

    Not the name (given on the command line), nor a question for another cloud: a key named
    ``<cloud>_...`` (``gcp_project``) is asked only when that cloud is chosen.
    """
    spec = _template_spec()
    texts = spec.get("__prompts__", {})
    others = tuple(f"{other}_" for other in CLOUDS if other != cloud)
    return [(key, texts.get(key, key), str(default)) for key, default in spec.items()
            if not key.startswith("_") and key != "recipe_name" and not key.startswith(others)]


def _template_spec() -> dict:
    return json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))


def _answers(cloud: str, ask: Ask | None) -> dict[str, str]:
    """Every public template key: answered, defaulted (no ``ask``), or empty for another cloud.

    cookiecutter renders extra_context values as Jinja: an answer goes in as a Jinja string
    literal, so ``{{ x }}`` in a description stays text.
    """
    answers = {key: "" for key in _template_spec() if not key.startswith("_") and key != "recipe_name"}
    for key, text, default in _questions(cloud):
        answers[key] = ask(text, default) if ask else default
    return {key: "{{ " + json.dumps(value, ensure_ascii=False) + " }}" for key, value in answers.items()}


def _cookiecutter_config() -> str:
    """Keep cookiecutter's replay and cache folders under the home, not in ~: made here, 0700
    whatever the umask, as cookiecutter would make them with the umask's mode."""
    folder = home.home() / "cookiecutter"
    path = folder / "config.yaml"
    settings = {"cookiecutters_dir": str(home.private_dir(folder / "templates")),
                "replay_dir": str(home.private_dir(folder / "replay"))}
    atomic_write_text(path, yaml.safe_dump(settings))
    return str(path)


def _tighten_replay() -> None:
    """cookiecutter writes its replay file (the answers given) with the umask's mode: make it 0600."""
    for path in (home.home() / "cookiecutter" / "replay").glob("*.json"):
        if not path.is_symlink():
            os.chmod(path, 0o600)


def generate(name: str, cloud: str, components: tuple[str, ...], output_dir: Path, *, force: bool = False,
             ask: Ask | None = None) -> Path:
    """Ask the template's questions (none without ``ask``), then render it in a hidden folder
    beside the target and move it into place.

    Bad input is refused before the first question; a Ctrl-C, a failed hook or a refused answer
    leaves neither a half-written recipe folder (which the next ``provision new`` would refuse
    as existing) nor a folder this call made; with ``--force`` the template's files replace their
    namesakes one by one and the user's other files stay.
    """
    import shutil

    validate_name(name)
    chosen = resolve_components(cloud, components)
    output_dir = Path(output_dir)
    target = output_dir / name
    if target.exists() and not target.is_dir():
        raise InputError(f"{target} is a file", hint="choose another name or --output-dir")
    if target.exists() and not force:
        raise InputError(f"{target} already exists", hint="choose another name or --output-dir, or pass --force")
    answers = _answers(cloud, ask)
    made = _missing_folders(output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        staging = _staging_folder(output_dir, name)
    except OSError as exc:
        _remove_empty(made)
        raise InputError(f"cannot write a recipe into {output_dir}: {exc.strerror or exc}",
                         hint="choose a folder you can write with --output-dir") from None
    context = {**answers, "recipe_name": name, "_cloud": cloud, "_recipes_dir": str(output_dir.resolve()),
               **{f"_{kind}": flavor for kind, flavor in chosen.items()}}
    try:
        created = _render(name, context, staging)
        return _move_into_place(created, output_dir / created.name, force)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_empty(made)  # none is empty once the recipe is in place
        _tighten_replay()


def _render(name: str, context: dict[str, str], staging: Path) -> Path:
    """cookiecutter, without prompts; its failures become one-line errors, without its traceback."""
    from cookiecutter.exceptions import (
        CookiecutterException,
        FailedHookException,
        OutputDirExistsException,
        UndefinedVariableInTemplate,
    )
    from cookiecutter.main import cookiecutter
    from jinja2 import TemplateError

    quiet = logging.getLogger("cookiecutter")  # it logs a hook's failure with a traceback
    if not any(isinstance(h, logging.NullHandler) for h in quiet.handlers):
        quiet.addHandler(logging.NullHandler())
    try:
        return Path(cookiecutter(str(TEMPLATE), no_input=True, extra_context=context, output_dir=str(staging),
                                 config_file=_cookiecutter_config()))
    except FailedHookException as exc:
        raise InputError(f"the recipe template's hook refused recipe {name!r} ({exc})",
                         hint="the hook printed why above; nothing was written") from exc
    except OutputDirExistsException as exc:
        raise InputError(f"generating recipe {name!r} failed: {exc}", hint="run provision new again") from exc
    except (CookiecutterException, TemplateError) as exc:
        # an undefined variable's str() holds the whole context: name the error only
        detail = f"{exc.message}: {exc.error.message}" if isinstance(exc, UndefinedVariableInTemplate) else exc
        raise InputError(f"the recipe template could not be rendered: {detail}",
                         hint="reinstall zenprovision; run with --verbose for the traceback") from exc
    except OSError as exc:
        raise InputError(f"cannot write recipe {name!r} into {staging.parent}: {exc.strerror or exc}",
                         hint="choose a folder you can write with --output-dir") from exc


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and those of its parents that do not exist yet, deepest first."""
    missing = []
    for path in (folder, *folder.parents):
        if path.exists():
            break
        missing.append(path)
    return missing


def _remove_empty(folders: list[Path]) -> None:
    """Take back folders this call made, deepest first, while they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


_STAGING = re.compile(r"^\.[a-z][a-z0-9-]*\.new\.tmp-")


def _staging_folder(output_dir: Path, name: str) -> Path:
    """A new hidden ``.NAME.new.tmp-<machine>-<pid>-<random>`` folder (0700) in ``output_dir``.

    Named as the home's temp files are (``atomic.temp_name``): one that a ``provision new``
    killed while rendering left is removed here, by the next one, but only if its process
    is gone: another ``provision new`` running in the same folder keeps its own.
    """
    import shutil

    with os.scandir(output_dir) as entries:
        stale = [e.path for e in entries if _STAGING.match(e.name) and is_stale_temp(e.name)
                 and e.is_dir(follow_symlinks=False)]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    staging = output_dir / temp_name(f".{name}.new")
    staging.mkdir(mode=0o700)
    return staging


def _move_into_place(created: Path, target: Path, force: bool) -> Path:
    if not target.exists():
        try:
            os.rename(created, target)  # one step: the folder appears whole
            return target
        except OSError:  # made meanwhile by someone else: only --force may write into it
            if not force:
                raise InputError(f"{target} already exists",
                                 hint="choose another name or --output-dir, or pass --force") from None
    if not force:
        raise InputError(f"{target} already exists", hint="choose another name or --output-dir, or pass --force")
    for source in sorted(p for p in created.rglob("*") if p.is_file()):
        destination = target / source.relative_to(created)
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, destination)
    return target
