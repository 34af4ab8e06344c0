"""The pipeline runtime: steps and pipelines executed against a deployed stack."""
