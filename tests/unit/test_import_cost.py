"""What a command imports: the start-up a user waits for (issue 15, items 3 and 4)."""

import subprocess
import sys


def loaded_after(statement: str, prefix: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(m for m in sys.modules if m.startswith({prefix!r})))"
    return set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())


def test_the_lifecycle_loads_the_pulumi_engine_only_when_a_stack_uses_it():
    assert "zenprovision.engines.pulumi_cli.engine" not in loaded_after("import zenprovision.lifecycle", "zenprovision")
    assert "zenprovision.engines.pulumi_cli.engine" in loaded_after(
        "from zenprovision.engines.pulumi_cli import PulumiEngine", "zenprovision")


def loaded_by_command(home, *argv: str) -> set[str]:
    code = ("import sys\nfrom zenprovision.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('\\n'.join(sys.modules), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                          env={**__import__("os").environ, "ZENPROVISION_HOME": str(home)})
    return set(done.stderr.split())


def test_the_listing_commands_load_only_what_they_print_with(tmp_path):
    assert not {"json", "traceback", "zenprovision.extras"} & loaded_by_command(tmp_path, "--help")
    assert "shutil" not in loaded_by_command(tmp_path, "stacks")  # piped: no terminal to measure
    assert not {"socket", "psutil"} & loaded_by_command(tmp_path, "runs")


def test_a_step_on_a_local_store_reads_and_writes_without_fsspec(tmp_path):
    statement = (
        "from zenprovision.runtime.artifact_stores.local import LocalArtifactStore; "
        "from zenprovision.runtime.execution import load_artifact, save_artifact; "
        f"store = LocalArtifactStore({{'path': {tmp_path.as_uri()!r}}}); store.check(); "
        "save_artifact(store, 'runs/r/s', [1, 2], 'test'); "
        "assert load_artifact(store, 'runs/r/.s.meta.json') == [1, 2] and store.exists('runs/r/s.json'); "
        "assert store.uri('runs') == 'file://' + store.root + '/runs'"
    )
    assert not loaded_after(statement, "fsspec")
