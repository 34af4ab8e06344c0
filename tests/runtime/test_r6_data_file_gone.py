"""r6 (second reader of p15c): each output is now a plain file a user is invited to open
(``np.load(runs/<run>/grid.npy)``), beside a hidden meta file they do not see. A user who
moves or deletes that data file leaves the meta file behind; the next cached run reuses the
output (the cache checks only the meta file against the metadata database) and fails when a
step loads it, instead of running its step again as docs/reliability.md says of an output
that is gone."""

from __future__ import annotations

import numpy as np

from zenprovision import pipeline, step


@step
def grid() -> np.ndarray:
    return np.arange(6.0)


@step(cache=False)  # runs every time, so it loads grid's output
def total(values: np.ndarray) -> float:
    return float(values.sum())


@pipeline
def browsed():
    total(grid())


def test_a_data_file_the_user_removed_is_computed_again(local_stack, home):
    first = browsed.run(stack=local_stack)
    (home / "artifacts" / "runs" / first.run_id / "grid.npy").unlink()  # moved away to look at it
    again = browsed.run(stack=local_stack)  # main: FileNotFoundError in step 'total'
    assert again.status == "succeeded" and again.output("total") == 15.0
