"""From passages to a short answer in which every sentence cites, and is verified against, its source."""

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from . import prompts
from .embed import Embedder
from .llm import LLM
from .settings import Settings
from .text import STOPWORDS, YEAR, detect_lang, fold, is_directive, is_year, numbers, quantities, sentences as split_sentences, terms, without_directives, words
from .translate import Translator, translated
from .types import Answer, AnswerSentence, Citation, Passage, Sentence
from .verify import MARKER, Check, Verifier, months, names, quantity_text, strip_markers

_WANTS_NUMBER = re.compile(r"\b(how many|how much|what number|what percentage|cu[aá]nt[oa]s?|qu[eé] porcentaje|qu[eé] n[uú]mero)\b", re.I)
_WANTS_DATE = re.compile(r"\b(when|dated|fechad[oa]s?|what date|what year|which day|which year|cu[aá]ndo|qu[eé] fecha|qu[eé] d[ií]a|qu[eé] año)\b", re.I)
# "What was the budget ...?" asks for an amount as surely as "how much": no sentence without one answers it.
_WANTS_AMOUNT = re.compile(
    r"^\W*(what|which|cu[aá]l)\s+(is|was|were|are|es|era|fue|son|fueron)\s+(the|el|la|los|las)\s+(\w+\s+)?"
    r"(budget|cost|price|population|amount|salary|revenue|area(?=\s+of\b)|size|height|length|age|presupuesto|costo|coste|precio|poblaci[oó]n|monto|"
    r"importe|salario|superficie|extensi[oó]n|tama[nñ]o|altura|longitud|edad)\b", re.I)
_FOLLOW_UP = re.compile(
    r"^\s*(and|also|what about|how about|y|e|tambi[eé]n|qu[eé] hay de|y qu[eé])\b|\b(it|its|they|them|their|there|that|those|this|he|she|his|her|"
    r"ello|ella|ellos|ellas|eso|esa|ese|esos|esas|all[ií]|su|sus)\b",
    re.I,
)
_YEAR = re.compile(rf"\b{YEAR}\b|\b\d{{1,2}}(st|nd|rd|th)\b", re.I)


@dataclass(frozen=True)
class Candidate:
    sentence: Sentence
    vector: np.ndarray
    passage_index: int  # 1-based position in the passage list
    similarity: float  # e5 cosine, less same_language_penalty for a sentence in the question's language
    score: float
    coverage: float
    lifting: float | None = None  # lifting_coverage, for a sentence in the other language


@dataclass(frozen=True)
class Draft:
    """An answer before verification: sentences with markers that refer to passage positions (1-based)."""

    sentences: list[tuple[str, tuple[int, ...]]]
    prefix: list[str | None]  # attribution shown before a sentence, not part of what is verified
    note: str | None = None
    translations: tuple[str | None, ...] = ()  # a quote's machine translation, shown after it


def refusal_text(lang: str) -> str:
    return prompts.load(f"refusal.{lang if lang in ('en', 'es') else 'en'}").render()


def is_follow_up(question: str) -> bool:
    return bool(_FOLLOW_UP.search(question)) or len(terms(question)) <= 2


def condense(question: str, history: list[dict] | None, llm: LLM | None = None) -> str:
    """Make a follow-up standalone: the LLM rewrites it when there is one, else the last user turn is prepended."""
    turns = [(str(m.get("role", "")), str(m.get("content") or "").strip()) for m in history or []]
    previous = [text for role, text in turns if role == "user" and text]
    if not previous or not is_follow_up(question):
        return question
    if llm is not None:
        shown = "\n".join(f"{role}: {text}" for role, text in turns[-6:] if text)
        rewritten = llm.complete(prompts.load("condense").render(history=shown, question=question), max_tokens=64).strip()
        if rewritten and len(rewritten) < 400:
            return rewritten.splitlines()[0].strip()
    return f"{previous[-1].strip()} {question.strip()}"


# Not after a question mark: "How many were taken hostage? And when?" is a follow-up prefixed with its context.
_PARTS = re.compile(
    r"(?<![?\s]),?\s+(?:and|y|e)\s+(?=(?:how|what|who|whom|when|which|where|why|c[uú]ant[oa]s?|qu[eé]|qui[eé]n(?:es)?|cu[aá]ndo|cu[aá]l(?:es)?|d[oó]nde)\b)",
    re.I,
)


def split_question(question: str) -> list[str]:
    """'How many X, and how long Y?' becomes two questions, each retrieved and answered on its own."""
    parts = [p.strip(" ,") for p in _PARTS.split(question) if p and p.strip(" ,")]
    if len(parts) < 2:
        return [question]
    lead = "¿" if question.lstrip().startswith("¿") else ""
    return [(lead + p.lstrip("¿") if lead and not p.startswith("¿") else p).rstrip("?") + "?" for p in parts]


def wants(question: str) -> tuple[bool, bool]:
    """Whether a count and a date are asked for, by the last question in the text: a follow-up condensed without a
    model is the previous question followed by it ("How many were taken hostage? And when?" wants a date)."""
    last = [q for q in question.split("?") if q.strip()][-1:] or [question]
    return bool(_WANTS_NUMBER.search(last[0])), bool(_WANTS_DATE.search(last[0]))


