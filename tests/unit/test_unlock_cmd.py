"""``provision unlock`` in a local home: an flock held by a live process is never broken.

(In a shared home: tests/integration/test_shared_locks.py.)"""

from __future__ import annotations

import subprocess
import sys

from zenprovision.unlock import held_by, unlock

HOLD = "import sys, time\nfrom zenprovision.locks import StackLock\nwith StackLock('dev'):\n    print('held', flush=True)\n    time.sleep(120)\n"


def test_a_live_holder_is_named_and_never_broken_a_free_lock_is_not_locked(home, cli):
    assert cli("unlock", "dev").code == 0 and held_by("dev") is None  # never locked: no lock file
    holder = subprocess.Popen([sys.executable, "-c", HOLD], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        for args in (("unlock", "dev"), ("unlock", "dev", "--force")):
            refused = cli(*args)
            assert refused.code == 2, refused.err
            assert f"stack 'dev' is locked by PID {holder.pid} (" in refused.err, refused.err
            assert "never broken" in refused.err and len(refused.err.strip().splitlines()) == 1
    finally:
        holder.kill()
        holder.wait()
    freed = cli("unlock", "dev")
    assert freed.code == 0 and "Stack dev is not locked" in freed.err, freed.err
    assert unlock("dev", force=True).previous == ""
