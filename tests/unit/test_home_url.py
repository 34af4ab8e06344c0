"""A URL in $ZENPROVISION_HOME is refused, never taken for a relative path."""

from tests.conftest import run_cli


def test_url_home_is_refused_and_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args in (["stacks"], ["recipe", "local", "--stack", "dev", "--yes"]):
        result = run_cli(*args, env={"ZENPROVISION_HOME": "s3://team-home/zp"})
        assert result.code == 2, result.err
        assert len(result.err.strip().splitlines()) == 1 and "is a URL" in result.err
    assert list(tmp_path.iterdir()) == []