# Spanish "una" is left out: it is far more often the article ("una acción militar") than a count.
_NUMBER_WORDS = frozenset(
    """one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty hundred hundreds
    thousand thousands million dozen dozens uno dos tres cuatro cinco seis siete ocho nueve diez doce quince veinte
    treinta cien cientos mil miles millon millones docena""".split()
)


# "the 2020 second Karabakh war" names an event by its year: it dates that event, not what else the sentence reports.
_NAMING_YEAR = re.compile(rf"\bthe\s+{YEAR}((?:\s+[\w-]+){{1,4}})", re.I)
# Spanish future tense is marked by its accent: firmará, firmarán.
_FUTURE_QUESTION = re.compile(r"\bwhen\s+will\b|\bcuándo\s+(se\s+)?\w+r(á|án)\b", re.I)
_FUTURE = re.compile(r"\b(will|would|shall|expected|plans?|planned|scheduled|next|upcoming|future|prevé|próxim[oa]s?|futur[oa]s?|\w+r(á|án))\b", re.I)


# News dates by the weekday ("called during the night of this Monday", "este martes"), the article's date placing it.
_WEEKDAY = re.compile(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|lunes|martes|mi[eé]rcoles|jueves|viernes|"
                      r"s[aá]bado|domingo|ayer)\b", re.I)


def dates_it(question: str, text: str, published: str | None) -> bool:
    """Whether the sentence can answer a "when" question: a date that places what it reports, and for "when will"
    a future one (a 2020 surrender does not date a peace deal still to come in an article of 2021)."""
    asked = set(terms(question))
    dating = _NAMING_YEAR.sub(lambda m: m.group(0) if asked & set(terms(m.group(1))) else " ", text)
    if not (months(text) or _YEAR.search(dating) or _WEEKDAY.search(text)):
        return False
    if not _FUTURE_QUESTION.search(question) or _FUTURE.search(text):
        return True
    years = [int(n) for n in numbers(text) if is_year(n)]
    return bool(published and years and max(years) >= int(published[:4]))


_CONNECTORS = frozenset("de del la los of the for".split())


def _capitalised_runs(tokens: list[str], connectors: frozenset[str] = frozenset()) -> Iterator[list[str]]:
    """Runs of two or more capitalised tokens, folded; a connector inside a run ("Ministerio de Asuntos") does not
    end it, any other token (punctuation included, when the tokens have it) does."""
    run: list[str] = []
    for w in [*tokens, "."]:
        if w[:1].isupper():
            run.append(fold(w))
        elif run and fold(w) in connectors:
            continue
        else:
            if len(run) > 1:
                yield run
            run = []


def _compound_name_words(question: str) -> set[str]:
    """Words of multi-word names ("UN Security Council", "Ministerio de Asuntos Exteriores"), connectors allowed."""
    return {w for run in _capitalised_runs(words(question), _CONNECTORS) for w in run}


_WHO = re.compile(r"\b(?:who|whom|qui[eé]n(?:es)?)\b", re.I)


def names_someone_new(question: str, sentence: str) -> bool:
    """A full name ("Ilham Aliyev", "Nikol Pashinyan") that the question does not already give: what a 'who' asks for."""
    asked = names(question)
    tokens = re.findall(r"[^\W_][\w'’-]*|[^\w\s]", sentence)  # punctuation ends a run: "Azerbaijani, Russian"
    return any(not _found_name(w, asked) for run in _capitalised_runs(tokens[1:]) for w in run)


_WHY = re.compile(r"^\W*(?:why|por\s*qu[eé])\b", re.I)
_ACCORDING = re.compile(r",?\s*\b(?:according to|seg[uú]n)\b[^,?;]*", re.I)


def named_outlets(question: str, passages: list[Passage]) -> set[str]:
    """The outlets a question asks to hear from ("according to Trend", "según EFE"), among the passages' sources."""
    said = {fold(m.group(0)) for m in _ACCORDING.finditer(question)}
    return {fold(p.source) for p in passages if p.source and any(re.search(rf"\b{re.escape(fold(p.source))}\b", s) for s in said)}


def premise_held(question: str, sentence: Sentence, passage: Passage) -> bool:
    """A 'why' question takes what happened for granted ("Why was Azerbaijan expelled from ..."): the sentence that
    explains it, or one right beside it, must report that, or the explanation is of something else.

    Same language: every content word of the question, by stem; across languages only names can be compared.
    "According to the analyst" names a source, not part of what happened.
    """
    question = _ACCORDING.sub("", question)
    asked = names(question)
    spans = split_sentences(passage.text, passage.start)
    at = next((i for i, sp in enumerate(spans) if sp.start <= sentence.start < sp.end), None)
    context = " ".join(sp.text for sp in spans[max(0, at - 1) : at + 2]) if at is not None else sentence.text
    hay = set(terms(context))
    if passage.lang != detect_lang(question):
        return all(_found_name(n, hay) for n in asked - {fold(w) for w in words(question)[:2]})
    said = [t for t in terms(question) if not any(n.startswith(t) or t.startswith(n) for n in asked)]
    return all(_found(t, hay) or (len(t) >= 4 and any(w.startswith(t) for w in hay)) for t in said)


