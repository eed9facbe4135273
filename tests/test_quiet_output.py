"""Building and loading the model prints one labelled line or bar per step and no library
chatter: no transformers "LOAD REPORT" table, no "Loading weights" / "Writing model shards"
bars, no unlabelled sentence-transformers "Batches" bar."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from rag.models import e5build
from rag.models.encoder import SentenceTransformerEncoder

CHATTER = ("LOAD REPORT", "MISSING", "Consider training", "Loading weights", "Writing model shards", "Batches")


class Printed(logging.Handler):
    """What transformers' own handler would print (its stream is bound before capture starts)."""

    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())

    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def chatty_transformers():
    """transformers as a fresh process has it (warnings and bars on), restored afterwards;
    yields its logging module and what it logs."""
    from transformers.utils import logging as hf_logging

    level, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_warning()
    hf_logging.enable_progress_bar()
    printed = Printed()
    logging.getLogger("transformers").addHandler(printed)
    yield hf_logging, printed
    logging.getLogger("transformers").removeHandler(printed)
    hf_logging.set_verbosity(level)
    (hf_logging.enable_progress_bar if bars else hf_logging.disable_progress_bar)()


def test_quiet_transformers_is_scoped_and_keeps_errors(chatty_transformers):
    hf_logging, printed = chatty_transformers
    log = hf_logging.get_logger("transformers.modeling_utils")
    with e5build.quiet_transformers():
        with e5build.quiet_transformers():  # nested (two threads loading at once)
            assert hf_logging.get_verbosity() == logging.ERROR
            assert not hf_logging.is_progress_bar_enabled()
        assert hf_logging.get_verbosity() == logging.ERROR  # the outer user is still loading
        log.warning("a load report")
        log.error("a real error")
    assert hf_logging.get_verbosity() == logging.WARNING
    assert hf_logging.is_progress_bar_enabled()
    assert printed.lines == ["a real error"]


class StubModel:
    """Stands in for a SentenceTransformer: a vector from each text's length, batch sizes kept."""

    def __init__(self):
        self.batches: list[int] = []

    def encode_document(self, texts, show_progress_bar=None, **_):
        assert show_progress_bar is False
        self.batches.append(len(texts))
        return np.array([[len(t), 1.0] for t in texts], np.float32)


def test_passage_bar_is_labelled_and_order_is_kept(tmp_path, capfd):
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "modules.json").write_text(json.dumps(
        [{"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 2}))
    enc = SentenceTransformerEncoder(str(tmp_path), backend="torch")
    enc._model = StubModel()
    texts = ["x" * (i % 7 + 1) for i in range(70)]
    out = enc.encode_passages(texts, progress="embedding test passages")
    assert out[:, 0].tolist() == [len(t) for t in texts] and enc._model.batches == [32, 32, 6]
    assert enc.encode_passages([], progress="embedding nothing").shape == (0, 2)
    err = capfd.readouterr().err
    assert "embedding test passages" in err and "70/70" in err
    assert "embedding nothing" not in err and "Batches" not in err
    enc.encode_passages(texts)  # no progress asked: nothing printed
    assert capfd.readouterr().err == ""


@pytest.mark.model
def test_building_and_loading_the_model_print_only_our_bars(tmp_path, chatty_transformers, capfd):
    model_dir = e5build.build_model_dir(tmp_path / "e5", progress=True)
    enc = SentenceTransformerEncoder(str(model_dir), backend="torch")
    vectors = enc.encode_passages(["北约的三大核心任务", "威慑和防御", "合作安全"], progress="embedding test passages")
    assert vectors.shape == (3, 384)
    hf_logging, printed = chatty_transformers
    err = capfd.readouterr().err + printed.text()
    assert [c for c in CHATTER if c in err] == [], err[-3000:]
    assert "building e5-small" in err and "4/4" in err
    assert "embedding test passages" in err and "3/3" in err
    # the load did not leave transformers silenced for the rest of the process
    assert hf_logging.get_verbosity() == logging.WARNING
    assert hf_logging.is_progress_bar_enabled()
