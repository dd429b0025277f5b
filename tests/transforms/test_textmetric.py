"""The benchmark metric, checked against hand-computed values."""

from __future__ import annotations

import pytest

from transforms.textmetric import PageScore, corpus_scores, score_page, shingle_counts


def test_shingles_are_4_token_runs_with_multiplicity() -> None:
    counts = shingle_counts("a b c d a b c d")
    assert counts[("a", "b", "c", "d")] == 2
    assert sum(counts.values()) == 5
    assert shingle_counts("only three words") == {}


def test_tokens_are_case_sensitive_word_runs() -> None:
    assert shingle_counts("One, two; three... four!") == {("One", "two", "three", "four"): 1}
    assert score_page("one two three four", "One two three four").tp == 0.0


def test_page_score_is_normalised() -> None:
    gold = "w1 w2 w3 w4 w5 w6"            # 3 shingles
    pred = "w1 w2 w3 w4 w5 x y z"         # 5 shingles, 2 shared
    s = score_page(pred, gold)
    assert (s.tp, s.fp, s.fn) == pytest.approx((2 / 6, 3 / 6, 1 / 6))
    assert not s.empty_prediction


def test_empty_prediction_counts_for_recall_only() -> None:
    scores = [score_page("a b c d", "a b c d"), score_page(None, "e f g h")]
    assert scores[1] == PageScore(0.0, 0.0, 1.0, True)
    precision, recall, f1 = corpus_scores(scores)
    assert precision == 1.0
    assert recall == 0.5
    assert f1 == pytest.approx(2 / 3)


def test_both_empty_is_a_perfect_match() -> None:
    s = score_page("", "tiny")
    assert s.tp == 1.0 and s.fp == 0.0 and s.fn == 0.0
    assert corpus_scores([s])[1] == 1.0


def test_f1_is_harmonic_mean_of_means_not_mean_of_f1s() -> None:
    a = score_page("a b c d e f g h i j", "a b c d")       # precision 1/7, recall 1
    b = score_page("k l m n", "k l m n o p q r s t")       # precision 1, recall 1/7
    p, r, f1 = corpus_scores([a, b])
    assert p == pytest.approx(4 / 7) and r == pytest.approx(4 / 7)
    assert f1 == pytest.approx(4 / 7)
