"""Optional parts of zenprovision and the pip extras that install them.

The core installs what provisioning needs; model serving, Dask, Kubernetes and the cloud
SDKs are extras. Code that needs one calls :func:`require` before it creates anything, and
an ``ImportError`` that escapes anyway is turned into the same one-line error by
:func:`missing_extra`, so a user never sees a traceback for a package they did not install.
"""

from __future__ import annotations

import importlib.util

from zenprovision.errors import MissingExtraError

# extra -> the top-level modules it installs that zenprovision imports
EXTRAS: dict[str, tuple[str, ...]] = {
    "local": ("mlserver", "mlserver_sklearn", "sklearn"),
    "dask": ("dask", "distributed"),
    "kubernetes": ("kubernetes",),
    "aws": ("pulumi_aws", "pulumi_kubernetes", "boto3", "botocore", "s3fs"),
    "gcp": ("pulumi_gcp", "pulumi_kubernetes", "gcsfs"),
    "policy": ("pulumi_policy",),
}

# module -> the extra to name when it is missing (the first extra that lists it)
_EXTRA_OF_MODULE: dict[str, str] = {}
for _extra, _modules in EXTRAS.items():
    for _module in _modules:
        _EXTRA_OF_MODULE.setdefault(_module, _extra)


def install_hint(extra: str) -> str:
    return f"pip install 'zenprovision[{extra}]', or in a clone: uv sync --extra {extra}"


def require(extra: str, needed_for: str, modules: tuple[str, ...] | None = None) -> None:
    """Raise a one-line ``MissingExtraError`` unless ``modules`` (default: all of ``extra``'s) import."""
    missing = [module for module in modules or EXTRAS[extra] if importlib.util.find_spec(module) is None]
    if missing:
        raise MissingExtraError(
            f"{needed_for} needs the {extra!r} extra, which is not installed (missing: {', '.join(missing)})",
            hint=install_hint(extra),
        )


def extra_for_module(module_name: str | None) -> str | None:
    """The extra that installs ``module_name`` (``"pulumi_aws.eks"`` -> ``"aws"``), if any."""
    if not module_name:
        return None
    return _EXTRA_OF_MODULE.get(module_name.partition(".")[0])


def missing_extra(exc: BaseException, needed_for: str = "this command") -> MissingExtraError | None:
    """The ``MissingExtraError`` an ``ImportError`` of an optional package stands for, else None."""
    if not isinstance(exc, ImportError):
        return None
    extra = extra_for_module(getattr(exc, "name", None))
    if extra is None:
        return None
    return MissingExtraError(
        f"{needed_for} needs the {extra!r} extra, which is not installed (missing: {exc.name})",
        hint=install_hint(extra),
    )
