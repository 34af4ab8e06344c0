"""What a run writes into the home is private whatever the umask: artifacts, the files a remote
step leaves, the model files written into MLServer's repository (0600, folders 0700). A store
outside the home keeps what the user's umask gives, as any program's files do."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from zenprovision.runtime.artifact_stores.local import LocalArtifactStore


@pytest.fixture
def open_umask():
    previous = os.umask(0)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def exposed(folder: Path) -> list[str]:
    """Everything below ``folder`` (and itself) that its group or others may use."""
    return [f"{p} {oct(mode(p))}" for p in [folder, *folder.rglob("*")] if mode(p) & 0o077 and not p.is_symlink()]


def test_artifacts_written_into_the_home_are_private_under_umask_000(home, open_umask):
    store = LocalArtifactStore({"path": (home / "local" / "dev" / "artifacts").as_uri()})
    store.write_bytes("runs/r1/step.pkl", b"data")
    store.write_bytes("runs/r1/.step.meta.json", b"{}", durable=False)
    store.write_bytes("code/abc.tar.gz", b"code")
    store.check()
    root = Path(store.root)
    assert {mode(root / "runs" / "r1" / name) for name in ("step.pkl", ".step.meta.json")} == {0o600}
    assert mode(root / "runs") == mode(root / "runs" / "r1") == mode(root / "code") == 0o700
    assert exposed(home) == []


def test_a_store_outside_the_home_keeps_what_the_umask_gives(home, tmp_path, open_umask):
    store = LocalArtifactStore({"path": (tmp_path / "shared" / "artifacts").as_uri()})
    store.write_bytes("runs/r1/step.pkl", b"data")
    assert mode(tmp_path / "shared" / "artifacts" / "runs" / "r1" / "step.pkl") == 0o666
    assert mode(tmp_path / "shared" / "artifacts" / "runs") == 0o777
    os.umask(0o022)
    LocalArtifactStore({"path": (tmp_path / "other").as_uri()}).write_bytes("a/b.json", b"{}")
    assert mode(tmp_path / "other" / "a" / "b.json") == 0o644


@pytest.mark.parametrize("in_process", [False, True], ids=["workers", "in-process"])
def test_a_pipeline_run_under_umask_000_leaves_nothing_in_the_home_others_can_read(home, open_umask, in_process):
    from tests.runtime.conftest import make_stack
    from tests.runtime.pipelines.shapes import fanout

    make_stack("rt", {"flavor": "local", "config": {"path": (home / "artifacts").as_uri()}})
    summary = fanout.run(stack="rt", cache=False, in_process=in_process, seconds=0)
    assert summary.status == "succeeded"
    assert len(list((home / "artifacts" / "runs" / summary.run_id).iterdir())) == 12  # 6 outputs, 2 files each
    assert exposed(home) == []


def test_model_files_written_into_the_repository_are_private_under_umask_000(home, open_umask):
    from sklearn.dummy import DummyClassifier

    from zenprovision.home import private_dir
    from zenprovision.runtime.model_servers.mlserver import MLServerModelServer

    repository = private_dir(home / "local" / "dev" / "mlserver" / "models")
    server = MLServerModelServer({"endpoint": "http://127.0.0.1:9", "model_repository": str(repository)})
    model = DummyClassifier().fit([[0.0], [1.0]], [0, 1])
    assert server._write_to_repository(model, "iris") is None
    retired = server._write_to_repository(model, "iris")  # a new version beside the served one
    assert {p.name for p in (repository / "iris").iterdir()} == {"model.joblib", "model-settings.json"}
    assert mode(repository / "iris") == 0o700
    assert {mode(p) for p in (repository / "iris").iterdir()} == {0o600}
    assert exposed(home) == []
    assert retired is not None and retired.parent == repository


@pytest.mark.slow
@pytest.mark.integration
def test_the_quickstart_on_a_stack_deployed_under_umask_000_leaves_its_home_private(home, cli):
    """Deploy, run (artifacts, a model served by the real MLServer from its 0600 files), destroy."""
    quickstart = Path(__file__).parents[2] / "examples" / "quickstart.py"
    previous = os.umask(0)
    try:
        deployed = cli("recipe", "local", "--stack", "dev", "--yes")
        assert deployed.code == 0, deployed.err
        try:
            ran = cli("run", str(quickstart), "--stack", "dev")
            assert ran.code == 0, ran.err
            assert list((home / "local" / "dev" / "mlserver" / "models").glob("*/model.joblib"))
            assert exposed(home) == []
        finally:
            destroyed = cli("destroy", "dev", "--yes")
        assert destroyed.code == 0, destroyed.err
    finally:
        os.umask(previous)
