"""Near-duplicate detection: copies of a story are found, different stories on the same subject are not."""

from qa.ingest.dedup import Signatures, Stories, shingles
from tests.conftest import SEEDS, make_settings


def seeds() -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}


def test_shingles_ignore_case_accents_and_punctuation():
    assert shingles("The Kremlin, said Putin.", 2) == shingles("the kremlin said PUTIN", 2) == {b"the kremlin", b"kremlin said", b"said putin"}
    assert shingles("Moscú", 3) == shingles("moscu", 3) == {b"moscu"}  # shorter than a shingle: one shingle of all of it


def test_copies_match_their_story_and_different_seeds_do_not(tmp_path):
    settings = make_settings(tmp_path)
    sig = Signatures(settings)
    stories = Stories(settings)
    texts = seeds()
    for aid, text in texts.items():
        stories.add(aid, sig.of(text))
    khojaly = texts["001_0fce656212b9b58a"]
    words = khojaly.split(" ")
    trimmed = " ".join(words[: int(len(words) * 0.8)])  # the end cut, as outlets trim wire copy
    edited = khojaly.replace("Peruvian", "Peru's").replace("adopted", "approved").replace("Azerbaijani", "Azeri", 2)
    for copy in (f"By AZERTAC\n{khojaly}\nAll rights reserved.", trimmed, edited):
        match = stories.find(sig.of(copy))
        assert match is not None and match.article_id == "001_0fce656212b9b58a" and match.similarity >= settings.duplicate_jaccard
    for aid, text in texts.items():
        assert stories.find(sig.of(text), exclude=aid) is None  # five stories on one subject, none merged
    follow_up = khojaly[: len(khojaly) // 2] + texts["000_fbefe321117536a3"]
    assert stories.find(sig.of(follow_up), exclude="000_fbefe321117536a3") is None  # half old background, half new


def test_signatures_round_trip_and_other_settings_are_recomputed(tmp_path):
    sig = Signatures(make_settings(tmp_path))
    s = sig.of("The port of Lisbon reopened on Tuesday after a storm.")
    assert sig.decode(sig.encode(s)).jaccard(s) == 1.0
    assert Signatures(make_settings(tmp_path, minhash_permutations=64)).decode(sig.encode(s)) is None
    assert sig.decode("") is None
