"""Shared fixtures: an isolated $ZENPROVISION_HOME, a way to run the real CLI, and a temp
folder of the session's own, so nothing a test runs leaves files in the system's."""

from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from _pytest.mark.expression import Expression

from tests import cli_zygote

FIXTURE_RECIPES = Path(__file__).parent / "fixtures" / "recipes"


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("ZENPROVISION_HOME", str(folder))
    monkeypatch.delenv("ZENPROVISION_RECIPES_PATH", raising=False)
    yield folder
    _kill_leftover_servers(folder)


@pytest.fixture
def record_clock(monkeypatch):
    """Fix the time records carry, ``record_clock("2026-12-02T10:00:00Z")``: ``$ZENPROVISION_NOW`` moves only
    what is decided (expiry, ages), never a recorded time (``registry.recorded_now``)."""
    from datetime import datetime

    from zenprovision.stacks import registry

    def set_to(iso: str) -> None:
        at = datetime.fromisoformat(iso.replace("Z", "+00:00"))
        monkeypatch.setattr(registry, "recorded_now", lambda: at)

    return set_to


def _kill_leftover_servers(folder: Path) -> None:
    """A failing test must not leave MLServer processes behind for the next one."""
    for proc in servers_under(folder):
        try:
            proc.kill()
        except psutil.Error:
            pass


def servers_under(folder: Path) -> list[psutil.Process]:
    """The MLServer processes serving a stack under ``folder``. Read from /proc directly where
    there is one: every test with a ``home`` asks at its end, and psutil's per-process
    bookkeeping made that ~4 times as costly."""
    if not os.path.isdir("/proc/self"):
        return [proc for proc in psutil.process_iter(["cmdline"]) if _serves(" ".join(proc.info["cmdline"] or []), folder)]
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                cmdline = os.fsdecode(file.read()).replace("\0", " ")
            if _serves(cmdline, folder):
                found.append(psutil.Process(int(pid)))
        except (OSError, psutil.Error):  # gone meanwhile
            pass
    return found


def _serves(cmdline: str, folder: Path) -> bool:
    return "mlserver" in cmdline and str(folder) in cmdline


def run_cli(*args: str, env: dict | None = None, input: str | None = None, timeout: float = 240) -> Result:
    """Run ``provision`` as a user would, in a process of its own (bounded below pytest's 300 s).

    In the quick loop the process is forked from a warm one that has imported the CLI
    (``tests/cli_zygote.py``, ``fork_servers``); otherwise it is a fresh ``python -m zenprovision``.
    """
    return Result(*cli_zygote.run(list(args), {**os.environ, **(env or {}), "COLUMNS": "200"}, input, timeout))


@pytest.fixture(scope="session", autouse=True)
def fork_servers(request, session_temp_dir, no_address_lookup) -> Iterator[None]:
    """In a run without slow tests (the quick loop), the fork servers of ``run_cli`` and of the
    embedded engine's workers that tests start in this process (``cli_zygote.WarmPopen``), each
    started with the session's environment on first use. A run with slow tests (the README's
    command, CI) starts every process fresh, exactly as a user's shell does."""
    if not cli_zygote.enabled(any(item.get_closest_marker("slow") for item in request.session.items)):
        yield
        return
    with forking():
        yield


