"""Question answering over Chinese policy documents: verbatim quotes with paragraph citations."""

from rag.assistant import Assistant
from rag.errors import ModelError, QuestionError, RagError, StaleIndexError
from rag.records import Answer, Citation, Hit, Passage, Signals

__all__ = ["Answer", "Assistant", "Citation", "Hit", "ModelError", "Passage", "QuestionError",
           "RagError", "Signals", "StaleIndexError"]
