"""Bad input to ``provision recipe`` writes nothing at all, not even the stack's lock file:
every check the command line alone can fail comes before the lock is taken."""

from __future__ import annotations

import pytest


def files_under(home, but=()):
    found = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file()) if home.exists() else []
    return [name for name in found if name not in but]


@pytest.mark.parametrize("args, message", [
    (["nosuch"], "no recipe named 'nosuch'"),
    (["local", "-c", "nope=1"], "no config key 'nope'"),
    (["local", "-c", "workers=many"], "must be integer"),
    (["local", "-c", "workers"], "not KEY=VALUE"),
    (["local", "-c", "workers=0"], "must be 1 to 256"),
    (["local", "--ttl", "soon"], "soon"),
    (["local", "--env", "PROD"], "invalid --env label"),
])
def test_recipe_with_bad_input_leaves_no_file_in_the_home(home, cli, args, message):
    result = cli("recipe", *args, "--stack", "dev", "--yes")
    assert result.code == 2 and message in result.err, result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert files_under(home) == []


def test_a_misspelt_settings_key_stops_a_deploy_before_the_lock(home, cli):
    home.mkdir(parents=True)
    (home / "settings.yaml").write_text("default-ttl:\n  dev: 3d\n")
    result = cli("recipe", "local", "--stack", "dev", "--ttl", "1d", "--yes")
    assert result.code == 2 and "unknown setting 'default-ttl' (did you mean 'default_ttl'?" in result.err, result.err
    assert files_under(home, but=("settings.yaml",)) == []
