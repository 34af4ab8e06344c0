"""The embedded engine: Pulumi programs in-process, dynamic providers executed for real."""
