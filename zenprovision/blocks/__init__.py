"""Building blocks for recipe programs: Pulumi resources that recipes compose.

Imported only inside recipe programs, which run under an engine, never by the CLI.
"""
