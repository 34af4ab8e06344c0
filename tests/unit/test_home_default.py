"""The default home agrees with platformdirs, whether or not it is computed without it."""

import subprocess
import sys

import pytest

CODE = ("import sys; from zenprovision import home; from platformdirs import user_data_dir\n"
        "print(home.home() == __import__('pathlib').Path(user_data_dir('zenprovision', appauthor=False)))")
LAZY = "import sys; from zenprovision import home; home.home(); print('platformdirs' in sys.modules)"


@pytest.mark.parametrize("extra", [{}, {"XDG_DATA_HOME": "/srv/xdg"}, {"XDG_DATA_HOME": "  "}, {"HOME": "relative"}])
def test_the_default_home_is_platformdirs_user_data_dir(tmp_path, extra):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **extra}
    out = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"


@pytest.mark.skipif(sys.platform != "linux", reason="the fast case is Linux's")
def test_the_usual_linux_home_needs_no_platformdirs(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", LAZY], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


NO_USER = ("import os, pwd, sys\n"
           "def unknown(uid): raise KeyError(f'getpwuid(): uid not found: {uid}')\n"
           "pwd.getpwuid = unknown\n"
           "from zenprovision.cli import main\n"
           "sys.argv = ['provision', 'stacks']\n"
           "main()\n")


def test_no_home_at_all_is_one_line_saying_what_to_set(tmp_path):
    """A container's UID without a passwd entry and without $HOME: exit 2 naming ZENPROVISION_HOME."""
    done = subprocess.run([sys.executable, "-c", NO_USER], env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert "ZENPROVISION_HOME" in done.stderr and "Traceback" not in done.stderr
    assert not list(tmp_path.iterdir())  # nothing made under a relative ~
