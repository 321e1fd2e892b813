"""Follow-ups resolved from the conversation: whether a question leans on an earlier turn, what it means on its own,
and which articles (the conversation's focus) to search first.

Whether a question is a follow-up is decided by named rules, in order, each with its own test table; the first that
decides is recorded in the answer's trace. The words they read (leads, back-referring pronouns) live in qa/lang/*.toml.
"""

from collections.abc import Callable
from dataclasses import dataclass

from qa.core import prompts
from qa.answer.llm import LLM
from qa.answer.question import Question, cue_pattern, language_words, parse
from qa.core.settings import Settings
from qa.core.text import Vocabulary, fold, stem_found, terms, words


@dataclass(frozen=True)
class PastTurn:
    """One earlier exchange: the question as resolved then, the answer's text, and the articles the answer cited."""

    question: str
    answer: str
    article_ids: tuple[str, ...] = ()


def past_turns(history: list[dict] | None) -> list[PastTurn]:
    """Pairs each user message with the assistant reply after it. An assistant message may carry the answer's
    citations (``"citations": [{"article_id": ...}]``, as `Conversation` and the chat keep them) and a user message
    the question as resolved then (``"standalone": ...``), so a chain of follow-ups keeps its subject."""
    out: list[PastTurn] = []
    pending: dict | None = None
    for m in history or []:
        role, content = str(m.get("role", "")), str(m.get("content") or "").strip()
        if role == "user" and content:
            if pending is not None:
                out.append(PastTurn(str(pending.get("standalone") or pending["content"]).strip(), ""))
            pending = m
        elif role == "assistant" and pending is not None:
            cited = tuple(dict.fromkeys(_article_id(c) for c in m.get("citations") or [] if _article_id(c)))
            out.append(PastTurn(str(pending.get("standalone") or pending["content"]).strip(), content, cited))
            pending = None
    if pending is not None:
        out.append(PastTurn(str(pending.get("standalone") or pending["content"]).strip(), ""))
    return out


def _article_id(citation) -> str:
    return str(citation.get("article_id", "") if isinstance(citation, dict) else getattr(citation, "article_id", "") or "")


# --- the rules: each returns True (a follow-up), False (stands alone) or None (does not decide) ----------------


@dataclass(frozen=True)
class Rule:
    name: str
    decide: Callable[[Question, Question, "Settings"], bool | None]


def _pronoun_in(question: Question) -> str | None:
    lowered = " " + " ".join(w.lower() for w in words(question.text)) + " "
    for p in language_words(question.lang).follow_up_pronouns:
        if f" {p} " in lowered:
            return p
    return None


def _lead_end(body: str, lang: str) -> int | None:
    """Where a lead ("And", "¿Y", "What about") that opens `body` ends, or None. Matched on the folded text, which
    keeps every character in place (else no lead is read), so the same position cuts the text as written."""
    folded = fold(body)
    if len(folded) != len(body):
        return None
    m = cue_pattern(language_words(lang).follow_up_leads).match(folded)
    return m.end() if m else None


def _opens_with_lead(question: Question) -> bool:
    return _lead_end(question.text.strip().lstrip("¿¡ "), question.lang) is not None


def _back_reference(q: Question, previous: Question, settings: Settings) -> bool | None:
    """"How much did it cost?", "¿Cuál es su capital?": a pronoun that points back."""
    return True if _pronoun_in(q) else None


def _new_subject(q: Question, previous: Question, settings: Settings) -> bool | None:
    """A question naming something the conversation has not (and not referring back) starts a new topic."""
    seen = Vocabulary(t for n in previous.names for t in terms(n))
    own = {t for n in q.names for t in terms(n)}
    return False if own and not any(stem_found(t, seen) for t in own) else None


def _continuation(q: Question, previous: Question, settings: Settings) -> bool | None:
    """"And how many were children?", "¿Y cuándo volverá?": it goes on from the last turn."""
    return True if _opens_with_lead(q) else None


def _elided_subject(q: Question, previous: Question, settings: Settings) -> bool | None:
    """"How many were women?": too few words of its own to say what it is about."""
    return True if len(q.terms) <= settings.follow_up_max_terms else None


