"""``provision kubeconfig STACK``: the kubeconfig of a stack's Kubernetes cluster.

It is a secret stack output and never part of the stack config; this command fetches it
from the engine's state, prints it or writes it to a file only its owner can read. It
holds no static credential: the AWS CLI or gke-gcloud-auth-plugin issue short-lived tokens.
"""

from __future__ import annotations

from pathlib import Path

import click

REFERENCE_PREFIX = "pulumi:"


def cluster_output(stack: str) -> tuple[str, str]:
    """(engine, output name) of the stack's kubeconfig; an InputError for a stack without a cluster."""
    from zenprovision.errors import InputError, NotFoundError
    from zenprovision.stacks import store

    if not store.exists(stack):
        raise NotFoundError(f"no stack named {stack!r}", hint="see `provision stacks`")
    config = store.load(stack)
    orchestrator = config.components.orchestrator
    reference = str((orchestrator.config if orchestrator else {}).get("kubeconfig") or "")
    if not reference.startswith(REFERENCE_PREFIX):
        raise InputError(f"stack {stack!r} has no Kubernetes cluster",
                         hint="stacks of the aws-k8s and gcp-k8s recipes have one; see `provision stacks`")
    return config.engine, reference.removeprefix(REFERENCE_PREFIX) or "kubeconfig"


def fetch_kubeconfig(stack: str) -> str:
    from zenprovision.engines import get_engine
    from zenprovision.errors import NotFoundError

    engine_name, output = cluster_output(stack)
    engine = get_engine(engine_name)
    value = engine.secret_output(stack, output) if hasattr(engine, "secret_output") else None
    if not value:
        raise NotFoundError(f"stack {stack!r} has no output {output!r} in its {engine_name} state",
                            hint=f"redeploy it: provision recipe RECIPE --stack {stack}")
    return str(value)


@click.command("kubeconfig")
@click.argument("stack")
@click.option("-o", "--output", "path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write it to this file (mode 0600) instead of printing it.")
def kubeconfig_command(stack: str, path: Path | None) -> None:
    """Print or write the kubeconfig of a stack's Kubernetes cluster (tokens are short-lived)."""
    from zenprovision.atomic import atomic_write_text
    from zenprovision.stacks import kubeconfigs

    text = fetch_kubeconfig(stack)
    if path is None:
        click.echo(text)
        return
    target = path.expanduser()
    atomic_write_text(target, text.rstrip("\n") + "\n", mode=0o600)
    kubeconfigs.remember(stack, target)  # so `provision output STACK --format env` sets KUBECONFIG
    click.echo(f"Wrote {target} (mode 0600). Use it: export KUBECONFIG={target.resolve()}", err=True)


COMMANDS = [kubeconfig_command]
