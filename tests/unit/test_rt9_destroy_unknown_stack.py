"""`provision destroy` of a stack that does not exist: one line, no prompt to confirm it."""

from tests.conftest import run_cli


def test_an_unknown_stack_is_refused_before_the_prompt(home):
    result = run_cli("destroy", "ghost", input="y\n")
    assert result.code == 2
    assert "no stack named 'ghost'" in result.err
    assert "Destroy stack" not in result.err  # never asked to confirm destroying nothing


def test_a_misspelt_name_answered_no_still_says_why(home):
    result = run_cli("destroy", "ghost", input="n\n")
    assert result.code == 2 and "no stack named 'ghost'" in result.err
    assert "Aborted" not in result.err
