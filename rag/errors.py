"""Errors meant for the user: the CLI and UI print their message, never a traceback."""


class RagError(Exception):
    """Base class of every error whose message is written for the user."""


class QuestionError(RagError, ValueError):
    """The question cannot be asked (empty, not text, ...)."""


class ModelError(RagError):
    """The embedding model cannot be found or loaded."""


class StaleIndexError(RagError):
    """The index is missing, corrupt or does not match the corpus/model."""


class CorpusError(RagError, ValueError):
    """The catalog or one of its documents is missing, malformed or unparsable."""