RULES = (
    Rule("back-reference", _back_reference),
    Rule("new-subject", _new_subject),
    Rule("continuation", _continuation),
    Rule("elided-subject", _elided_subject),
)


@dataclass(frozen=True)
class Resolution:
    """What a question means in its conversation."""

    question: str
    standalone: str  # the resolved question: the question itself when it stands alone
    follow_up: bool
    decided_by: str  # the rule (or "first question", "model rewrite") that decided
    own: str = ""  # a follow-up's own words, without its lead ("How many were children?"): what is read within the focus
    topic: str | None = None  # the subject carried over from the previous question
    focus: tuple[str, ...] = ()  # articles the previous answer cited, searched first
    previous: str | None = None  # the previous question, resolved (its articles are the focus when no citations are known)


def is_follow_up(question: Question, previous: Question, settings: Settings) -> tuple[bool, str]:
    for rule in RULES:
        verdict = rule.decide(question, previous, settings)
        if verdict is not None:
            return verdict, rule.name
    return False, "self-contained"


def topic_of(previous: Question, question: Question) -> str:
    """The previous question's subject: its names as written, else its content words the new question does not
    repeat. A resolved follow-up's names include the subject it carried, so a chain of follow-ups keeps it."""
    if previous.names:
        return " ".join(dict.fromkeys(w for w in words(previous.text) if fold(w) in previous.names))
    own = Vocabulary(question.terms)
    kept = [w for w in words(previous.text) if (t := terms(w)) and not stem_found(t[0], own)]
    return " ".join(dict.fromkeys(kept))


def resolve(question: str, history: list[dict] | None, settings: Settings, llm: LLM | None = None) -> Resolution:
    """The question as it is meant: a follow-up carries the previous question's subject; anything else stands alone.

    With a model backend the model rewrites a follow-up, and the rewrite is kept only when it passes `rewrite_keeps`.
    """
    turns = past_turns(history)
    if not turns:
        return Resolution(question, question, False, "first question", question)
    q, previous = parse(question), parse(turns[-1].question)
    follow, rule = is_follow_up(q, previous, settings)
    if not follow:
        return Resolution(question, question, False, rule, question)
    focus = turns[-1].article_ids
    topic = topic_of(previous, q)
    if llm is not None:
        shown = "\n".join(f"{role}: {text}" for t in turns[-3:] for role, text in (("user", t.question), ("assistant", t.answer)) if text)
        rewritten = llm.complete(prompts.load("condense").render(history=shown, question=question), max_tokens=64).strip()
        rewritten = rewritten.splitlines()[0].strip() if rewritten else ""
        if rewritten and rewrite_keeps(q, rewritten, turns, settings):
            return Resolution(question, rewritten, True, f"{rule}; model rewrite", _without_lead(question, q.lang), topic, focus, previous.text)
        rule += "; model rewrite rejected"
    about = language_words(q.lang).follow_up_about
    own = _without_lead(question, q.lang)
    standalone = about.format(question=own, topic=topic) if topic else question
    return Resolution(question, standalone, True, rule, own, topic or None, focus, previous.text)


def rewrite_keeps(q: Question, rewritten: str, turns: list[PastTurn], settings: Settings) -> bool:
    """A model's rewrite keeps the question's own words and names nothing the conversation did not."""
    if len(rewritten) > settings.max_question_chars:
        return False
    got = Vocabulary(terms(rewritten))
    if not all(stem_found(t, got) for t in q.terms):
        return False
    said = Vocabulary([*(t for turn in turns for t in terms(f"{turn.question} {turn.answer}")), *q.terms])
    return all(stem_found(t, said) for n in parse(rewritten).names for t in terms(n))


def _without_lead(question: str, lang: str) -> str:
    """"And how many were children?" -> "How many were children?": the lead only said it goes on."""
    text = question.strip()
    opener = "¿" if text.startswith("¿") else ""
    body = text.lstrip("¿¡ ")
    end = _lead_end(body, lang)
    if end is None:
        return question
    rest = body[end:].lstrip(" ,")
    return opener + rest[:1].upper() + rest[1:] if rest else question
