"""Keywords weighted by rarity in general text (transforms.keywords): the same-event evidence."""

from __future__ import annotations

from transforms.keywords import cosine, event_keywords, idf, keywords, weights


def test_rare_words_weigh_more_than_common_ones() -> None:
    assert idf("said", "en") < idf("volcano", "en") < idf("pneumonitis", "en")
    assert idf("xqzvkl", "en") == 7.0  # unknown: a name, a code, a misspelling


def test_the_article_language_table_is_used_with_its_accents() -> None:
    # "für" is among the most common German words; unknown to English it would look rare.
    assert idf("für", "de") < 2.5 < idf("für", "en")
    assert idf("für", None) == idf("für", "en")
    assert idf("didn", "en") == idf("didn't", "en") < 3.5  # read as "didn" and "t"


def test_keywords_prefer_the_event_over_function_words_and_years() -> None:
    kw = keywords("Volcano erupts on Hekla Island",
                  "The volcano on Hekla Island erupted in 2024 and the residents of Skarvik fled "
                  "as the ash rose, the agency said.", "en", top=5)
    assert "hekla" in kw and "skarvik" in kw and "volcano" in kw
    assert not {"the", "and", "said", "2024"} & set(kw)
    assert list(kw.values()) == sorted(kw.values(), reverse=True)


def test_lead_and_body_keywords_from_one_reading() -> None:
    text = "Skarvik was evacuated on Tuesday. " + "Later the ferry to Nordhavn resumed. " * 30
    lead, body = event_keywords("Eruption", text, "en", lead_words=5, lead_top=10, body_top=50)
    assert "skarvik" in lead and "nordhavn" not in lead
    assert {"skarvik", "nordhavn", "eruption"} <= set(body)
    assert lead == keywords("Eruption", text, "en", lead_words=5, top=10)


def test_cosine_of_unit_vectors() -> None:
    a = weights({"hekla": 3.0, "volcano": 4.0}, "en")
    assert abs(cosine(a, a) - 1.0) < 1e-9
    assert cosine(a, weights({"etna": 1.0}, "en")) == 0.0
