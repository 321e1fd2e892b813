"""The open-topic step: "What happened in Khojaly?", "Tell me about the Port Ellery barrier", "¿Qué pasó en Mendoza?".

Such a question asks for what the articles report about what it names, not for a phrase, and the reader was trained on
questions that have one (SQuAD, TyDi, MLQA hold no "what happened in X?"): its probability there says little, and it
refused the demo's own topic at 0.13. So an open question that names something is answered by the evidence sentences
that name all of it (each name the unknown-names check reads, spelled as either language spells it, and each number
the question gives, so "What
happened in Khojaly in 2019?" is not answered from 1992), most probable first; the draft quotes the first few in
article order (QA_OPEN_SENTENCES). One that names nothing, or that no sentence names whole, is left to the reader.
"""

from dataclasses import dataclass

from qa.answer.checks import checked_names, missing_names
from qa.answer.evidence import Evidence
from qa.answer.question import Question
from qa.core.text import numbers
from qa.core.types import TraceStep


@dataclass(frozen=True)
class TopicVerdict:
    evidence: list[Evidence]  # the sentences that name the whole topic, most probable first; empty: the reader decides
    step: TraceStep


class OpenTopic:
    name = "open-topic"

    def __call__(self, question: Question, evidence: list[Evidence]) -> TopicVerdict:
        names = checked_names(question)
        if question.asks != "open" or not names:
            return TopicVerdict([], TraceStep(self.name, "reader decides", "not an open question naming something"))
        wanted = numbers(question.text)
        about = [e for e in evidence if _names_all(question, wanted, e)]
        named = ", ".join(sorted(names | wanted))
        if not about:
            return TopicVerdict([], TraceStep(self.name, "reader decides", f"no sentence names all of: {named}"))
        return TopicVerdict(about, TraceStep(self.name, "answer", f"{len(about)} of {len(evidence)} sentences name {named}"))


def _names_all(question: Question, wanted: set[str], e: Evidence) -> bool:
    """The sentence (or its reading in the question's language) names each of the question's names (as the
    unknown-names check finds them) and numbers."""
    texts = [x for x in (e.sentence.text, e.candidate.reading) if x]
    return not missing_names(question, texts) and wanted <= {n for text in texts for n in numbers(text)}
