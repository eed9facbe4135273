"""The learned answer model: which sentences answer (a logistic model over
:data:`rag.answers.features.SENTENCE_FEATURES`), how many to quote, and whether the documents
answer at all (a logistic model over :data:`~rag.answers.features.QUESTION_FEATURES` and a
threshold on its probability).

The weights are plain JSON (``rag/data/answer_model.json``), written by ``rag train``
(:mod:`rag.evaluation.training`) with the hash of the data they were fitted on. The file holds
the shipped model (``all``: fitted on every corpus of the eval suite) and one model per corpus
left out (``without-laws`` ...), which ``rag eval --suite`` uses to score that corpus.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.answers.features import FEATURES_VERSION, QUESTION_FEATURES, SENTENCE_FEATURES
from rag.errors import RagError
from rag.paths import PACKAGE_DATA

MODEL_FILE = PACKAGE_DATA / "answer_model.json"
SHIPPED = "all"
ENV = "RAG_ANSWER_MODEL"  # another model file to use instead of MODEL_FILE


def model_file() -> Path:
    """The model file in use: ``$RAG_ANSWER_MODEL`` if set, else the shipped one."""
    return Path(os.environ.get(ENV) or MODEL_FILE)


class ModelError(RagError):
    """The answer model file is missing, unreadable or does not match the code."""


@dataclass(frozen=True)
class Logistic:
    """A logistic model over standardized features."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def score(self, x: np.ndarray) -> np.ndarray:
        """The linear score (log-odds) of each row."""
        return ((np.asarray(x, dtype=np.float64) - self.mean) / self.scale) @ self.coef + self.intercept

    def probability(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.clip(self.score(x), -40, 40)))

    def shares(self, x: np.ndarray) -> np.ndarray:
        """Softmax of the rows' scores: each row's share of the chance of being the answer."""
        if not len(x):
            return np.zeros(0)
        z = self.score(x)
        e = np.exp(z - z.max())
        return e / e.sum()

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist(), "coef": self.coef.tolist(),
                "intercept": self.intercept}

    @classmethod
    def from_dict(cls, d: dict, width: int) -> Logistic:
        arrays = [np.asarray(d[k], dtype=np.float64) for k in ("mean", "scale", "coef")]
        if any(a.shape != (width,) for a in arrays):
            raise ValueError(f"expected {width} weights")
        return cls(*arrays, float(d["intercept"]))


@dataclass(frozen=True)
class AnswerModel:
    """One fitted model: sentence scorer (its softmax over a question's candidate sentences
    is each one's share of the chance to hold the answer), quoting settings, answerability
    and its threshold."""

    name: str
    sentence: Logistic
    answerable: Logistic
    keep_ratio: float  # a further sentence is quoted when its probability is at least this share of the best's
    min_probability: float  # ... and at least this
    max_chars: int  # ... while the quote stays within this many characters (twice as many for a list)
    threshold: float  # the documents answer when P(answerable) is at least this

    def to_dict(self) -> dict:
        return {"sentence": self.sentence.to_dict(), "answerable": self.answerable.to_dict(),
                "keep_ratio": self.keep_ratio, "min_probability": self.min_probability,
                "max_chars": self.max_chars, "threshold": self.threshold}

    @classmethod
    def from_dict(cls, name: str, d: dict) -> AnswerModel:
        return cls(name, Logistic.from_dict(d["sentence"], len(SENTENCE_FEATURES)),
                   Logistic.from_dict(d["answerable"], len(QUESTION_FEATURES)),
                   float(d["keep_ratio"]), float(d["min_probability"]), int(d["max_chars"]), float(d["threshold"]))


def read_file(path: Path | None = None) -> dict:
    """The model file as a dict, checked against the features this code computes.

    Raises:
        ModelError: missing, not JSON, or written for other features (run ``rag train``).
    """
    path = path or model_file()
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelError(f"{path}: no readable answer model ({type(e).__name__}); run `rag train`") from None
    if (not isinstance(data, dict) or data.get("features_version") != FEATURES_VERSION
            or data.get("sentence_features") != list(SENTENCE_FEATURES)
            or data.get("question_features") != list(QUESTION_FEATURES)
            or not isinstance(data.get("models"), dict)):
        raise ModelError(f"{path}: written for other features than this code computes; run `rag train`")
    return data


def load(name: str = SHIPPED, path: Path | None = None) -> AnswerModel:
    """The named model of the file (``all``, or ``without-<corpus>``).

    Raises:
        ModelError: the file is unusable or has no model of that name.
    """
    path = path or model_file()
    models = read_file(path)["models"]
    if name not in models:
        raise ModelError(f"no answer model {name!r} in {path}: choose from {', '.join(sorted(models))}")
    try:
        return AnswerModel.from_dict(name, models[name])
    except (KeyError, TypeError, ValueError) as e:
        raise ModelError(f"{path}: model {name!r} is malformed ({e})") from None
