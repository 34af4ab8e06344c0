"""The passphrase that encrypts a stack's secrets, from the user or generated once and kept 0600.

The workspace gets the passphrase *file's path* (PULUMI_CONFIG_PASSPHRASE_FILE), never the
passphrase itself, so it cannot leak through a repr of the workspace, a log or an error.
A backend shared with a team (``s3://``, ``gs://``, ...) never gets a generated one: the
teammates would not have it, and could neither read the stack's secrets nor destroy it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path

from zenprovision import home
from zenprovision.engines.pulumi_cli import backend as backends
from zenprovision.engines.pulumi_cli import paths
from zenprovision.errors import InputError

PASSPHRASE_ENV = "PULUMI_CONFIG_PASSPHRASE"
PASSPHRASE_FILE_ENV = "PULUMI_CONFIG_PASSPHRASE_FILE"


def passphrase_env(environ: Mapping[str, str] | None = None, shared: bool = False) -> dict[str, str]:
    """Extra workspace env for the passphrase provider; empty when the user set their own."""
    environ = os.environ if environ is None else environ
    if user_passphrase(environ):
        return {}  # the CLI inherits the user's environment
    if shared:
        raise shared_needs_passphrase()
    return {PASSPHRASE_FILE_ENV: str(ensure_passphrase_file(paths.passphrase_file()))}


def user_passphrase(environ: Mapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    return PASSPHRASE_ENV in environ or PASSPHRASE_FILE_ENV in environ


def require_for_shared(backend_url: str) -> None:
    """Refuse a shared backend without the team's passphrase, before anything runs."""
    if backends.is_shared(backend_url) and not user_passphrase():
        raise shared_needs_passphrase(backend_url)


def shared_needs_passphrase(backend_url: str = "a shared backend") -> InputError:
    generated = paths.passphrase_file()
    keep = (f"; to keep this machine's generated one, export {PASSPHRASE_FILE_ENV}={generated} and share it"
            if generated.is_file() else "")
    return InputError(f"the Pulumi backend {backend_url} is shared: its secrets need the team's passphrase, "
                      "not one generated on this machine",
                      hint=f"set {PASSPHRASE_ENV} or {PASSPHRASE_FILE_ENV} to the passphrase the whole team uses{keep}")


def ensure_passphrase_file(path: Path) -> Path:
    """Create the passphrase file once; it is 0600 from its first byte and never rewritten."""
    if path.exists():
        _tighten(path)
        return path
    home.private_dir(path.parent)  # the home and its folders 0700 whatever the umask, not just the last one
    fd, tmp = tempfile.mkstemp(prefix=".passphrase.", dir=path.parent)  # mkstemp creates 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(32))
            handle.flush()
            os.fsync(handle.fileno())
        _publish(Path(tmp), path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def _publish(tmp: Path, path: Path) -> None:
    """Hard-link the finished file into place: a racing process keeps the first one written."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        return
    except OSError:  # a file system without hard links: exclusive create, still never clobbering
        with contextlib.suppress(FileExistsError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(tmp.read_text(encoding="utf-8"))


def _tighten(path: Path) -> None:
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
