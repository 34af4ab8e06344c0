"""r6 (second reader of fx 6abc711): the owner a deploy takes by default from the login must
be one the user may also give back with ``--owner``. A login such as ``john.doe`` or
``John.Doe`` (common for corporate accounts) is recorded as the stack's owner when no
``--owner`` is given, yet refused (exit 2) when a script passes ``--owner "$USER"``: a CI job
that always passed its owner breaks on upgrade, for a label the stack already has."""

from __future__ import annotations

import pytest

from zenprovision import lifecycle
from zenprovision.cli.catalog_cmds import load_catalog


@pytest.mark.parametrize("login", ["john.doe", "John.Doe"])
def test_the_default_owner_is_accepted_when_given_back(home, monkeypatch, login):
    monkeypatch.setattr(lifecycle, "_current_user", lambda: login)
    owner = lifecycle._labels(None, None, None, None, None).owner
    lifecycle.check_input(load_catalog(), "local", "s", (), owner=owner)  # raises InputError on main


def test_a_redeploy_passing_the_login_as_owner_is_not_refused(home, cli):
    login = {"USER": "John.Doe", "LOGNAME": "John.Doe", "LNAME": "John.Doe", "USERNAME": "John.Doe"}
    first = cli("recipe", "local", "--stack", "s", "--yes", env=login)
    assert first.code == 0, first.err
    listed = cli("stacks", env=login)
    assert "John.Doe" in listed.out, listed.out  # the owner the deploy took from the login
    again = cli("recipe", "local", "--stack", "s", "--owner", "John.Doe", "--yes", env=login)
    try:
        assert again.code == 0, again.err  # main: exit 2, invalid --owner label 'John.Doe'
    finally:
        assert cli("destroy", "s", "--yes", env=login).code == 0
