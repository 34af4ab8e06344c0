"""One exception hierarchy: every error a user can see carries a message and a hint.

The CLI prints ``message`` (and ``hint``) on one line and exits with ``exit_code``:
2 for bad usage or input, 1 for an operation that failed.
"""

from __future__ import annotations


class ZenProvisionError(Exception):
    """Base of all zenprovision errors."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InputError(ZenProvisionError):
    """The user gave something invalid: a name, a config value, a file."""

    exit_code = 2


class NotFoundError(InputError):
    """A recipe, stack or file that the user named does not exist."""


class CorruptFileError(InputError):
    """A file zenprovision wrote was damaged or hand-edited into something invalid."""


class RecipeError(InputError):
    """A recipe folder breaks the recipe contract."""


class UnsupportedError(InputError):
    """The request needs something this installation or engine cannot do."""


class MissingExtraError(UnsupportedError):
    """An optional part of zenprovision is not installed; the hint names the extra."""


class OperationFailed(ZenProvisionError):
    """An engine operation started and failed; state records what was done."""


class ArtifactStoreError(InputError):
    """The stack's artifact store cannot be reached or used."""


class MaterializerError(OperationFailed):
    """A step output could not be stored or loaded."""


class PipelineDefinitionError(InputError):
    """A pipeline's DAG is invalid: checked before any step runs."""


class ModelServerError(OperationFailed):
    """The model server refused or failed to load a model."""


class StackLockedError(ZenProvisionError):
    """Another command holds the stack's lock."""


class CancelledError(ZenProvisionError):
    """The user interrupted an operation; what finished is saved in state."""

    exit_code = 130


class HomeAccessError(InputError):
    """The shared home cannot be used as asked: no bucket, no credentials, no permission."""


class WriteConflict(ZenProvisionError):
    """A conditional write lost a race: someone else changed the document since it was read."""


class LockLostError(OperationFailed):
    """This command's lease on a stack was taken away (expired or force-unlocked): it stops writing."""
