"""The no_pickle trust switch fails closed: a value that is not clearly on or off, or a misspelt
key, is an error (exit 2 from ``provision run``), never a silent "pickle stays on"."""

from __future__ import annotations

import hashlib
import textwrap

import pytest

from tests.runtime.conftest import make_stack
from zenprovision import settings
from zenprovision.errors import InputError, MaterializerError
from zenprovision.runtime import materializers

PIPELINE = """
from zenprovision import pipeline, step

@step
def make() -> int:
    return 1

@pipeline
def one():
    make()
"""


@pytest.fixture
def settings_file(home, monkeypatch):
    monkeypatch.delenv(settings.NO_PICKLE_ENV, raising=False)
    home.mkdir(parents=True, exist_ok=True)
    return home / "settings.yaml"


@pytest.mark.parametrize("line, on", [
    ("no_pickle: true", True), ('no_pickle: "true"', True), ("no_pickle: 1", True), ("no_pickle: 'ON'", True),
    ("no_pickle: yes", True), ("no_pickle: false", False), ('no_pickle: "0"', False), ("default_ttl: {dev: 3d}", False),
])
def test_clear_booleans_in_the_file_are_taken(settings_file, line, on):
    settings_file.write_text(line + "\n")
    assert settings.no_pickle() is on


@pytest.mark.parametrize("value", ["enabled", '"y"', "2", "1.0", "", "[true]"])
def test_an_unclear_value_in_the_file_is_refused_naming_file_and_accepted_values(settings_file, value):
    settings_file.write_text(f"no_pickle: {value}\n")
    with pytest.raises(InputError) as refused:
        settings.no_pickle()
    assert str(settings_file) in refused.value.message and "no_pickle must be a boolean" in refused.value.message
    assert refused.value.hint == "use true/false, yes/no, on/off or 1/0"


def test_a_misspelt_key_is_refused_naming_the_closest_known_key(settings_file):
    settings_file.write_text("no-pickle: true\n")
    with pytest.raises(InputError) as refused:
        settings.no_pickle()
    assert refused.value.message == f"{settings_file}: unknown setting 'no-pickle'"
    assert refused.value.hint.startswith("did you mean 'no_pickle'?")


@pytest.mark.parametrize("flag, on", [("1", True), ("TRUE", True), (" on ", True), ("Yes", True),
                                      ("0", False), ("off", False), ("No", False)])
def test_the_variable_takes_clear_booleans_and_overrides_the_file(settings_file, monkeypatch, flag, on):
    settings_file.write_text(f"no_pickle: {'false' if on else 'true'}\n")
    monkeypatch.setenv(settings.NO_PICKLE_ENV, flag)
    assert settings.no_pickle() is on


@pytest.mark.parametrize("flag", ["y", "enabled", "t", "2"])
def test_an_unclear_variable_is_refused_naming_it(settings_file, monkeypatch, flag):
    monkeypatch.setenv(settings.NO_PICKLE_ENV, flag)
    with pytest.raises(InputError) as refused:
        settings.no_pickle()
    assert refused.value.message == f"ZENPROVISION_NO_PICKLE must be a boolean, not {flag!r}"


@pytest.mark.parametrize("line, env, named", [
    ("no_pickle: enabled\n", {}, "settings.yaml: no_pickle must be a boolean, not 'enabled' (use true/false, yes/no, on/off or 1/0)"),
    ("no-pickle: true\n", {}, "unknown setting 'no-pickle' (did you mean 'no_pickle'?"),
    ("", {"ZENPROVISION_NO_PICKLE": "y"}, "ZENPROVISION_NO_PICKLE must be a boolean, not 'y'"),
])
def test_run_stops_before_any_step_with_exit_2(settings_file, home, cli, tmp_path, line, env, named):
    make_stack("np", {"flavor": "local", "config": {"path": (home / "artifacts").as_uri()}})
    settings_file.write_text(line)
    target = tmp_path / "one.py"
    target.write_text(textwrap.dedent(PIPELINE))
    result = cli("run", str(target), "--stack", "np", **({"env": env} if env else {}))
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.err
    assert not (home / "artifacts").exists()  # no step ran


def test_a_value_only_pickle_can_store_is_refused_when_saved(monkeypatch):
    from sklearn.linear_model import LogisticRegression

    monkeypatch.setenv(settings.NO_PICKLE_ENV, "1")
    with pytest.raises(MaterializerError) as refused:
        materializers.serialize(LogisticRegression(), "step 'train' output")
    assert refused.value.message == ("step 'train' output: a LogisticRegression would be stored by the sklearn "
                                     "materializer, which pickles, and no_pickle is on")
    monkeypatch.setenv(settings.NO_PICKLE_ENV, "0")
    assert materializers.serialize(LogisticRegression(), "step 'train' output")[0].name == "sklearn"


def test_the_load_refusal_does_not_tell_to_turn_on_what_is_on(monkeypatch):
    data = materializers.by_name("pickle").dumps({1, 2})
    monkeypatch.setenv(settings.NO_PICKLE_ENV, "1")
    with pytest.raises(MaterializerError) as refused:
        materializers.load({"hash": hashlib.sha256(data).hexdigest(), "materializer": "pickle"}, data, "r/s/out")
    assert "with it on" not in refused.value.hint and "turn no_pickle off" in refused.value.hint
