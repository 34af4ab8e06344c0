"""``provision run``, ``provision runs`` and ``provision models``: pipelines on stacks."""

from __future__ import annotations

import datetime

import click

from zenprovision.cli.completion import complete_stacks
from zenprovision.cli.output import console, info, plain, print_json, warn
from zenprovision.cli.table import print_table

MARKS = {"start": "[dim]>[/]", "succeeded": "[green]✓[/]", "cached": "[cyan]↺[/]", "failed": "[red]✗[/]",
         "skipped": "[yellow]-[/]", "retry": "[yellow]↻[/]"}


def _progress(kind: str, node_id: str, detail: str) -> None:
    if kind == "run":
        info(f"Run [bold]{plain(node_id)}[/]")
    elif kind in MARKS and kind != "start":
        suffix = {"cached": f"cached from {detail}", "retry": f"retrying after {detail}",
                  "failed": detail, "skipped": "skipped"}.get(kind, detail)
        info(f"  {MARKS[kind]} {plain(node_id)} [dim]{plain(suffix)}[/]")  # a step's error may hold [/path]


@click.command("run")
@click.argument("target", metavar="FILE[:PIPELINE]")
@click.option("--stack", "-s", required=True, help="Stack to run on.", shell_complete=complete_stacks)
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE", help="A pipeline parameter; repeatable.")
@click.option("--no-cache", is_flag=True, help="Run every step, even where a cached output exists.")
@click.option("--resume", metavar="RUN_ID", help="Re-run a failed run, reusing the steps that succeeded.")
@click.option("--no-pickle", is_flag=True, help="Refuse pickle-based artifacts (also ZENPROVISION_NO_PICKLE=1).")
@click.option("--in-process", is_flag=True,
              help="Run the steps in this process, one at a time: no worker processes, so short steps cost "
                   "less and breakpoints work; a step that crashes Python ends the run (local orchestrator only).")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
def run_command(target: str, stack: str, params: tuple[str, ...], no_cache: bool, resume: str | None,
                no_pickle: bool, in_process: bool, as_json: bool) -> None:
    """Run the pipeline in FILE on STACK."""
    import os

    from zenprovision import settings
    from zenprovision.recipes.schema import parse_assignments
    from zenprovision.runtime.loader import load_pipeline
    from zenprovision.runtime.runner import RunFailed, run_pipeline
    from zenprovision.stacks import store

    store.load(stack)  # a missing stack is reported before the file is imported
    given = parse_assignments(params, what="parameter", option="-p")
    if no_pickle:
        os.environ[settings.NO_PICKLE_ENV] = "1"  # workers inherit it
    settings.check()  # a no_pickle that is not clearly on or off stops here, not inside a step
    pipeline = load_pipeline(target)
    try:
        summary = run_pipeline(pipeline, stack, given, cache=not no_cache,
                               resume=resume, on_event=_progress, in_process=in_process)
    except RunFailed as failed:
        console(stderr=True).print(failed.summary.traceback.rstrip(), markup=False, highlight=False)
        raise
    if as_json:
        print_json({"run_id": summary.run_id, "status": summary.status, "steps": summary.steps,
                    "metadata": summary.metadata, "seconds": summary.seconds})
    for key, value in summary.metadata.items():
        info(plain(f"  {key}: {value}"))
    info(f"Run [bold]{summary.run_id}[/] succeeded in {summary.seconds:.1f}s.")


def _stores(stack: str | None):
    """Metadata stores to read; a damaged one is named and skipped when listing every stack."""
    from zenprovision.errors import CorruptFileError, NotFoundError
    from zenprovision.runtime.metadata import MetadataStore, db_path, stacks_with_runs
    from zenprovision.stacks.overview import registered_names

    if stack:
        if not db_path(stack).exists() and stack not in registered_names():
            raise NotFoundError(f"no stack named {stack!r}", hint="see `provision stacks` and `provision runs`")
        if db_path(stack).exists():
            yield MetadataStore(stack, create=False)
        return
    for name in stacks_with_runs():
        try:
            yield MetadataStore(name, create=False)
        except CorruptFileError as exc:
            warn(f"{exc.message} ({exc.hint})")


