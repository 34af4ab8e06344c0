"""Artifact stores: where every step output is persisted, on any fsspec filesystem."""
