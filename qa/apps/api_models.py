"""The REST and OpenAI-compatible API's shapes: request bodies, article listings and the source events Open WebUI reads,
as pydantic models, so FastAPI validates what comes in and documents what goes out."""

from datetime import date
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from qa import count_tokens
from qa.core.text import LANGS
from qa.index.records import StoredArticle
from qa.core.types import Citation, Filters


# --- request bodies --------------------------------------------------------------------------


class ContentPart(BaseModel):
    """One part of an OpenAI message's content; only text parts carry words the bot can read."""

    model_config = ConfigDict(extra="ignore")
    type: str
    text: str | None = None


class Message(BaseModel):
    """A turn of the conversation, OpenAI's (and Gradio's) format."""

    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""


class FilterBody(BaseModel):
    """Restrict the articles an answer may come from; dates are ISO (YYYY-MM-DD) and inclusive."""

    model_config = ConfigDict(extra="forbid")
    article_ids: list[str] | None = None
    lang: Literal[LANGS] | None = None
    date_from: date | None = None
    date_to: date | None = None

    @model_validator(mode="after")
    def _usable(self) -> "FilterBody":
        """The same check as every other caller's (Filters.problem), so a bad range is a 422 here too."""
        filters = self.to_filters()
        if filters is not None and (problem := filters.problem()) is not None:
            raise ValueError(problem)
        return self

    def to_filters(self) -> Filters | None:
        filters = Filters(article_ids=tuple(self.article_ids) if self.article_ids else None, lang=self.lang,
                          date_from=self.date_from.isoformat() if self.date_from else None,
                          date_to=self.date_to.isoformat() if self.date_to else None)
        return None if filters.is_empty() else filters


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(description="The question, English or Spanish.")
    history: list[Message] | None = Field(None, description="Earlier turns, oldest first, for follow-up questions.")
    filters: FilterBody | None = None


class TimelineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    topic: str = Field(description="What the timeline is of, English or Spanish: 'the Riverton flood'.")
    start: date | None = Field(None, description="Earliest event date (ISO, inclusive); events, not articles, are dated.")
    end: date | None = Field(None, description="Latest event date (ISO, inclusive).")
    lang: Literal[LANGS] | None = Field(None, description="The language to answer in (default: the topic's).")
    filters: FilterBody | None = None


class StreamOptions(BaseModel):
    """OpenAI's stream options; only include_usage means something here."""

    model_config = ConfigDict(extra="ignore")
    include_usage: bool = Field(False, description="Send the token counts in a last chunk before [DONE], as OpenAI does.")


class ChatRequest(BaseModel):
    """OpenAI's chat request. Other fields OpenAI clients send (temperature, max_tokens ...) are accepted and unused:
    the answer is the articles' words, not a sampled text. System messages are ignored for the same reason."""

    model_config = ConfigDict(extra="allow")
    model: str
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    filters: FilterBody | None = Field(None, description="Not OpenAI's: the filters of /v1/ask (extra_body in OpenAI clients).")

    @model_validator(mode="after")
    def _ends_with_a_question(self) -> "ChatRequest":
        if self.messages[-1].role != "user":
            raise ValueError(f"the last message must be the user's question (role 'user'), not '{self.messages[-1].role}'")
        if self.stream_options is not None and not self.stream:
            raise ValueError("stream_options is only allowed when stream is true (OpenAI's rule)")
        return self


