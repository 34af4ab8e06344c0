"""Orphan sweep: find, and on request delete, cloud resources whose stack nobody knows.

Every resource an AWS recipe creates carries the tag ``zenprovision:stack``. A resource
whose tag names no registered stack was left behind by an interrupted deploy, a lost
home folder or a destroy that half failed, and costs money until someone notices it.

The modules split the work so that deletion can only act on what was listed:
``aws_find`` lists tagged resources, ``candidates`` picks the orphans once (a frozen
list), ``aws_delete`` iterates that list and nothing else, ``report`` renders it.
boto3 is imported inside the AWS modules only, when a sweep runs.
"""

from zenprovision.sweep.model import TAG_STACK, Candidates, DeleteReport, FoundResource, LeftResource

__all__ = ["TAG_STACK", "Candidates", "DeleteReport", "FoundResource", "LeftResource"]