@contextmanager
def forking() -> Iterator[None]:
    """Processes forked from warm servers while inside (see ``fork_servers``)."""
    cli_zygote.configure({**os.environ, "COLUMNS": "200"})
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(subprocess, "Popen", cli_zygote.WarmPopen)
            yield
    finally:
        cli_zygote.stop()


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def closed_port() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` where nothing listens: the port is bound (so no one else takes
    it meanwhile) but not listening, so every connection is refused at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


@pytest.fixture
def fixture_recipes(monkeypatch) -> Path:
    monkeypatch.setenv("ZENPROVISION_RECIPES_PATH", str(FIXTURE_RECIPES))
    return FIXTURE_RECIPES


# --- temp files -------------------------------------------------------------------------------
# Who writes to the system temp folder when a test runs: cookiecutter writes every hook script
# there (NamedTemporaryFile(delete=False), never removed), the runtime unpacks code packages
# into <temp>/zenprovision-code-<uid>, and Dask workers keep dask-scratch-space there. All of them ask
# ``tempfile.gettempdir()``, which follows $TMPDIR in child processes; this process has cached
# the answer already, so ``tempfile.tempdir`` is set too.


class TempWatch:
    """An audit hook that notes every file or folder this process creates or writes in the
    system temp folder outside pytest's own area. Child processes are kept out by $TMPDIR;
    this catches what ignores it here (a hard-coded "/tmp"). Precise where a listing of the
    shared temp folder would not be: other users' processes write there too."""

    def __init__(self, system: Path, allowed: Path) -> None:
        self.system, self.allowed = f"{system}{os.sep}", f"{allowed}{os.sep}"
        self.found: list[str] = []
        self.active = True

    def __call__(self, event: str, args: tuple) -> None:
        if not self.active or event not in ("open", "os.mkdir"):
            return
        if event == "open" and not (isinstance(args[2], int) and args[2] & _WRITE_FLAGS):
            return
        path = args[0]
        if not isinstance(path, (str, bytes, os.PathLike)):
            return  # a file descriptor
        path = os.path.abspath(os.fsdecode(path))
        if f"{os.sep}__pycache__" in path:
            return  # Python's bytecode cache, next to the code (a clone or a venv may live in /tmp)
        if path.startswith(self.system) and not path.startswith(self.allowed):
            self.found.append(path)


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT


@pytest.fixture(scope="session", autouse=True)
def session_temp_dir(tmp_path_factory) -> Iterator[Path]:
    """$TMPDIR for the whole session, below pytest's own temp folder; fails the session if
    this process wrote to the system temp folder anyway."""
    system = Path(tempfile.gettempdir()).resolve()
    folder = tmp_path_factory.mktemp("tmpdir")
    watch = TempWatch(system, tmp_path_factory.getbasetemp().resolve().parent)  # pytest-of-<user>
    sys.addaudithook(watch)  # cannot be removed: made inert at the end
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("TMPDIR", str(folder))
            mp.setenv("DASK_TEMPORARY_DIRECTORY", str(folder))  # dask's temporary-directory setting
            mp.setattr(tempfile, "tempdir", str(folder))
            yield folder
    finally:
        watch.active = False
    assert not watch.found, f"tests wrote outside pytest's temp folder, in {system}: {sorted(set(watch.found))}"


@pytest.fixture(scope="session", autouse=True)
def no_address_lookup() -> Iterator[None]:
    """The pulumi engine asks a public service for this machine's address unless told it:
    tests never reach outside 127.0.0.1, so they tell it (a documentation address)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZENPROVISION_DEPLOYER_CIDR", "203.0.113.10/32")
        yield


def pytest_configure(config: pytest.Config) -> None:
    """Bytecode caching on, as on a user's machine, even where the environment turns it off
    (PYTHONDONTWRITEBYTECODE): set before collection, for this process and every one it starts.
    The suite starts hundreds of Python processes that import the same provider SDKs; without
    the cache each one recompiles them from source (the offline plan's own cache of
    pulumi_gcp, ``lazy_sdk``, included): 7 s instead of 3 s for every run of the gcp-k8s
    program, and pytest rewrites every test module's asserts again at each start. Caches go
    beside the sources (``__pycache__``), as Python puts them."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.dont_write_bytecode = False
    _deliver_ctrl_c()
    _forget_the_shells_settings()


# Variables of the developer's shell that change what the product does or prints: zenprovision's
# own settings (`eval "$(provision output dev --format env)"` sets some, a user sets the others)
# and rich's colour switches. Each test sets what it needs; a suite that passes on CI must not
# fail in a shell where, say, ZENPROVISION_NO_PICKLE=1 or FORCE_COLOR=1 is set.
SHELL_SETTINGS = ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")


def _forget_the_shells_settings() -> None:
    for name in list(os.environ):
        if name.startswith("ZENPROVISION_") or name in SHELL_SETTINGS:
            del os.environ[name]


def _deliver_ctrl_c() -> None:
    """Ctrl-C handled as in a terminal, in this process and the processes it starts: a shell's
    background job (`pytest ... &`) inherits SIGINT ignored, where no Ctrl-C test could work."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


# --- the cyclic garbage collector ---------------------------------------------------------------
# A test process imports pytest, the product, moto, the Pulumi SDK, botocore's models, pandas and
# scikit-learn: millions of objects that live until it ends. Each full collection walked all of
# them again (a fifth of a worker's CPU). Once a test has imported something new, what is alive
# after it is collected once more and then left out of later collections (``gc.freeze``), as the
# fork servers do after their imports. Objects still die when their last reference goes; only a
# reference cycle through something frozen is never freed, a leak of memory for a test process.


def pytest_collection_finish(session: pytest.Session) -> None:
    _freeze_what_lives()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    yield
    if len(sys.modules) > _frozen_at_modules:
        _freeze_what_lives()


_frozen_at_modules = 0


def _freeze_what_lives() -> None:
    global _frozen_at_modules
    gc.collect()  # this test's garbage first: what is frozen is never collected
    gc.freeze()
    _frozen_at_modules = len(sys.modules)


# --- markers -----------------------------------------------------------------------------------


def slow_selected(config: pytest.Config) -> bool:
    """Whether ``-m`` asked for slow tests by name (``-m slow``, ``-m "slow or integration"``).

    The most expensive variants (``slow_only``) run only then, not in a plain ``pytest``.
    """
    expression = config.getoption("markexpr") or ""
    if "slow" not in expression:
        return False
    return Expression.compile(expression).evaluate(lambda name, **_: name == "slow")


# Tests of other areas that take over ~5 s each under load (measured 2026-12-02 at load 6-10),
# marked here rather than in their modules, which other changes are editing. A path marks
# every test of the module; "path::name" one test (all its parameters).
SLOW = {
    "tests/recipes/test_aws_k8s.py",  # the aws-k8s program under Pulumi mocks
    "tests/recipes/test_gcp_k8s.py",
    "tests/recipes/test_conformance.py",
    "tests/recipes/test_offline_plan.py",
    "tests/runtime/test_local_runs.py",  # pipelines through `provision run`
    "tests/runtime/test_cloud_runs.py",
    "tests/runtime/test_kubernetes.py::test_fan_out_runs_one_job_per_step_with_artifacts_in_s3",
    "tests/runtime/test_kubernetes.py::test_pod_failures_are_one_line_each_and_fail_the_run",
    "tests/runtime/test_kubernetes.py::test_retries_are_the_schedulers_one_job_per_attempt",
    "tests/runtime/test_kubernetes.py::test_ctrl_c_deletes_the_runs_jobs_and_their_pods",
    "tests/runtime/test_kubernetes.py::test_secret_kubeconfig_reference_without_a_kubeconfig_exits_2_with_the_fix",
    "tests/runtime/test_kserve.py",  # a fake cluster and scikit-learn models per test
    "tests/runtime/test_remote.py::test_entrypoint_runs_a_step_from_the_package_in_a_fresh_process",
    "tests/unit/test_exports.py::test_cli_formats_with_a_note_on_stderr",
    "tests/unit/test_output_cli.py::test_aws_k8s_offline_plan_json_and_output_carry_the_stack_with_unknowns",
    # three real deploys through the CLI; the quick loop keeps test_plain_records and test_cli_input's damaged record
    "tests/reliability/test_stacks_and_input.py::test_one_damaged_record_is_listed_as_damaged_and_the_rest_works",
    "tests/unit/test_cli_input.py::test_corrupt_stack_config_is_reported_and_kept",
    "tests/unit/test_packaging.py",  # builds a wheel
    # issue 16's team-home tests that deploy through the CLI or plan a cloud recipe (8-34 s at load 8)
    "tests/recipes/test_teardown_schedule.py::test_the_cronjob_runs_teardown_of_expired_dev_stacks_never_twice_at_once",
    "tests/recipes/test_teardown_schedule.py::test_recipes_conform_with_the_schedule_on",
    "tests/recipes/test_teardown_schedule.py::test_the_offline_plan_shows_the_schedule",
    "tests/homes/test_shared_home_cli.py::test_a_deploy_writes_the_shared_records_to_the_bucket_and_another_machine_uses_them",
    "tests/homes/test_home_push.py::test_a_newer_local_record_replaces_an_older_shared_one",
    "tests/homes/test_home_push.py::test_a_document_changed_during_the_push_is_not_overwritten",
    "tests/homes/test_shared_home_errors.py::test_a_gcs_home_deploys_and_lists_with_its_warning",
    "tests/homes/test_sweep_team.py::test_a_fresh_machine_sees_the_shared_registry_and_finds_no_false_orphans",
    "tests/homes/test_leases.py::test_the_heartbeat_keeps_a_short_lease_alive",  # waits out lease periods
}
INTEGRATION = {  # their tests that run the CLI deploy real stacks through it (also slow)
    "tests/unit/test_embedded_engine.py",
    "tests/unit/test_stack_lifecycle.py",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = None if slow_selected(config) else pytest.mark.skip(
        reason="one of several expensive variants: run them with -m slow")
    for item in items:
        module, _, name = item.nodeid.partition("::")
        test = f"{module}::{name.split('[')[0]}"
        integration = module in INTEGRATION and "cli" in getattr(item, "fixturenames", ())
        if integration:
            item.add_marker(pytest.mark.integration)
        if module in SLOW or test in SLOW or integration:
            item.add_marker(pytest.mark.slow)
        if skip and item.get_closest_marker("slow_only"):
            item.add_marker(skip)


pytest_plugins = ["tests.servers"]