def unknown_names(question: str, passages: list[Passage], translations: Iterable[str] = ()) -> set[str]:
    """Names in the question that appear in no passage, allowing for spelling across languages.

    `translations` are the passages' sentences in the question's language: a name translated rather than spelled
    alike (England / Inglaterra, the Netherlands / los Países Bajos) is found there. Left out: the first word,
    acronyms, which articles often spell out (checking them refused 3 en-en and 4 es-es XQuAD questions answered
    right: UMC, AAA), and, when a passage is in the other language, multi-word names, which are translated rather
    than spelled alike (UN Security Council / Consejo de Seguridad de la ONU) and which Apertium often leaves as
    they are.
    """
    lang = detect_lang(question)
    translated = _compound_name_words(question) if any(p.lang != lang for p in passages) else set()
    acronyms = {fold(w) for w in words(question) if w.isupper() and len(w) > 1}
    asked = names(question) - translated - acronyms - {fold(w) for w in words(question)[:1]}
    if not asked:
        return set()
    hay = {w for text in [*(f"{p.title} {p.source or ''} {p.text}" for p in passages), *translations] for w in words(fold(text))}
    return {n for n in asked if not _found_name(n, hay) and not any(_spelled_alike(n, w) for w in hay)}


def _spelled_alike(a: str, b: str) -> bool:
    """Within a third of the letters of each other (Algeria / Argelia, Kuechly / Kuechlys)."""
    limit = len(a) // 3
    if not limit or abs(len(a) - len(b)) > limit:
        return False
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1] <= limit


def _found(term: str, hay: set[str]) -> bool:
    """Exact, or the same 5-letter stem (hostage/hostages, Azerbaijan/Azerbaiyán)."""
    return term in hay or (len(term) >= 5 and any(w.startswith(term[:5]) for w in hay))


def _found_name(term: str, hay: set[str]) -> bool:
    """Names across languages share less: Moscow/Moscú, Khojaly/Jojalí."""
    return _found(term, hay) or (len(term) >= 5 and any(len(w) >= 5 and w[:4] == term[:4] for w in hay))


def _mentions(name: str, text: str) -> bool:
    """Every part of a hyphenated name: "Secretary of State" does not mention the Secretary-General."""
    hay = set(terms(text))
    return all(_found_name(part, hay) for part in re.split(r"[-’']", name) if part)


def _idf_share(weights: dict[str, float], hay: set[str]) -> float | None:
    """The IDF-weighted share of the question's words (word -> weight) found in hay; None when they weigh nothing."""
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if _found(t, hay)) / total if total else None


def coverage(question: str, passage: Passage, idf: Callable[[str], float], translation: str = "") -> float:
    """How much of what the question asks about the passage mentions.

    Same language: IDF-weighted share of the question's content words, so a rare word the articles
    never use ("population", "Bolivia") weighs most. Across languages, the share of the question's names and
    numbers the passage holds, or the word share read in its translation into the question's language if that
    finds more. A question that names nothing counts as covered: reading it only through Apertium's rough
    translation refused too many (XQuAD contains gold es->en 0.661 -> 0.582, en->es 0.607 -> 0.544).
    """
    weights = {t: idf(t) for t in set(terms(question))}
    if passage.lang == detect_lang(question):
        share = _idf_share(weights, set(terms(f"{passage.title} {passage.text}")))
        return 1.0 if share is None else share
    keys = names(question) | numbers(question)
    hay = set(terms(passage.text)) | numbers(passage.text)
    by_names = sum(_found_name(k, hay) for k in keys) / len(keys) if keys else 1.0
    return max(by_names, (_idf_share(weights, set(terms(translation))) or 0.0) if translation else 0.0)


def lifting_coverage(question: str, covered: float, idf: Callable[[str], float], translation: str = "") -> float:
    """Coverage by a passage in the other language (`covered`, from coverage), for lifting e5's score across
    languages (cross_language_offset): a single name is all a passage on a country shares with "¿Qué idioma se habla
    en Azerbaiyán?", so with one name only the translation's word share counts. (As coverage itself this cost
    conflicting reports: the rival's passage for "¿En qué fecha se firmó la declaración trilateral sobre el alto el
    fuego en Karabaj?" stopped covering it.)"""
    if translation and len(names(question) | numbers(question)) == 1:
        return _idf_share({t: idf(t) for t in set(terms(question))}, set(terms(translation))) or 0.0
    return covered


