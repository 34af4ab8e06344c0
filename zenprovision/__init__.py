"""zenprovision: provision MLOps stacks from Pulumi recipes and run pipelines on them."""

__version__ = "0.1.0"
