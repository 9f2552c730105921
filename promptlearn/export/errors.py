"""Errors of export and import; each names the run, file or variable at fault."""

from promptlearn.errors import PromptlearnError


class ExportError(PromptlearnError):
    """An export cannot be produced faithfully."""


class LostVariablesError(ExportError):
    """The exported text lost template variables that the seed prompt uses."""


class ImportFileError(PromptlearnError):
    """A file to import is missing, empty, not UTF-8 or malformed."""