class Composer:
    """Shared machinery: candidate sentences, citations, verification and refusal for every backend."""

    def __init__(self, settings: Settings, embedder: Embedder, verifier: Verifier, llm: LLM | None = None,
                 translator: Translator | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        self.verifier = verifier
        self.llm = llm
        self.translator = translator
        self.name = llm.name if llm else "extractive"

    # --- candidates ----------------------------------------------------------------------

    def candidates(self, question: str, qvec: np.ndarray, passages: list[Passage], sents: list[tuple[Sentence, np.ndarray]],
                   idf: Callable[[str], float], own: str | None = None) -> list[Candidate]:
        """Sentences that can answer, best first. `own` is a follow-up's own text when `question` is its condensed form:
        the names it adds say whom it is about ("And what did the UN Secretary-General ask?" after one on Blinken)."""
        own_names = names(own) if own else set()
        prefixed = {t for t in terms(_BESIDES.sub(" ", question)) if _COUNT_PREFIX.match(t)}
        index = {p.chunk_id: i + 1 for i, p in enumerate(passages)}
        want_num, want_date = wants(question)
        why = bool(_WHY.search(question))
        want_amount = bool(_WANTS_AMOUNT.search(question))
        who = bool(_WHO.search(question))
        q_lang = detect_lang(question)
        translations = _translated_passages(passages, sents, q_lang)
        cov = {p.chunk_id: coverage(question, p, idf, translations.get(p.chunk_id, "")) for p in passages}
        lifting = {p.chunk_id: lifting_coverage(question, cov[p.chunk_id], idf, translations.get(p.chunk_id, ""))
                   for p in passages if p.lang != q_lang}
        outlets = named_outlets(question, passages)
        overlap = self._overlap(question, q_lang, passages, index, sents, idf)
        out = []
        for s, vec in sents:
            if s.chunk_id not in index or is_directive(s.text):
                continue
            p = passages[index[s.chunk_id] - 1]
            if outlets and fold(p.source or "") not in outlets:
                continue  # "according to Trend": another outlet's report is not what was asked for
            # Same-language pairs score higher in e5 whatever they say (see Retriever._dense).
            sim = float(vec @ qvec) - (self.settings.same_language_penalty if p.lang == q_lang else 0.0)
            score = sim + 0.03 * cov[p.chunk_id] + self.settings.overlap_weight * overlap.get(s.id, 0.0)
            if who and names_someone_new(question, s.text):
                score += 0.02  # among close sentences, the one naming someone answers "who" (gold +1, XQuAD ±0.003)
            # A "how many" question needs a quantity and a "when" question a date: without one the
            # sentence cannot be the answer, however close its meaning.
            if want_num and not any(counts_asked_thing(question, text) for text in _readings(s, p, q_lang)):
                continue
            if want_amount and not any(quantities(quantity_text(text)) or _NUMBER_WORDS & set(terms(text)) for text in _readings(s, p, q_lang)):
                continue
            if want_date and not dates_it(question, s.text, p.date):
                continue
            if why and not premise_held(question, s, p):
                continue
            if not all(_mentions(n, s.text) for n in own_names):
                continue
            if prefixed and any(_counts_otherwise(prefixed, set(terms(text))) for text in _readings(s, p, q_lang)):
                continue
            out.append(Candidate(s, vec, index[s.chunk_id], sim, score, cov[p.chunk_id], lifting.get(p.chunk_id)))
        return sorted(out, key=lambda c: -c.score)

    def _overlap(self, question: str, q_lang: str, passages: list[Passage], index: dict[str, int],
                 sents: list[tuple[Sentence, np.ndarray]], idf: Callable[[str], float]) -> dict[str, float]:
        """IDF-weighted share of the question's content words in each sentence, read in the question's language: a
        sentence of the other language through the translation stored at ingest ("intercambiar prisioneros" has the
        "exchange" asked about). Unless every such sentence has one, none counts, so neither language is favoured."""
        weights = {t: idf(t) for t in set(terms(question))}
        if not self.settings.overlap_weight or not sum(weights.values()):
            return {}
        texts = {}
        for s, _ in sents:
            if s.chunk_id not in index:
                continue
            text = _in_language(s, passages[index[s.chunk_id] - 1], q_lang)
            if text is None:
                return {}
            texts[s.id] = text
        return {sid: _idf_share(weights, set(terms(text))) or 0.0 for sid, text in texts.items()}

    def answerable(self, question: str, passages: list[Passage], sents: list[tuple[Sentence, np.ndarray]],
                   cands: list[Candidate]) -> bool:
        """One of the leading sentences is very close, or close in a passage that covers what the question names
        and itself holds one of the question's other words, or fairly close and a count of exactly what a "how many"
        question asks about.

        A question naming someone or something no retrieved passage mentions ("talks with Erdogan") is about what
        the articles do not hold, however close the rest of it comes.
        """
        q_lang = detect_lang(question)
        if unknown_names(question, passages, _translated_passages(passages, sents, q_lang).values()):
            return False
        # A "how many" question keeps only sentences that count exactly the asked thing (see candidates).
        counted = wants(question)[0]

        def judged(c: Candidate) -> float:
            # e5 scores a sentence in the other language lower than one in the question's. A very close one is judged
            # on the same scale where its passage also covers part of the question (see coverage); e5 alone across
            # languages is not trusted that far. The lower bar, which a covering passage opens, is not lowered: a
            # passage that only names France "covers" "¿Cuál es la capital de Francia?".
            across = c.lifting is not None and c.lifting >= self.settings.cross_language_min_coverage
            return c.similarity + (self.settings.cross_language_offset if across else 0.0)

        # A "how many" question's sentences already count the asked thing (see candidates).
        plain = set() if counted else set(terms(question)) - set(terms(" ".join(names(question))))

        def asks(c: Candidate) -> bool:
            # The passage holding the question's words is not enough when the sentence holds none but its names.
            reading = _in_language(c.sentence, passages[c.passage_index - 1], q_lang)
            if not plain or reading is None:
                return True
            said = set(terms(reading))
            return any(_found(t, said) for t in plain)

        def counts_all(c: Candidate) -> bool:
            return any(counts_all_of_it(question, text) for text in _readings(c.sentence, passages[c.passage_index - 1], q_lang))

        return any(
            judged(c) >= self.settings.strong_support
            or (c.similarity >= self.settings.min_support and c.coverage >= self.settings.min_coverage and asks(c))
            # The weakest bar trusts the count alone, so it must count exactly what the question names.
            or (counted and c.similarity >= self.settings.counted_support and counts_all(c))
            for c in cands[:3]
        )

    # --- extractive ----------------------------------------------------------------------

    def rival(self, best: Candidate, pool: list[Candidate]) -> Candidate | None:
        """Another article's differing date or count for what the best sentence reports (9 vs 10 November)."""
        def years(c: Candidate) -> set[str]:
            return {n for n in numbers(c.sentence.text) if is_year(n)}

        best_years = years(best)
        for c in pool:
            if c.sentence.article_id == best.sentence.article_id or not _conflicting([best, c]):
                continue
            # The same event: the other passage covers what the question names, and no year sets the two apart.
            same_year = not (best_years and years(c)) or best_years & years(c)
            if c.similarity >= self.settings.min_support and c.coverage >= self.settings.min_coverage and same_year:
                return c
        return None

    def choose(self, cands: list[Candidate], rival: Candidate | None = None) -> list[Candidate]:
        """The best sentence, plus near-equals from its article that add something, and the rival report if any."""
        best = cands[0]
        chosen = [best]
        for c in cands[1:]:
            if len(chosen) >= self.settings.max_sentences:
                break
            if any(float(c.vector @ o.vector) > 0.95 for o in chosen):
                continue  # the same fact said twice (often by two articles)
            # Another article joins only as the rival report: a merely close sentence from it is usually on the
            # topic, not on the question.
            if c.score >= best.score - self.settings.sentence_margin and c.sentence.article_id == best.sentence.article_id:
                chosen.append(c)
        return chosen + ([rival] if rival is not None else [])

    def extract(self, lang: str, passages: list[Passage], chosen: list[Candidate], sents: list[tuple[Sentence, np.ndarray]]) -> Draft:
        """Quote the chosen sentences, attributed to their article, in reading order."""
        chosen = list({c.sentence.id: c for c in chosen}.values())
        note = prompts.load(f"conflict.{lang}").render() if _conflicting(chosen) else None
        chosen = _with_antecedents(chosen, sents)
        # Keep each article's sentences together and in reading order, best article first.
        order = {}
        for c in chosen:
            order.setdefault(c.sentence.article_id, len(order))
        chosen.sort(key=lambda c: (order[c.sentence.article_id], c.sentence.start))
        sentences, prefixes = [], []
        seen_articles = set()
        for c in chosen:
            p = passages[c.passage_index - 1]
            prefix = None
            if p.article_id not in seen_articles:
                seen_articles.add(p.article_id)
                prefix = prompts.load(f"attribution.{lang}").render(source=_attribution(p))
                if p.lang != lang:
                    prefix += " " + prompts.load(f"crosslingual.{lang}").render()
            sentences.append((c.sentence.text, (c.passage_index,)))
            prefixes.append(prefix)
        translations = self._translations(lang, chosen, passages)
        return Draft(sentences, prefixes, note, tuple(translations))

    def _translations(self, lang: str, chosen: list[Candidate], passages: list[Passage]) -> list[str | None]:
        """Quotes from an article in the other language, rendered in the question's; None for the others.

        The quote itself is the claim, verified and shown: a rule-based translation can garble a title ("Acting
        Minister" -> "Obrando Ministro"), so it follows the quote as a reading aid and never replaces it. The
        translation stored at ingest serves; one missing (a store built without a translator) is made now, and a
        translator that fails leaves the quote with the note that it is in the other language.
        """
        if self.translator is None:
            return [None] * len(chosen)
        foreign = {i: passages[c.passage_index - 1].lang for i, c in enumerate(chosen) if passages[c.passage_index - 1].lang != lang}
        out = [chosen[i].sentence.translation if i in foreign else None for i in range(len(chosen))]
        for source in set(foreign.values()):
            at = [i for i, source_lang in foreign.items() if source_lang == source and out[i] is None]
            for i, s in zip(at, translated([chosen[i].sentence for i in at], source, self.translator)):
                out[i] = s.translation
        return out

    # --- generative ----------------------------------------------------------------------

    def generation_prompt(self, question: str, lang: str, passages: list[Passage]) -> str:
        sources = "\n\n".join(
            f"[{i}] {_attribution(p)} ({p.date or 'undated'}): {' '.join(without_directives(p.text).split())}" for i, p in enumerate(passages, 1)
        )
        return prompts.load("answer").render(question=question, sources=sources, language="Spanish" if lang == "es" else "English")

    @staticmethod
    def parse_generated(text: str) -> Draft:
        """Split generated text into sentences and the passage numbers each cites (invalid ones dropped later)."""
        if "NOT_IN_SOURCES" in text:
            return Draft([], [])
        out = []
        for span in split_sentences(text.strip()):
            marks = tuple(int(m) for m in MARKER.findall(span.text))
            body = _SOURCE_HEADER.sub("", strip_markers(span.text)).strip()
            if len(words(body)) < 3:  # "It", a bare header or marker: no claim to keep
                if out and marks:  # markers split off into their own "sentence" belong to the previous one
                    prev, prev_marks = out[-1]
                    out[-1] = (prev, prev_marks + marks)
                continue
            out.append((body, marks))
        return Draft(out, [None] * len(out))

    # --- finishing -----------------------------------------------------------------------

    def finish(self, question: str, standalone: str, lang: str, passages: list[Passage], draft: Draft,
               sents: list[tuple[Sentence, np.ndarray]]) -> Answer:
        """Drop invented markers, verify each sentence, renumber citations 1..n and refuse when nothing holds."""
        by_chunk: dict[str, list[tuple[Sentence, np.ndarray]]] = {}
        for s, v in sents:
            by_chunk.setdefault(s.chunk_id, []).append((s, v))
        verdicts: list[AnswerSentence] = []
        kept: list[tuple[str, list[int], str | None, str | None]] = []
        support_for: dict[int, list[Sentence]] = {}
        said: set[str] = set()
        translations = draft.translations or (None,) * len(draft.sentences)
        for (body, marks), prefix, translation in zip(draft.sentences, draft.prefix, translations):
            if fold(body).strip(" .") in said:
                continue  # small models repeat themselves; a sentence is said once
            said.add(fold(body).strip(" ."))
            valid = [m for m in dict.fromkeys(marks) if 1 <= m <= len(passages)]
            if valid:
                check = self._check(body, [passages[m - 1] for m in valid], by_chunk)
            else:
                # Small models often state a sourced fact without its marker: cite the passage that verifies it.
                valid, check = self._attribute(body, passages, by_chunk)
            verdicts.append(AnswerSentence(body, tuple(valid), check.supported, check.support, check.reason, translation))
            if not check.supported:
                continue
            kept.append((body, valid, prefix, translation))
            for m in valid:
                support_for.setdefault(m, []).extend(self._supporting(body, by_chunk.get(passages[m - 1].chunk_id, [])))
        if not kept:
            return Answer(text=refusal_text(lang), citations=[], refused=True, passages=passages, question=question,
                          standalone_question=standalone, lang=lang, sentences=verdicts, backend=self.name)
        renumber: dict[int, int] = {}
        parts = []
        for body, valid, prefix, translation in kept:
            for m in valid:
                renumber.setdefault(m, len(renumber) + 1)
            marks = "".join(f"[{renumber[m]}]" for m in valid)
            parts.append(f"{prefix + ' ' if prefix else ''}{body} {marks}")
            if translation is not None and self.translator is not None:
                parts.append(prompts.load(f"translated.{lang}").render(translator=self.translator.name, text=translation))
        if draft.note and len({passages[m - 1].article_id for m in renumber}) > 1:
            parts.append(draft.note)
        citations = []
        for old, new in sorted(renumber.items(), key=lambda kv: kv[1]):
            p = passages[old - 1]
            quote, start, end = self._quote(p, support_for.get(old, []))
            citations.append(Citation(n=new, article_id=p.article_id, title=p.title, date=p.date, source=p.source, lang=p.lang,
                                      quote=quote, start=start, end=end, supported=True))
        renumbered = [replace(v, citations=tuple(renumber[m] for m in v.citations if m in renumber)) if v.supported else v for v in verdicts]
        return Answer(text=" ".join(parts), citations=citations, refused=False, passages=passages, question=question,
                      standalone_question=standalone, lang=lang, sentences=renumbered, backend=self.name)

    def _check(self, body: str, cited: list[Passage], by_chunk: dict[str, list[tuple[Sentence, np.ndarray]]]) -> Check:
        texts = [f"{p.title}. {p.source or ''}. {without_directives(p.text)}" for p in cited]
        vecs = [v for p in cited for s, v in by_chunk.get(p.chunk_id, []) if not is_directive(s.text)]
        return self.verifier.check(body, texts, np.array(vecs) if vecs else None)

    def _attribute(self, body: str, passages: list[Passage], by_chunk: dict[str, list[tuple[Sentence, np.ndarray]]]) -> tuple[list[int], Check]:
        checks = [(i, self._check(body, [p], by_chunk)) for i, p in enumerate(passages, 1)]
        supported = [(i, c) for i, c in checks if c.supported]
        if not supported:
            return [], Check(False, False, max((c.support for _, c in checks), default=0.0), "cites nothing and no passage supports it")
        i, check = max(supported, key=lambda ic: ic[1].support)
        return [i], check

    def _supporting(self, body: str, chunk_sents: list[tuple[Sentence, np.ndarray]]) -> list[Sentence]:
        """The passage sentences that carry a claim: exact matches, else the closest by meaning."""
        chunk_sents = [(s, v) for s, v in chunk_sents if not is_directive(s.text)]
        exact = [s for s, _ in chunk_sents if fold(body).strip(" .") in fold(s.text) or fold(s.text).strip(" .") in fold(body)]
        if exact or not chunk_sents:
            return exact
        vec = self.embedder.embed_passages([body])[0]
        best = max(chunk_sents, key=lambda sv: float(sv[1] @ vec))
        return [best[0]]

    @staticmethod
    def _quote(p: Passage, support: list[Sentence]) -> tuple[str, int, int]:
        if not support:
            return p.text, p.start, p.end
        start = min(s.start for s in support)
        end = max(s.end for s in support)
        # Both ends lie inside this passage, so the quote can be cut from its text.
        if p.start <= start and end <= p.end:
            return p.text[start - p.start : end - p.start], start, end
        return p.text, p.start, p.end


# The "Source (date):" header the prompt puts before each passage, which small models copy into their answer.
_SOURCE_HEADER = re.compile(r"^(?:“[^”]*”|\"[^\"]*\"|[^:()\n]{1,80}?)\s*(?:\((?:\d{4}-\d\d-\d\d|undated)\)\s*)+:\s*")


# "Besides the trilateral meeting, ...": what the question sets aside is not what it asks about.
_BESIDES = re.compile(r"\b(?:besides|apart from|aside from|other than|in addition to|adem[aá]s de|aparte de)\b[^,?]*", re.I)
# Prefixes that count: trilateral talks are not the bilateral ones asked about, as three is not two.
_COUNT_PREFIX = re.compile(r"^(uni|mono|bi|tri|cuadri|quadri|tetra|penta|multi|pluri|poli|poly)(\w{5,})$")


def _counts_otherwise(prefixed: set[str], said: set[str]) -> bool:
    """The text holds one of the question's counting-prefixed words with another prefix ("trilaterales" for
    "bilateral"), and not the question's own."""
    roots = {_COUNT_PREFIX.match(w).group(2) for w in prefixed - said}
    return any((m := _COUNT_PREFIX.match(w)) and m.group(2) in roots for w in said)


# "He also denounced ...", "In addition, he called ...": whose words these are is in an earlier sentence.
_OPENS_WITH_PRONOUN = re.compile(r"^(?:[^\W\d][\w ]{0,30},\s*)?(he|she|they|his|her|their|él|ella|ellos|ellas)\b", re.I)


def _with_antecedents(chosen: list[Candidate], sents: list[tuple[Sentence, np.ndarray]]) -> list[Candidate]:
    """Each chosen sentence that opens with a pronoun joined by the nearest of the three before it in its passage
    that does not: a quote of "He also denounced ..." alone does not say whose claim it is."""
    ids = {c.sentence.id for c in chosen}
    out = []
    for c in chosen:
        if _OPENS_WITH_PRONOUN.match(c.sentence.text):
            before = sorted(((s, v) for s, v in sents if s.chunk_id == c.sentence.chunk_id and s.end <= c.sentence.start),
                            key=lambda sv: -sv[0].start)[:3]
            named = next(((s, v) for s, v in before if not _OPENS_WITH_PRONOUN.match(s.text)), None)
            if named is not None and named[0].id not in ids:
                ids.add(named[0].id)
                out.append(replace(c, sentence=named[0], vector=named[1]))
        out.append(c)
    return out


def _attribution(p: Passage) -> str:
    who = p.source or f"“{p.title}”"
    return f"{who} ({p.date})" if p.date else who


def _translated_passages(passages: list[Passage], sents: list[tuple[Sentence, np.ndarray]], lang: str) -> dict[str, str]:
    """Each passage in the other language read in `lang`: its sentences' translations made at ingest, by chunk."""
    foreign = {p.chunk_id for p in passages if p.lang != lang}
    out: dict[str, list[str]] = {}
    for s, _ in sents:
        if s.chunk_id in foreign and s.translation:
            out.setdefault(s.chunk_id, []).append(s.translation)
    return {chunk: " ".join(texts) for chunk, texts in out.items()}


def _in_language(s: Sentence, p: Passage, lang: str) -> str | None:
    """The sentence as read in `lang`: itself, or the translation stored at ingest; None when it has none."""
    return s.text if p.lang == lang else s.translation


def _readings(s: Sentence, p: Passage, lang: str) -> list[str]:
    """The sentence, and for one in the other language also its translation into the question's."""
    return [s.text] + ([s.translation] if p.lang != lang and s.translation else [])


def _days_and_counts(text: str) -> set[str]:
    return {n for n in numbers(text) if not is_year(n)}


def _conflicting(chosen: list[Candidate]) -> bool:
    """Two articles dating the same kind of event differently (9 vs 10 November), or counting it differently."""
    for i, a in enumerate(chosen):
        for b in chosen[i + 1 :]:
            if a.sentence.article_id == b.sentence.article_id:
                continue
            # Years only place the event; the days or counts are what can disagree ("late Sept. 2020" and
            # "27 September 2020" agree).
            na, nb = _days_and_counts(a.sentence.text), _days_and_counts(b.sentence.text)
            if not na or not nb or na == nb:
                continue
            if months(a.sentence.text) & months(b.sentence.text) or float(a.vector @ b.vector) > 0.9:
                return True
    return False


# Words for the same counted thing in English and Spanish (5-letter stems), so "¿cuántas personas ... rehenes?" can be
# checked against "1275 people ... hostage" and "how many died" against "6,500 dead".
_COUNTED_GROUPS = [
    "people persona person individuals", "hostages rehenes", "dead death died killed muertos murieron fallecidos victims víctimas",
    "soldiers soldados military militares troops tropas", "children niños ninos", "women mujeres", "prisoners prisioneros",
    "injured heridos wounded", "civilians civiles", "unknown desaparecidos missing", "elderly ancianos old",
    "percent porcentaje", "hours horas", "days días dias", "weeks semanas", "months meses", "years años anos",
]
_COUNTED = {t[:5]: i for i, group in enumerate(_COUNTED_GROUPS) for t in terms(group)}
# "How long did it last" is answered by any unit of time, "how many years" only by years (not "4 hours").
_DURATION = {t[:5] for t in terms("long lasted duration duró duro durar duración")}
_UNITS = {_COUNTED[t[:5]] for t in terms("hours days weeks months years")}
_PEOPLE = 0  # "people": too generic to be the counted thing on its own
# What happened to the counted: "three civilians injured" does not answer how many were killed.
_STATES = {_COUNTED[t[:5]] for t in terms("dead injured hostages unknown")}


def _counted(term: str) -> set:
    """A stemmed term (from text.terms) and the group of words for the same counted thing."""
    stem = term[:5]
    if stem in _DURATION:
        return {stem} | _UNITS
    return {stem} | ({_COUNTED[stem]} if stem in _COUNTED else set())


def _asked(question: str) -> tuple[list[str], list[str]]:
    """A "how many" question's words after the asking ones, and those of them that name the counted thing."""
    m = _WANTS_NUMBER.search(question)
    named = names(question)
    asked_terms = [t for t in terms(question[m.start():] if m else question) if t not in named][:5]
    if not asked_terms:
        return [], []
    # The counted thing is named first: "how many women", or two words for an adjective ("extended metropolitan
    # areas", "civiles azerbaiyanos"), unless the second says what happened ("how many peacekeepers were killed"
    # counts peacekeepers).
    if _counts_people(asked_terms):
        return asked_terms, asked_terms
    return asked_terms, [t for i, t in enumerate(asked_terms[:2]) if i == 0 or not _counted(t) & _STATES]


def _counts_people(asked_terms: list[str]) -> bool:
    """A "how many people" question: too generic a count for its first word alone to say what is counted."""
    return _COUNTED.get(asked_terms[0][:5]) == _PEOPLE


def counts_all_of_it(question: str, text: str) -> bool:
    """Every word naming a "how many" question's counted thing is in the text: three civilians reported by the
    Armenian ministry are not the "civiles azerbaiyanos" asked about, though both are civilians. A count of people
    says what happened to them only if the question does: 613 killed are not how many "live in Mexico City"."""
    asked_terms, lead = _asked(question)
    if not asked_terms:
        return True
    said = {g for t in terms(text) for g in _counted(t)}
    if _counts_people(asked_terms):
        return not said & _STATES or any(_counted(t) & _STATES for t in asked_terms)
    return all(_counted(t) & said for t in lead)


def counts_asked_thing(question: str, sentence: str) -> bool:
    """For 'how many X': a number in the sentence (not a date) is followed closely by X, in either language.

    X is the first word asked about ("how many women died": women); a generic one ("people") lets the rest of the
    question stand in ("how many people died": 6,500 dead). A name right after the number that the question does not
    use means a count of something else ("49 dead among the Armenian military" for Azerbaijani soldiers).
    """
    asked_terms, lead = _asked(question)
    if not asked_terms:
        return False
    named = names(question)
    asked = set().union(*(_counted(t) for t in lead))
    state = {g for t in asked_terms for g in _counted(t) & _STATES}
    if state and not {g for t in terms(sentence) for g in _counted(t)} & state:
        return False  # "how many soldiers were killed" is not answered by "2,000 soldiers were sent"
    tokens = re.findall(r"[\w,.]+", quantity_text(sentence))
    capitalised = {fold(w) for w in words(sentence) if w[:1].isupper()} - STOPWORDS  # "The city has two universities"
    for i, tok in enumerate(tokens):
        if not (numbers(tok) or tok.strip(",.") in _NUMBER_WORDS):
            continue
        window = tokens[i + 1 : i + 6]
        hits = [j for j, w in enumerate(window) if any(_counted(t) & asked for t in terms(w))]
        if not hits:
            continue
        said = {g for w in window for t in terms(w) for g in _counted(t)}
        other_name = any(w.strip(",.") in capitalised and not _found_name(w.strip(",."), named) for w in window[: hits[-1]])
        other_state = bool(state and said & _STATES and not said & state)
        if not other_name and not other_state:
            return True
    return False


def stream_generated(composer: Composer, question: str, lang: str, passages: list[Passage]) -> Iterator[str]:
    assert composer.llm is not None
    yield from composer.llm.stream(composer.generation_prompt(question, lang, passages))
