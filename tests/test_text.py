from qa.text import detect_lang, fold, numbers, sentences, terms


def test_sentences_keep_offsets_and_skip_abbreviations():
    text = "From late Sept. to early Nov. 2020 the war went on. The U.S. said so.\n\nNew para here"
    spans = sentences(text)
    assert [s.text for s in spans] == ["From late Sept. to early Nov. 2020 the war went on.", "The U.S. said so.", "New para here"]
    assert all(text[s.start : s.end] == s.text for s in spans)


def test_numbers_are_normalised():
    assert numbers("1,275 hostages and 6.500 dead in 2020") == {"1275", "6500", "2020"}
    assert numbers("3.5 percent") == {"3.5"}


def test_language_detection():
    assert detect_lang("¿Cuántas personas murieron en el conflicto?") == "es"
    assert detect_lang("How many people died in the conflict?") == "en"


def test_fold_and_terms():
    assert fold("Azerbaiyán") == "azerbaiyan"
    assert "rehen" in terms("los rehenes") and "the" not in terms("the hostages")
