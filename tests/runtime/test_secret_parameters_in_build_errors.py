"""A `Secret[...]` parameter quoted by an error the pipeline's code raises while it builds stays
masked on the terminal, with or without --verbose, whatever the error's type: many exceptions
print attributes, not ``args`` (a subprocess's command, pydantic's ``input_value``, a file name),
and --verbose prints the error's cause too."""

import pytest

PASSWORD = "Xk29fQpz7LmNw"

PIPELINES = '''
from zenprovision import pipeline, step
from zenprovision.runtime.pipelines import Secret


@step
def use(x: str) -> str:
    return x


@pipeline
def command(db_pass: Secret[str] = ""):
    import subprocess, sys

    subprocess.run([sys.executable, "-c", "raise SystemExit(1)", "--user=app", f"--pw={db_pass}"], check=True)
    use("x")


@pipeline
def model(db_pass: Secret[str] = ""):
    import pydantic

    class Creds(pydantic.BaseModel):
        user: str
        pw: str = pydantic.Field(min_length=16)

    Creds(user="app", pw=db_pass)
    use("x")


@pipeline
def chained(db_pass: Secret[str] = ""):
    try:
        raise RuntimeError(f"login refused for {db_pass}")
    except RuntimeError as exc:
        raise ValueError("cannot connect to the database") from exc
    use("x")
'''


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
@pytest.mark.parametrize("name", ["command", "model", "chained"])
def test_a_build_error_never_shows_a_secret_parameter(local_stack, cli, tmp_path, name, verbose):
    source = tmp_path / "quoting.py"
    source.write_text(PIPELINES)
    result = cli(*(["--verbose"] if verbose else []), "run", f"{source}:{name}", "--stack", local_stack,
                 "-p", f"db_pass={PASSWORD}")
    assert result.code == 1 and "Error:" in result.err, result.err
    assert PASSWORD not in result.out + result.err, result.err
