"""The learned answer model: the shipped file is current and complete, bad files get clear
errors, and `rag train` fits, writes and serves a model end to end (fake encoder)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from rag.answers import model as answer_model
from rag.answers.features import QUESTION_FEATURES, SENTENCE_FEATURES
from rag.evaluation import suite, training
from tests.conftest import ROOT, FakeEncoder

LAW = ROOT / "eval" / "suites" / "laws" / "docs" / "data-security-law-2021.md"
LAW_QUESTIONS = ROOT / "eval" / "suites" / "laws" / "questions" / "data-security-law-2021.jsonl"


def test_the_shipped_model_was_trained_on_todays_suite():
    data = answer_model.read_file(answer_model.MODEL_FILE)
    assert data["suites"] == suite.suite_names()
    assert data["data_hash"] == training.data_hash(data["suites"]), (
        "the eval suite changed since the answer model was trained: run `rag train`, then `rag eval --suite`")


def test_the_shipped_file_has_the_shipped_model_and_one_per_group_left_out():
    data = answer_model.read_file(answer_model.MODEL_FILE)
    groups = sorted({suite.load_suite(n)["group"] for n in suite.suite_names()})
    assert data["groups"] == groups and len(groups) >= 3
    assert set(data["models"]) == {"all", *(f"without-{g}" for g in groups)}
    for name in data["models"]:
        m = answer_model.load(name, answer_model.MODEL_FILE)
        assert 0.0 <= m.threshold <= 1.0 and 0.0 < m.keep_ratio and 0.0 <= m.min_probability < 1.0


def test_laws_in_other_formats_are_left_out_with_the_laws():
    assert suite.load_suite("laws-pdf")["group"] == suite.load_suite("laws-docx")["group"] == "laws"
    assert suite.load_suite("seeds")["group"] == "seeds"


def test_logistic_round_trip_and_shape_check():
    rng = np.random.default_rng(0)
    n = len(SENTENCE_FEATURES)
    lg = answer_model.Logistic(rng.random(n), rng.random(n) + 0.5, rng.standard_normal(n), 0.3)
    again = answer_model.Logistic.from_dict(json.loads(json.dumps(lg.to_dict())), n)
    x = rng.random((4, n))
    assert np.allclose(lg.probability(x), again.probability(x))
    assert ((lg.probability(x) > 0) & (lg.probability(x) < 1)).all()
    with pytest.raises(ValueError):
        answer_model.Logistic.from_dict(lg.to_dict(), n + 1)


def test_unusable_model_files_get_a_clear_error(tmp_path):
    bad = tmp_path / "m.json"
    with pytest.raises(answer_model.ModelError, match="rag train"):
        answer_model.load(path=bad)  # missing
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(answer_model.ModelError, match="rag train"):
        answer_model.load(path=bad)
    data = json.loads(answer_model.MODEL_FILE.read_text(encoding="utf-8"))
    bad.write_text(json.dumps({**data, "question_features": list(QUESTION_FEATURES)[:-1]}), encoding="utf-8")
    with pytest.raises(answer_model.ModelError, match="other features"):
        answer_model.load(path=bad)
    with pytest.raises(answer_model.ModelError, match="choose from"):
        answer_model.load("without-nothing", answer_model.MODEL_FILE)
    data["models"]["all"]["sentence"]["coef"] = [1.0]
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(answer_model.ModelError, match="malformed"):
        answer_model.load(path=bad)


def test_the_threshold_is_the_lowest_groups_normal_quantile_and_one_question_cannot_move_it():
    from statistics import NormalDist

    rng = np.random.default_rng(1)
    logits = np.concatenate([rng.normal(2.0, 1.0, 300), rng.normal(3.0, 0.5, 300)])  # group a lies lower
    p = 1 / (1 + np.exp(-logits))
    y = np.ones(600, dtype=bool)
    y[::5] = False  # unanswerable questions never set it
    p[~y] = 0.001
    groups = ["a" if i < 300 else "b" for i in range(600)]
    forced = np.zeros(600, dtype=bool)
    t = training.choose_threshold(p, y, forced, groups)
    expected = 1 / (1 + np.exp(-(2.0 + NormalDist().inv_cdf(training.MAX_REFUSED))))
    assert abs(np.log(t / (1 - t)) - np.log(expected / (1 - expected))) < 0.3
    refused_a = (p[:300][y[:300]] < t).mean()
    assert 0 < refused_a <= 3 * training.MAX_REFUSED
    assert (p[300:][y[300:]] < t).mean() < refused_a
    # one answerable question far below the rest moves it a little, not to that question
    low = p.copy()
    low[1] = 1e-5
    moved = training.choose_threshold(low, y, forced, groups)
    assert t / 2 < moved < t
    # a question a rule refuses anyway is not counted
    forced[1] = True
    assert training.choose_threshold(low, y, forced, groups) == pytest.approx(
        training.choose_threshold(np.delete(p, 1), np.delete(y, 1), np.delete(forced, 1), groups[:1] + groups[2:]))
    # a group with fewer than two free answerable questions sets nothing
    assert training.choose_threshold(p[:2], y[:2], np.zeros(2, dtype=bool), ["a", "b"]) == 1.0


def test_a_span_over_two_sentences_labels_both(fake_assistant):
    from rag.answers.features import candidates
    from rag.records import Hit

    a = fake_assistant
    p = a.lookup("SC2022-4")
    cands = candidates(a.corpus, "北约的核心任务", [Hit(p, 1.0)], {}, np.zeros(len(a.sentences.sentences)))
    texts = [s.text for s in cands.sentences]
    assert len(texts) == 2
    both = training.sentence_labels(a.corpus, cands, [texts[0][-6:] + texts[1][:6]], [])
    first = training.sentence_labels(a.corpus, cands, [texts[0][2:12]], [])
    short_answer = training.sentence_labels(a.corpus, cands, [texts[1][:12]], [texts[1][6:10]])
    elsewhere = training.sentence_labels(a.corpus, cands, ["不在这里的证据"], [texts[1][6:10]])
    assert both.tolist() == [True, True] and first.tolist() == [True, False]
    assert short_answer.tolist() == [False, True] and elsewhere.tolist() == [False, False]


def test_the_sentence_holding_the_readers_span_is_quoted_with_the_models_pick(fake_assistant):
    from rag.answers.features import candidates
    from rag.answers.pick import with_span
    from rag.answers.reading import NOTHING, PassageReading
    from rag.records import Hit

    a = fake_assistant
    hits = [Hit(a.lookup("SC2022-4"), 1.0)]
    first, second = candidates(a.corpus, "北约的核心任务", hits, {}, np.zeros(len(a.sentences.sentences))).sentences
    a0 = hits[0].passage.text.find(second.text)
    read = PassageReading((0.9,), ((a0 + 2, a0 + 6),))  # the span lies in the second sentence
    cands = candidates(a.corpus, "北约的核心任务", hits, {}, np.zeros(len(a.sentences.sentences)), read)
    assert [s.text for s in with_span(cands, [first])] == [first.text, second.text]
    assert with_span(cands, [second]) == [second]  # already quoted
    assert with_span(cands, []) == []  # nothing picked: nothing to add to
    unread = candidates(a.corpus, "北约的核心任务", hits, {}, np.zeros(len(a.sentences.sentences)), NOTHING)
    assert with_span(unread, [first]) == [first]


def test_a_date_or_number_the_question_asks_for_is_quoted_when_the_pick_has_none(fake_assistant):
    from rag.answers.answertype import has
    from rag.answers.features import candidates
    from rag.answers.pick import with_asked
    from rag.records import Hit

    a = fake_assistant
    hits = [Hit(a.lookup("SC2022-4"), 1.0), Hit(a.lookup("S2003-85-L1-1"), 0.5)]
    question = "北约秘书长的信是什么时候写的？"
    cands = candidates(a.corpus, question, hits, {}, np.zeros(len(a.sentences.sentences)))
    dated = [s for s in cands.sentences if has("date", s.text)]
    undated = [s for s in cands.sentences if not has("date", s.text)]
    assert dated and undated
    probabilities = np.array([0.1 if has("date", s.text) else 0.9 for s in cands.sentences])
    # the pick holds no date: the best-rated sentence with one is added, grouped by passage
    quoted = with_asked(question, cands, probabilities, undated[:1])
    assert [s.text for s in quoted] == [undated[0].text, dated[0].text]
    # a pick that already holds one, a question asking for neither, nothing picked: untouched
    assert with_asked(question, cands, probabilities, dated[:1]) == dated[:1]
    assert with_asked("北约的核心任务是什么？", cands, probabilities, undated[:1]) == undated[:1]
    assert with_asked(question, cands, probabilities, []) == []
    # no candidate holds what is asked for: untouched
    only = candidates(a.corpus, question, hits[:1], {}, np.zeros(len(a.sentences.sentences)))
    assert not any(has("date", s.text) for s in only.sentences)
    assert with_asked(question, only, np.ones(len(only.rows)), undated[:1]) == undated[:1]


def _tiny_suites(root):
    for name, law_questions in (("one", LAW_QUESTIONS), ("two", LAW_QUESTIONS)):
        folder = root / name
        (folder / "docs").mkdir(parents=True)
        shutil.copy(LAW, folder / "docs" / LAW.name)
        rows = [json.loads(x) for x in law_questions.read_text(encoding="utf-8").splitlines() if x.strip()]
        half = rows[: len(rows) // 2] if name == "one" else rows[len(rows) // 2:]
        (folder / "q.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in half), "utf-8")
        (folder / "suite.json").write_text(json.dumps({"docs": [f"docs/{LAW.name}"], "questions": ["q.jsonl"]}),
                                           encoding="utf-8")


def test_train_writes_a_model_that_answers(tmp_path, monkeypatch):
    root = tmp_path / "suites"
    _tiny_suites(root)
    out = tmp_path / "model.json"
    report = training.train(["one", "two"], FakeEncoder(), out=out, progress=lambda m: None, root=root)
    assert set(report) == {"all", "without-one", "without-two"}
    data = answer_model.read_file(out)
    assert data["data_hash"] == training.data_hash(["one", "two"], root)
    (root / "two" / "q.jsonl").write_text((root / "two" / "q.jsonl").read_text("utf-8")[:-200], "utf-8")
    assert data["data_hash"] != training.data_hash(["one", "two"], root)  # changed data: retrain
    for info in report.values():
        assert info["examples"]["answerable"] > 0 and info["examples"]["made"] > 0
        # the quoting setting keeps every training group's mean answer within the bound (the
        # per-answer budget itself may be longer)
        assert info["quoting"]["allowed"] and info["quoting"]["longest_mean"] <= training.MAX_MEAN_CHARS
        assert info["quoting"]["max_chars"] in training.MAX_CHARS
    monkeypatch.setenv(answer_model.ENV, str(out))
    from rag.evaluation.corpora import corpus_assistant

    a = corpus_assistant([LAW], FakeEncoder(), root=tmp_path / "eval")
    assert a.answer_model.name == "all"
    ans = a.ask("数据安全法的立法目的是什么？")
    assert 0.0 <= ans.signals.answerable <= 1.0


def test_eval_asks_without_the_gold_passage(fake_assistant):
    ans = fake_assistant.ask_without("北约的三大核心任务是什么？", ["SC2022-4"])
    assert "SC2022-4" not in [h.passage.id for h in ans.hits]
    assert all(c.id != "SC2022-4" for c in ans.citations)
    assert fake_assistant.ask("北约的三大核心任务是什么？").hits[0].passage.id == "SC2022-4"


def test_calibration_curve_and_reliability():
    from rag.evaluation.evaluate import calibration

    def row(p, answerable, right, anyway=False):
        return {"signals": {"answerable": p}, "answerable": answerable, "would_contain": right,
                "refused_anyway": anyway}

    rows = [row(0.9, True, True), row(0.8, True, False), row(0.6, False, False), row(0.2, True, True),
            row(0.1, False, False), row(0.95, True, True, anyway=True)]
    c = calibration(rows, 0.5, steps=10)
    assert c["shipped"]["answered"] == pytest.approx(3 / 6)
    assert c["shipped"]["right_when_answered"] == pytest.approx(1 / 3)
    assert c["shipped"]["answerable_refused"] == pytest.approx(2 / 4)
    assert c["shipped"]["unanswerable_rejected"] == pytest.approx(1 / 2)
    assert c["curve"][0]["unanswerable_rejected"] == 0.0
    assert calibration([r for r in rows if r["answerable"]], 0.5)["shipped"]["unanswerable_rejected"] is None
    answered = [pt["answered"] for pt in c["curve"]]
    assert answered == sorted(answered, reverse=True) and c["curve"][0]["threshold"] == 0.0
    assert sum(b["questions"] for b in c["reliability"]) == len(rows)


def test_best_rejection_respects_the_refusal_budget():
    from rag.evaluation.evaluate import best_rejection

    def row(p, answerable, anyway=False):
        return {"signals": {"answerable": p}, "answerable": answerable, "refused_anyway": anyway,
                "would_contain": answerable}

    ans = [row(p, True) for p in (0.1, 0.5, 0.6, 0.7, 0.8, 0.9, 0.9, 0.9, 0.9, 0.95)]
    una = [row(0.05, False), row(0.3, False), row(0.55, False), row(0.99, False, anyway=True)]
    none_refused = best_rejection(ans + una, 0.0)
    assert none_refused["answerable_refused"] == 0.0 and none_refused["unanswerable_rejected"] == 0.5
    one_refused = best_rejection(ans + una, 0.1)  # 0.1 refused lets the threshold pass 0.3
    assert one_refused["answerable_refused"] == pytest.approx(0.1)
    assert one_refused["unanswerable_rejected"] == 0.75
    assert best_rejection(ans, 0.1) is None
    ruled = best_rejection([row(0.9, True, anyway=True), *ans[1:], *una], 0.05)  # rules refuse 0.1 already
    assert ruled["threshold"] is None and ruled["answerable_refused"] == pytest.approx(0.1)


def test_suite_prints_the_tradeoff_only_where_there_are_unanswerable_questions():
    from rag.evaluation.suite import format_tradeoff

    best = {"threshold": 0.12, "answerable_refused": 0.016, "unanswerable_rejected": 0.25}
    result = {"reports": {"laws": {"tradeoff": {"auc": 0.61, "best": best}},
                          "cmrc2018-trial": {"tradeoff": {"auc": None, "best": None}}}}
    text = format_tradeoff(result)
    assert "laws" in text and "AUC 0.610" in text and "rejects 0.250" in text and "cmrc" not in text
    assert format_tradeoff({"reports": {"cmrc2018-trial": result["reports"]["cmrc2018-trial"]}}) == ""
    ruled = {"threshold": None, "answerable_refused": 0.029, "unanswerable_rejected": 0.1}
    assert "alone refuse 0.029" in format_tradeoff({"reports": {"laws-pdf": {"tradeoff": {"auc": 0.7, "best": ruled}}}})


def test_rag_train_refuses_an_unknown_suite(capsys):
    from rag.cli import main

    assert main(["train", "--suite", "no-such-suite"]) == 2
    err = capsys.readouterr().err
    assert "unknown suite" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_the_reader_reads_further_passages_only_when_the_first_does_not_answer(monkeypatch):
    from rag.answers import reading
    from rag.records import Hit, Passage

    hits = [Hit(Passage(f"D-{i}", "D", "D", (), f"D第{i}段", f"第{i}段的文字。", i), 1.0 - i / 10) for i in range(6)]
    asked: list[list[str]] = []

    def read(probabilities):  # the reader's P(answers) for passages 0, 1, 2 ...
        def _read(reader, question, texts):
            asked.append(texts)
            return (tuple(probabilities[int(t[1])] for t in texts), tuple((0, 1) for _ in texts))
        return _read

    monkeypatch.setattr(reading, "_read", read([0.9, 0.4, 0.3, 0.2]))
    assert reading.read_hits(object(), "问题", hits).probabilities == (0.9,)  # the first answers: read once
    monkeypatch.setattr(reading, "_read", read([0.2, 0.6, 0.1, 0.7]))
    asked.clear()
    got = reading.read_hits(object(), "问题", hits)
    assert asked == [[hits[0].passage.text], [h.passage.text for h in hits[1:reading.READ_MORE]]]
    assert got.probabilities == (0.2, 0.6, 0.1)[: reading.READ_MORE] and got.best == 1
    assert reading.read_hits(None, "问题", hits) is reading.NOTHING


def test_a_follow_ups_readings_are_weighed_by_the_top_passages_probability():
    """The reader reads a second passage only when the first does not answer; the best of those
    (``Signals.reader``) is the answer model's, the top passage's (``reader_top``) the chooser's."""
    from rag.assistant import _probability
    from rag.records import Answer, Signals

    def answer(**kw):
        return Answer("问", "答", (), (), False, signals=Signals(0.8, 0.1, 0.5, "zh", answerable=0.7, **kw))

    assert _probability(answer(reader=0.9, reader_top=0.2)) == 0.2
    assert _probability(answer()) == 0.7  # no reader: the answer model's probability
    assert _probability(Answer("问", "", (), (), True)) == 0.0
