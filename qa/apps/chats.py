"""Conversations that last: a `Conversation` keeps its history for you, and a `ChatStore` keeps conversations in
SQLite under the data folder, so they can be listed, resumed after a restart, renamed, deleted and exported."""

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from qa.assistant import Assistant
from qa.core.errors import ChatNotFound
from qa.core.settings import Settings
from qa.core.types import Answer, Filters

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chats (id TEXT PRIMARY KEY, title TEXT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS turns (chat_id TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE, n INTEGER NOT NULL,
                                  answer TEXT NOT NULL, PRIMARY KEY (chat_id, n));
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")  # two chats in one second keep their order


@dataclass(frozen=True)
class ChatSummary:
    id: str
    title: str
    created: str
    updated: str
    turns: int


class ChatStore:
    """One SQLite file; each turn is the whole Answer as JSON (its citations, quotes and offsets included)."""

    def __init__(self, path: Path, title_chars: int) -> None:
        self.path = Path(path)
        self.title_chars = title_chars
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._db() as db:
            db.executescript(_SCHEMA)

    @classmethod
    def for_settings(cls, settings: Settings) -> "ChatStore":
        return cls(settings.chats_path, settings.chat_title_chars)

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA foreign_keys = ON")
        return db

    def create(self, title: str = "") -> str:
        chat_id = uuid.uuid4().hex[:12]
        now = _now()
        with self._lock, self._db() as db:
            db.execute("INSERT INTO chats VALUES (?, ?, ?, ?)", (chat_id, title.strip(), now, now))
        return chat_id

    def add(self, chat_id: str, answer: Answer) -> None:
        """Append a turn; a chat without a title is named after its first question."""
        with self._lock, self._db() as db:
            row = db.execute("SELECT title, (SELECT COUNT(*) FROM turns WHERE chat_id = ?) FROM chats WHERE id = ?", (chat_id, chat_id)).fetchone()
            if row is None:
                raise ChatNotFound(f"no chat {chat_id!r}")
            title, n = row
            db.execute("INSERT INTO turns VALUES (?, ?, ?)", (chat_id, n, json.dumps(answer.to_dict(), ensure_ascii=False)))
            db.execute("UPDATE chats SET updated = ?, title = ? WHERE id = ?", (_now(), title or _clip(answer.question, self.title_chars), chat_id))

    def answers(self, chat_id: str) -> list[Answer]:
        with self._db() as db:
            if db.execute("SELECT 1 FROM chats WHERE id = ?", (chat_id,)).fetchone() is None:
                raise ChatNotFound(f"no chat {chat_id!r}")
            rows = db.execute("SELECT answer FROM turns WHERE chat_id = ? ORDER BY n", (chat_id,)).fetchall()
        return [Answer.from_dict(json.loads(r[0])) for r in rows]

    def list(self) -> list[ChatSummary]:
        """Most recently used first."""
        with self._db() as db:
            rows = db.execute("SELECT c.id, c.title, c.created, c.updated, COUNT(t.n) FROM chats c LEFT JOIN turns t ON t.chat_id = c.id "
                              "GROUP BY c.id ORDER BY c.updated DESC, c.created DESC").fetchall()
        return [ChatSummary(*r) for r in rows]

    def get(self, chat_id: str) -> ChatSummary:
        found = next((c for c in self.list() if c.id == chat_id), None)
        if found is None:
            raise ChatNotFound(f"no chat {chat_id!r}")
        return found

    def rename(self, chat_id: str, title: str) -> None:
        with self._lock, self._db() as db:
            if db.execute("UPDATE chats SET title = ? WHERE id = ?", (title.strip(), chat_id)).rowcount == 0:
                raise ChatNotFound(f"no chat {chat_id!r}")

    def delete(self, chat_id: str) -> None:
        with self._lock, self._db() as db:
            if db.execute("DELETE FROM chats WHERE id = ?", (chat_id,)).rowcount == 0:
                raise ChatNotFound(f"no chat {chat_id!r}")

    def export_json(self, chat_id: str) -> str:
        """The chat with every answer whole: text, grade, confidence and citations with their quotes and offsets."""
        chat = self.get(chat_id)
        turns = [{"question": a.question, "standalone_question": a.standalone_question, "answer": a.text, "grade": a.grade,
                  "confidence": a.confidence, "citations": [c.__dict__ for c in a.citations]} for a in self.answers(chat_id)]
        return json.dumps({"id": chat.id, "title": chat.title, "created": chat.created, "updated": chat.updated, "turns": turns},
                          ensure_ascii=False, indent=2)

    def export_markdown(self, chat_id: str) -> str:
        """The chat as a Markdown document a person can read or share: each answer followed by its sources."""
        chat = self.get(chat_id)
        out = [f"# {chat.title or 'Chat'}", "", f"_{chat.created} – {chat.updated}_", ""]
        for a in self.answers(chat_id):
            out += [f"**Q:** {a.question}", "", a.text, ""]
            for c in a.citations:
                meta = " · ".join(x for x in (c.source, c.date, c.lang) if x)
                out.append(f"- [{c.n}] *{c.title}* ({meta}), `{c.article_id}` chars {c.start}–{c.end}: “{' '.join(c.quote.split())}”")
            out.append("")
        return "\n".join(out).rstrip() + "\n"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


class Conversation:
    """Ask in turn; the history (with each answer's citations, so follow-ups search what was cited) is kept for you,
    and saved to a `ChatStore` when one is given."""

    def __init__(self, assistant: Assistant, store: ChatStore | None = None, chat_id: str | None = None) -> None:
        self.assistant = assistant
        self.store = store
        self.id = chat_id if chat_id is not None else (store.create() if store is not None else None)
        self.answers: list[Answer] = store.answers(self.id) if store is not None and chat_id is not None else []

    @property
    def history(self) -> list[dict]:
        return [m for a in self.answers for m in a.messages()]

    def ask(self, question: str, filters: Filters | None = None) -> Answer:
        answer = None
        for event in self.stream(question, filters):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def stream(self, question: str, filters: Filters | None = None) -> Iterator[str | Answer]:
        for event in self.assistant.stream(question, history=self.history, filters=filters):
            if isinstance(event, Answer):
                self.answers.append(event)
                if self.store is not None and self.id is not None:
                    self.store.add(self.id, event)
            yield event
