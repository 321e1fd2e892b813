"""The HTTP API (`qa serve`): REST `/v1/ask` and `/v1/timeline`, an OpenAI-compatible `/v1/chat/completions`, the
articles, the chat.

Only the public API (`Assistant`, `count_tokens` and the types) is used here. Errors become HTTP statuses at this
edge (each QAError names its own) in OpenAI's error shape, {"error": {"message", "type", "code"}}, so any OpenAI client
reports them as they are. Answers are computed in worker threads, at most `concurrency` at once.
"""

import argparse
import json
import logging
import re
import secrets
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import anyio
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, File, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.sse import EventSourceResponse, format_sse_event
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message as ASGIMessage, Receive, Scope, Send

from qa.assistant import Assistant
from qa.core.errors import QAError
from qa.core.settings import Settings
from qa.core.types import Answer, Citation, Filters, Rejected, Timeline
from qa.apps.inputs import chat_logins
from qa.apps.ui import build_app, chat_options
from qa.apps.uploads import UNUSABLE_UPLOAD, ingest_uploads, safe_upload_name
from qa.apps.api_models import ArticleInfo, ArticleList, ArticleText, AskRequest, ChatRequest, Source, SourceEvent, TimelineRequest, Usage, history_of, open_webui_sources, web_url


log = logging.getLogger(__name__)

API_PREFIX = "/v1"
CHAT_PATH = "/chat"


# --- errors ----------------------------------------------------------------------------------


