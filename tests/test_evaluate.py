"""Metric functions over plain data, and reading question sets."""

import re

import pytest

from rag.evaluation import evaluate as ev


def test_relevance_ignores_whitespace():
    assert ev.relevance(["北约 将继续\n履行", "无关"], ["将继续履行"]) == [True, False]


def test_reciprocal_rank_and_ndcg():
    assert ev.reciprocal_rank([False, True, False]) == 0.5
    assert ev.reciprocal_rank([False, False]) == 0.0
    assert ev.ndcg([True], 1) == 1.0
    assert 0 < ev.ndcg([False, True], 1) < 1
    assert ev.ndcg([False], 0) == 0.0


def test_retrieval_metrics():
    rows = [{"rel": [True, False], "n_relevant": 1}, {"rel": [False, False, True], "n_relevant": 1}]
    m = ev.retrieval_metrics(rows)
    assert m["hit@1"] == 0.5 and m["hit@3"] == 1.0
    assert abs(m["mrr"] - (1 + 1 / 3) / 2) < 1e-9


def test_percentile():
    assert ev.percentile([5, 1, 3, 2, 4], 50) == 3
    assert ev.percentile([1, 2, 3, 4, 100], 95) == 100


def test_answer_metrics_and_separation():
    rows = [
        {"answerable": True, "abstained": False, "contains": True, "cited": True, "length": 10,
         "signals": {"sentence_margin": 0.05}},
        {"answerable": True, "abstained": True, "contains": False, "cited": False, "length": 0,
         "signals": {"sentence_margin": 0.02}},
        {"answerable": False, "abstained": True, "contains": False, "cited": False, "length": 0,
         "signals": {"sentence_margin": 0.01}},
    ]
    m = ev.answer_metrics(rows)
    assert m["answer_contains_evidence"] == 0.5 and m["unanswerable_rejected"] == 1.0
    assert m["answerable_rejected"] == 0.5
    assert ev.separation(rows, "sentence_margin") == 1.0  # the unanswerable one has the lowest margin


def test_groups_split_by_language_and_id_parity():
    from rag.evaluation.evaluate import format_groups, groups

    def row(qid, lang, answerable, first_hit, abstained, contains):
        return {"id": qid, "lang": lang, "answerable": answerable, "rel": [first_hit, False] if answerable else [],
                "n_relevant": 1 if answerable else 0, "abstained": abstained, "contains": contains,
                "cited": contains, "length": 10}

    rows = [row("q001", "zh", True, True, False, True), row("q002", "en", True, False, False, False),
            row("q003", "zh", False, False, True, False), row("q004", "en", False, False, False, False)]
    g = groups(rows)
    assert set(g) == {"lang zh", "lang en", "odd ids", "even ids"}
    assert g["lang zh"]["questions"] == 2 and g["lang zh"]["mrr"] == 1.0 and g["lang zh"]["unanswerable_rejected"] == 1.0
    assert g["lang en"]["mrr"] == 0.0 and g["lang en"]["unanswerable_rejected"] == 0.0
    assert g["odd ids"]["answer_contains_evidence"] == 1.0 and g["even ids"]["answer_contains_evidence"] == 0.0
    table = format_groups(g)
    assert "lang en" in table and "unans.rej" in table and len(table.splitlines()) == 5
    g = groups([{**r, "set": "heldout" if r["id"] < "q003" else "blind"} for r in rows])
    assert g["set heldout"]["questions"] == 2 and g["set heldout"]["mrr"] == 0.5
    assert g["set blind"]["unanswerable_rejected"] == 0.5


BAD_SETS = [
    ("not json\n", ":1: not JSON"),
    ("[1, 2]\n", ":1: not a JSON object"),
    ('{"id": "x1"}\n', "'question' must be a non-empty string"),
    ('{"question": "北约?"}\n', "'id' must be a non-empty string"),
    ('{"id": "x1", "question": "北约?", "evidence": "北约"}\n', "'evidence' must be a list"),
    ('{"id": "x1", "question": "北约?"}\n{"id": "x1", "question": "欧盟?"}\n', ":2: id 'x1' already used on line 1"),
    ("\n\n", "no questions"),
]


@pytest.mark.parametrize("text, message", BAD_SETS)
def test_a_question_set_run_cannot_use_is_refused_with_file_and_line(tmp_path, text, message):
    path = tmp_path / "set.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(message)) as e:
        ev.load_questions(path)
    assert str(path) in str(e.value)


def test_question_sets_are_joined_with_ids_unique_across_them(tmp_path):
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    a.write_text('{"id": "a1", "question": "北约?", "evidence": []}\n', encoding="utf-8")
    b.write_text('{"id": "b1", "question": "欧盟?", "evidence": ["欧洲联盟"]}\n', encoding="utf-8")
    c.write_text('{"id": "a1", "question": "俄罗斯?"}\n', encoding="utf-8")
    joined = ev.load_question_sets([a, b])
    assert [(q["id"], q["set"]) for q in joined] == [("a1", "a"), ("b1", "b")]
    assert "set" not in ev.load_question_sets([a])[0]
    with pytest.raises(ValueError, match="'a1' is also in"):
        ev.load_question_sets([a, c])


def test_separation_is_the_auc_of_a_signal():
    def row(answerable, margin):
        return {"answerable": answerable, "signals": {"m": margin}}

    rows = [row(True, 0.05), row(True, 0.03), row(False, 0.01), row(False, 0.03)]
    assert ev.separation(rows, "m") == (2 + 1 + 0.5) / 4  # 0.01 under both; 0.03 under one, tied with one
    assert ev.separation([row(True, 0.05)], "m") is None
