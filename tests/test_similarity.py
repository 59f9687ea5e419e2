"""The one n-gram builder and Jaccard measure that stage 03's diversity limit and stage 04's dedup share."""
from lima.dataset.dedup import PromptIndex
from lima.similarity import jaccard, ngrams, normalize_text


def test_ngrams_are_word_ngrams_of_normalised_text():
    assert ngrams(normalize_text("Tie a Tie, quickly!"), 3) == {("tie", "a", "tie"), ("a", "tie", "quickly")}
    assert ngrams(normalize_text("don't"), 2) == ngrams("don t", 2) == {("don", "t")}


def test_a_text_shorter_than_n_is_one_ngram():
    assert ngrams("hello", 2) == {("hello",)}
    assert ngrams("", 3) == frozenset()
    assert jaccard(ngrams("tie a", 3), ngrams("tie a", 3)) == 1.0
    assert jaccard(ngrams("tie a", 3), ngrams("tie b", 3)) == 0.0


def test_short_prompts_are_duplicates_only_when_equal():
    index = PromptIndex()
    index.add("a", "Hello there")
    assert index.find("hello, there!").kind == "exact"
    assert index.find("Hello you") is None