def _error(status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    kind = {401: "authentication_error", 404: "not_found_error"}.get(status, kind)
    return JSONResponse({"error": {"message": message, "type": kind, "code": code}}, status_code=status, headers=headers)


def _failure(exc: Exception) -> JSONResponse:
    """An exception as OpenAI's error: a QAError says what went wrong; anything else, a bug, is not shown (it is logged)."""
    if isinstance(exc, QAError):
        return _error(exc.http_status, str(exc), _snake(type(exc).__name__))
    return _error(500, f"something went wrong ({type(exc).__name__}); the error was logged", "internal_error")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def validation_message(exc: RequestValidationError) -> str:
    """Every problem of the request, each with where it is: 'body.question: Field required'."""
    problems = []
    for err in exc.errors():
        if err["type"] == "json_invalid":
            problems.append(f"the body is not valid JSON ({err.get('ctx', {}).get('error', err['msg'])}, at character {err['loc'][-1]})")
        else:
            problems.append(f"{'.'.join(str(part) for part in err['loc'])}: {err['msg']}")
    return "; ".join(problems)


class BodyLimit:
    """413 for an /v1 request body over the limit, whether it declares its length or arrives in chunks."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def _too_large(self) -> HTTPException:
        return HTTPException(413, f"the request body is larger than {self.limit:,} bytes (QA_MAX_REQUEST_BYTES)")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            exc = self._too_large()
            await _error(exc.status_code, exc.detail)(scope, receive, send)
            return
        received = 0

        async def counted() -> ASGIMessage:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise self._too_large()  # raised inside the route's body read, so it becomes the 413 response
            return message

        await self.app(scope, counted, send)


# --- the app ---------------------------------------------------------------------------------

def _answer_summary(answer: Answer) -> dict[str, Any]:
    return {"grade": answer.grade, "refused": answer.refused, "confidence": answer.confidence,
            "standalone_question": answer.standalone_question}


def _sse(data: dict[str, Any] | str) -> bytes:
    return format_sse_event(data_str=data if isinstance(data, str) else json.dumps(data, ensure_ascii=False))


class Completion:
    """One chat completion's stream: Assistant.stream with drafts=False, so each answer sentence goes out as soon as
    it is verified and nothing unverified does; then Open WebUI's source events, the citations in the last chunk, and
    the usage when asked. Each step runs in a worker thread under the server's limit of answers computed at once."""

    def __init__(self, events: Iterator[str | Answer], sources: Callable[[list[Citation]], list[Source]], head: dict[str, Any],
                 body: ChatRequest, limiter: anyio.CapacityLimiter) -> None:
        self.events, self.sources, self.head, self.body, self.limiter = events, sources, head, body, limiter
        self.include_usage = body.stream_options is not None and body.stream_options.include_usage

    async def next(self) -> str | Answer:
        return await anyio.to_thread.run_sync(next, self.events, limiter=self.limiter)

    def chunk(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        usage = {"usage": None} if self.include_usage else {}  # OpenAI's shape: null until the usage chunk
        choices = [{"index": 0, "delta": delta, "finish_reason": finish}]
        return _sse({**self.head, "object": "chat.completion.chunk", "choices": choices, **usage, **extra})

    async def chunks(self, first: str | Answer) -> AsyncIterator[bytes]:
        """The role, the verified text as it comes, a chunk with an Open WebUI source event for each citation, [1]'s
        first (an empty delta, so clients that read choices[0] of every chunk go on working; others ignore the field),
        the citations, the usage when asked, then [DONE]. A failure after the first chunk (the headers are sent) ends
        the stream with an error event in OpenAI's shape, which OpenAI clients raise."""
        try:
            yield self.chunk({"role": "assistant", "content": ""})
            event = first
            while not isinstance(event, Answer):
                yield self.chunk({"content": event})
                event = await self.next()
            for source in await anyio.to_thread.run_sync(self.sources, event.citations, limiter=self.limiter):
                yield self.chunk({}, event=SourceEvent(data=source).model_dump(exclude_none=True))
            yield self.chunk({}, "stop", citations=[asdict(c) for c in event.citations], answer=_answer_summary(event))
            if self.include_usage:
                usage = Usage.of(self.body.messages, event.text).model_dump()
                yield _sse({**self.head, "object": "chat.completion.chunk", "choices": [], "usage": usage})
            yield _sse("[DONE]")
        except Exception as exc:
            if not isinstance(exc, QAError):
                log.exception("streaming a chat completion failed")
            yield _sse(json.loads(_failure(exc).body))
        finally:
            self.events.close()


def mounts_chat(settings: Settings, logins: list[tuple[str, str]] | None) -> bool:
    """With an API key set, an open chat would answer through its own endpoints without the key: only behind a login."""
    return settings.serve_chat and (bool(logins) or settings.api_key is None)


def build_api(bot: Assistant) -> FastAPI:
    """The FastAPI app over one Assistant; with `serve_chat`, the Gradio chat is mounted at /chat/."""
    settings = bot.settings
    started = int(time.time())
    limiter = anyio.CapacityLimiter(settings.concurrency)
    changing = threading.Lock()  # one upload or deletion at a time, as in the chat: each reads the manifest, then writes

    async def answer(question: str, history: list[dict] | None, filters: Filters | None) -> Answer:
        return await anyio.to_thread.run_sync(partial(bot.ask, question, history=history, filters=filters), limiter=limiter)

    def sources(citations: list[Citation]) -> list[Source]:
        """The citations as Open WebUI sources, with the page of each article fetched from the web."""
        if not citations:
            return []
        urls = {a.id: url for a in bot.articles() if (url := web_url(a)) is not None}
        return open_webui_sources(citations, urls)

    bearer = HTTPBearer(auto_error=False, description="The key set in QA_API_KEY (only when it is set).")

    def require_key(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
        if settings.api_key is None:
            return
        if credentials is None:
            raise HTTPException(401, "this server needs an API key: send the header Authorization: Bearer <key>",
                                headers={"WWW-Authenticate": "Bearer"})
        if not secrets.compare_digest(credentials.credentials.encode(), settings.api_key.get_secret_value().encode()):
            raise HTTPException(401, "the API key is not valid", headers={"WWW-Authenticate": "Bearer"})

    app = FastAPI(title="News Q&A", version="1",
                  description="Grounded answers from news articles: every claim cites the article it comes from.")
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])

    @app.exception_handler(QAError)
    async def qa_error(request: Request, exc: QAError) -> JSONResponse:
        return _failure(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, validation_message(exc), "invalid_request")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), None, exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return _failure(exc)

    @app.get("/healthz", tags=["server"])
    def healthz() -> dict[str, Any]:
        """200 when the store answers (with how many articles it holds); 503 with the reason when it does not."""
        return {"status": "ok", "articles": bot.article_count()}

    v1 = APIRouter(prefix=API_PREFIX, dependencies=[Depends(require_key)])

    @v1.post("/ask", response_model=Answer, tags=["answers"])
    async def ask(body: AskRequest) -> Answer:
        """The whole Answer: text with [n] markers, grade, confidence, citations with quote, offsets and answer span."""
        return await answer(body.question, history_of(body.history), body.filters.to_filters() if body.filters else None)

    @v1.post("/timeline", response_model=Timeline, tags=["answers"])
    async def timeline(body: TimelineRequest) -> Timeline:
        """The events the articles date about a topic, oldest first: one line each, quoted, cited and verified."""
        made = partial(bot.timeline, body.topic, start=body.start.isoformat() if body.start else None,
                       end=body.end.isoformat() if body.end else None, lang=body.lang,
                       filters=body.filters.to_filters() if body.filters else None)
        return await anyio.to_thread.run_sync(made, limiter=limiter)

    @v1.post("/chat/completions", tags=["openai"])
    async def chat_completions(body: ChatRequest) -> Any:
        """OpenAI-compatible: the answer in choices[0].message.content with its [n] markers, the citations in a
        top-level `citations` list and the token counts in `usage`; Open WebUI shows the citations from a top-level
        `sources` list. Streamed, each sentence comes once it is verified, then a chunk with an Open WebUI `event` of
        type "source" for each citation in [n] order, the citations in the last chunk; `stream_options.include_usage`
        adds the usage chunk before [DONE]."""
        if body.model != settings.api_model:
            raise HTTPException(404, f"the model '{body.model}' does not exist; this server answers as '{settings.api_model}'")
        question, history = body.messages[-1].text(), history_of(body.messages[:-1])
        filters = body.filters.to_filters() if body.filters else None
        head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": settings.api_model}
        if body.stream:
            completion = Completion(bot.stream(question, history=history, filters=filters, drafts=False), sources, head, body, limiter)
            first = await completion.next()  # an unusable question or a store that is down is still an HTTP status
            return EventSourceResponse(completion.chunks(first), headers={"Cache-Control": "no-cache"})
        ans = await answer(question, history, filters)
        cited = await anyio.to_thread.run_sync(sources, ans.citations, limiter=limiter)
        return {**head, "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": ans.text}, "finish_reason": "stop"}],
                "usage": Usage.of(body.messages, ans.text).model_dump(),
                "citations": [asdict(c) for c in ans.citations], "answer": _answer_summary(ans),
                "sources": [s.model_dump(exclude_none=True) for s in cited]}

    @v1.get("/models", tags=["openai"])
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": settings.api_model, "object": "model", "created": started, "owned_by": "qa"}]}

    @v1.get("/articles", tags=["articles"])
    def list_articles() -> ArticleList:
        return ArticleList(data=[ArticleInfo.of(a) for a in bot.articles()])

    @v1.get("/articles/{article_id}", tags=["articles"])
    def get_article(article_id: str) -> ArticleText:
        """One article with its text, so a citation's offsets can be shown in their place."""
        article = next((a for a in bot.articles() if a.id == article_id), None)
        text = bot.article_text(article_id) if article is not None else None
        if article is None or text is None:
            raise HTTPException(404, f"no article has the id '{article_id}'")
        return ArticleText(**ArticleInfo.of(article).model_dump(), text=text)

    @v1.post("/articles", tags=["articles"])
    def add_articles(files: Annotated[list[UploadFile], File(description=".txt or .md articles; the file name is the article id.")]) -> dict[str, Any]:
        """Upload articles: added, updated, unchanged and rejected (with the reason), like `qa ingest`; 422 when
        none could be stored. A body naming URLs joins here once articles can be fetched from the web."""
        rejected: list[Rejected] = []
        with tempfile.TemporaryDirectory() as tmp:
            staged = []
            for i, upload in enumerate(files):
                name = safe_upload_name(upload.filename or "")
                if name is None:
                    rejected.append(Rejected(upload.filename or "", UNUSABLE_UPLOAD))
                    continue
                path = Path(tmp, str(i), name)
                path.parent.mkdir()
                path.write_bytes(upload.file.read())
                staged.append(path)
            with changing:
                report = ingest_uploads(bot, staged)
        report = replace(report, rejected=[*rejected, *report.rejected])
        if not (report.added or report.updated or report.unchanged):
            raise HTTPException(422, "no article was stored: " + "; ".join(f"{r.path or 'a file without a name'}: {r.reason}" for r in report.rejected))
        return report.to_dict()

    @v1.delete("/articles/{article_id}", tags=["articles"])
    def delete_article(article_id: str) -> dict[str, Any]:
        with changing:
            removed = bot.remove(article_id)
        if removed is None:
            raise HTTPException(404, f"no article has the id '{article_id}'")
        return {"removed": article_id}

    app.include_router(v1)
    chat = chat_options(settings)
    if mounts_chat(settings, chat["auth"]):
        import gradio as gr

        app = gr.mount_gradio_app(app, build_app(bot), path=CHAT_PATH, **chat)
    return app


def run(args: argparse.Namespace) -> int:
    settings = Settings()
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.serve_port
    bot = Assistant(settings)
    bot.articles()  # index the seeds of an empty store before listening, not inside the first request
    app = build_api(bot)
    if mounts_chat(settings, chat_logins(settings)):
        chat = f", chat at {CHAT_PATH}/"
    else:
        chat = "; the chat is off" + (": with QA_API_KEY set it opens only behind a login (QA_AUTH or QA_AUTH_FILE)" if settings.serve_chat else "")
    print(f"qa serve on http://{host}:{port} (API docs at /docs{chat})", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="info")
    return 0
