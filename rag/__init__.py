"""Question answering over Chinese policy documents: verbatim quotes with paragraph citations."""

from .assistant import Assistant
from .errors import ModelError, QuestionError, RagError, StaleIndexError
from .records import Answer, Citation, Hit, Passage, Signals

__all__ = ["Answer", "Assistant", "Citation", "Hit", "ModelError", "Passage", "QuestionError",
           "RagError", "Signals", "StaleIndexError"]
