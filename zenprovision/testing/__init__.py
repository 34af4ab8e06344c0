"""Testing recipes without a cloud: run a program under Pulumi's mocks and inspect it."""

from zenprovision.testing.program import ProgramRecord, RecordedResource, run_under_mocks

__all__ = ["ProgramRecord", "RecordedResource", "run_under_mocks"]