class Usage(BaseModel):
    """OpenAI's token counts, by tiktoken's cl100k_base, so clients can budget their context: the prompt is every
    message's text as sent, the completion the answer's text with its markers. It is what the client sent and got, not
    what a drafting model (QA_BACKEND=openai) read: that prompt holds the retrieved passages, and by default none runs."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    @classmethod
    def of(cls, messages: list[Message], answer: str) -> "Usage":
        prompt = sum(count_tokens(m.text()) for m in messages)
        completion = count_tokens(answer)
        return cls(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def history_of(messages: list[Message] | None) -> list[dict] | None:
    """The turns the bot reads (the user's and its own), as Assistant.ask takes them."""
    return [{"role": m.role, "content": m.text()} for m in messages or [] if m.role in ("user", "assistant")] or None


# --- articles ------------------------------------------------------------------------------


def web_url(article: StoredArticle) -> str | None:
    """The page the article was fetched from; None for an uploaded or local file, whose path is the server's own."""
    return article.path if urlsplit(article.path).scheme in ("http", "https") else None


class ArticleInfo(BaseModel):
    """An article as a client sees it. Not its file on the server, its text's hash or its MinHash signature: those are
    the store's bookkeeping."""

    id: str
    title: str
    date: str | None = Field(description="ISO YYYY-MM-DD, or None when the article gives none.")
    source: str | None = Field(description="The outlet.")
    author: str | None
    lang: str
    url: str | None = Field(description="The web page or feed item it was fetched from; None for an uploaded or local file.")
    chunks: int = Field(description="How many passages it is searched in.")
    translated: bool = Field(description="Its sentences carry their translation into the other language.")
    same_as: str | None = Field(description="The stored article it repeats (then its own text is not indexed again).")
    outlets: list[str] = Field(description="Every outlet that carried the story: its own, then its copies'.")

    @classmethod
    def of(cls, article: StoredArticle) -> "ArticleInfo":
        return cls(id=article.id, title=article.title, date=article.date, source=article.source, author=article.author,
                   lang=article.lang, url=web_url(article), chunks=article.chunks, translated=article.translated,
                   same_as=article.same_as, outlets=list(article.outlets))


class ArticleText(ArticleInfo):
    text: str = Field(description="The text a citation's offsets point into.")


class ArticleList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ArticleInfo]


# --- Open WebUI's sources -----------------------------------------------------------------------------


class SourceDocument(BaseModel):
    """What Open WebUI names a source by: its chip and its list show `name`; its quote window links to `url`."""

    id: str = Field(description="The article id.")
    name: str = Field(description="'Outlet (date): title'.")
    url: str | None = Field(None, description="The page the article was fetched from; left out for a file.")


class SourceMetadata(BaseModel):
    source: str = Field(description="The article id; with '#n' (the citation's number) when an earlier source has its id or name.")
    name: str


class Source(BaseModel):
    """One citation in the shape of Open WebUI's own retrieved sources: the quote is the document it shows when [n]
    is clicked."""

    source: SourceDocument
    document: list[str]
    metadata: list[SourceMetadata]


class SourceEvent(BaseModel):
    """Open WebUI's `event` field of a streamed chunk: it adds `data` to the message's sources, saved with the chat."""

    type: Literal["source"] = "source"
    data: Source


def source_label(citation: Citation) -> str:
    """'Outlet (date): title', leaving out what the article does not give."""
    said = " ".join(x for x in (citation.source, f"({citation.date})" if citation.date else None) if x)
    return f"{said}: {citation.title}" if said else citation.title


def open_webui_sources(citations: list[Citation], urls: dict[str, str]) -> list[Source]:
    """The citations as Open WebUI sources in [n] order. Open WebUI links [n] to the n-th source in the order they
    came, after merging those with the same metadata `source` (its list) or `name` (its chips): a citation whose article
    or label an earlier one has (another passage of it) gets its own of each, or every marker after it would point one
    source too far."""
    out: list[Source] = []
    for c in sorted(citations, key=lambda c: c.n):
        label = source_label(c)
        repeat = any(s.source.id == c.article_id or s.source.name == label for s in out)
        name = f"{label} [{c.n}]" if repeat else label
        key = f"{c.article_id}#{c.n}" if repeat else c.article_id
        out.append(Source(source=SourceDocument(id=c.article_id, name=name, url=urls.get(c.article_id)), document=[c.quote],
                          metadata=[SourceMetadata(source=key, name=name)]))
    return out
