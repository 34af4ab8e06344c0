"""r6 (second reader of fx 6abc711): the owner a deploy takes by default from the login is one the
user may also give back with ``--owner``. A login such as ``John.Doe`` (common for corporate
accounts) is recorded in the form the clouds keep (``john_doe``, as GCP labels are written), so
the record, the cloud labels and ``teardown --owner`` agree; given back as typed, it is refused
with a hint naming that form."""

from __future__ import annotations

import getpass

import pytest

from zenprovision import lifecycle
from zenprovision.cli.catalog_cmds import load_catalog


@pytest.mark.parametrize("login, owner", [("john.doe", "john_doe"), ("John.Doe", "john_doe"), ("ci-bot", "ci-bot"),
                                          ("...", "unknown")])
def test_the_default_owner_is_the_login_as_the_clouds_keep_it(home, monkeypatch, login, owner):
    monkeypatch.setattr(getpass, "getuser", lambda: login)
    taken = lifecycle._labels(None, None, None, None, None).owner
    assert taken == owner
    lifecycle.check_input(load_catalog(), "local", "s", (), owner=taken)  # accepted when given back


def test_a_login_given_back_as_typed_is_refused_naming_the_form_to_use(home, cli):
    login = {"USER": "John.Doe", "LOGNAME": "John.Doe", "LNAME": "John.Doe", "USERNAME": "John.Doe"}
    refused = cli("plan", "local", "--stack", "s", "--owner", "John.Doe", env=login)
    assert refused.code == 2 and "e.g. --owner john_doe" in refused.err, refused.err
    accepted = cli("plan", "local", "--stack", "s", "--owner", "john_doe", env=login)
    assert accepted.code == 0, accepted.err