def _rows(meta) -> list[dict]:
    from zenprovision.errors import CorruptFileError

    try:
        return meta.runs()
    except CorruptFileError as exc:
        warn(f"{exc.message} ({exc.hint})")
        return []


def _when(timestamp: float | None) -> str:
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S") if timestamp else ""


@click.group("runs", invoke_without_command=True)
@click.option("--stack", "-s", help="Only runs on this stack.", shell_complete=complete_stacks)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def runs_group(ctx: click.Context, stack: str | None, as_json: bool) -> None:
    """List pipeline runs (newest first); `provision runs show RUN_ID` for one."""
    if ctx.invoked_subcommand:
        return
    rows = [row for meta in _stores(stack) for row in (meta.runs() if stack else _rows(meta))]
    rows.sort(key=lambda row: row["started"] or 0, reverse=True)
    if as_json:
        print_json(rows)
        return
    lines = []
    for row in rows:
        seconds = f"{row['ended'] - row['started']:.1f}" if row["ended"] else ""
        lines.append((row["id"], row["pipeline"], row["stack"], row["status"], _when(row["started"]), seconds))
    print_table(("run", "pipeline", "stack", "status", "started", "seconds"), lines)


@runs_group.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--format", "fmt", type=click.Choice(["text", "mermaid", "dot"]), default="text", show_default=True,
              help="text: the DAG as boxes, then the artifacts; mermaid or dot: the DAG alone, for docs and notebooks.")
def runs_show(run_id: str, as_json: bool, fmt: str) -> None:
    """Show a run: its step DAG with status and duration, artifacts, params and metadata."""
    from zenprovision import graphs
    from zenprovision.errors import CorruptFileError, NotFoundError

    for meta in _stores(None):
        try:
            run = meta.run(run_id)
        except NotFoundError:
            continue
        except CorruptFileError as exc:
            warn(f"{exc.message} ({exc.hint})")
            continue
        if as_json:
            print_json(run)
        elif fmt == "mermaid":
            click.echo(graphs.to_mermaid(graphs.run_graph(run)), nl=False)
        elif fmt == "dot":
            click.echo(graphs.to_dot(graphs.run_graph(run), name=run["id"]), nl=False)
        else:
            _show_run(run, graphs.to_boxes(graphs.run_graph(run), width=console().width))
        return
    raise NotFoundError(f"no run {run_id!r}", hint="see `provision runs`")


def _show_run(run: dict, dag: str) -> None:
    out = console()
    out.print(f"[bold]{plain(run['id'])}[/] " + plain(f"{run['pipeline']} on {run['stack']}: {run['status']}"))
    out.print(f"params: {run['params']}  metadata: {run['metadata']}", markup=False)
    out.print(dag, markup=False, end="")
    for artifact in run["artifacts"]:
        out.print(f"  {artifact['node_id']:20} {artifact['uri']}", markup=False)


@click.command("models")
@click.option("--stack", "-s", required=True, help="Stack whose model server to ask.", shell_complete=complete_stacks)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def models_command(stack: str, as_json: bool) -> None:
    """List the models deployed on STACK's model server, with their endpoints."""
    from zenprovision.runtime.model_servers import for_stack
    from zenprovision.stacks import store

    models = for_stack(store.load(stack).to_document()).models()
    if as_json:
        print_json(models)
        return
    if not models:
        info(f"No models on stack {stack}.")
        return
    from rich.table import Table
    from rich.text import Text

    table = Table("model", "state", "endpoint", box=None)
    for model in models:
        table.add_row(*(Text(str(model[key])) for key in ("name", "state", "infer_url")))
    console().print(table)


COMMANDS = [run_command, runs_group, models_command]

