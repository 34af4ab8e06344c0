"""Orchestrators: what executes the steps of a run."""
