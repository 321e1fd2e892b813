"""What the chat takes in and keeps: filters, logins, feedback, export names, local times, the translation notice."""

import json
import re
import threading
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from qa.apps.render import EXAMPLES, words_for
from qa.assistant import Assistant
from qa.core.errors import InvalidSetting, TranslationFailed
from qa.core.settings import Settings
from qa.core.types import Answer, Filters

_feedback_lock = threading.Lock()



_UNSAFE_FILE_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


# --- inputs: filters, uploads, feedback ---------------------------------------------------------


def to_filters(article_ids: list[str] | None, lang: str | None, date_from: str | None, date_to: str | None) -> Filters | None:
    """The filter widgets as `Filters`; unusable ones (Filters.problem) raise ValueError with a message for the notice."""
    dates = [(value or "").strip() or None for value in (date_from, date_to)]
    filters = Filters(article_ids=tuple(article_ids) if article_ids else None, lang=lang or None, date_from=dates[0], date_to=dates[1])
    if (problem := filters.problem()) is not None:
        raise ValueError(problem)
    return None if filters.is_empty() else filters


def chat_logins(settings: Settings) -> list[tuple[str, str]] | None:
    """The chat's logins (Gradio's login page) from `auth` and `auth_file`; None when neither is set."""
    lines = [("QA_AUTH", settings.auth)] if settings.auth else []
    if settings.auth_file is not None:
        try:
            text = settings.auth_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidSetting(f"the chat's users file {settings.auth_file} cannot be read: {exc.strerror or exc}") from exc
        lines += [(f"{settings.auth_file} line {i}", line.strip()) for i, line in enumerate(text.splitlines(), 1)
                  if line.strip() and not line.lstrip().startswith("#")]
    logins = []
    for where, line in lines:
        user, colon, password = line.partition(":")
        if not colon or not user.strip() or not password:
            raise InvalidSetting(f"{where} must be written user:password")  # the line itself may hold a password
        logins.append((user.strip(), password))
    return logins or None


def record_feedback(path: Path, key: str, answer: Answer, liked: bool | None) -> None:
    """One vote per answer (`key`): the new vote replaces an earlier one, and None withdraws it. Each line holds
    the question, the answer text and its citations, and the verdict."""
    with _feedback_lock:
        kept = []
        if path.exists():
            kept = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and json.loads(line).get("answer_id") != key]
        if liked is not None:
            kept.append(json.dumps({
                "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "answer_id": key,
                "rating": "up" if liked else "down",
                "question": answer.question,
                "answer": answer.text,
                "refused": answer.refused,
                "citations": [asdict(c) for c in answer.citations],
            }, ensure_ascii=False))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
        tmp.replace(path)


def local_time(stamp: str, lang: str | None = None) -> str:
    """A stored UTC time as this machine's local date and time, written the language's way."""
    return datetime.fromisoformat(stamp).astimezone().strftime(words_for(lang)["time_format"])


def export_name(title: str) -> str:
    """A chat title as a file name a person recognises: its words kept, only what file systems refuse replaced."""
    return " ".join(_UNSAFE_FILE_CHARS.sub(" ", title).split()).strip(".")


def translation_missing(assistant: Assistant) -> bool:
    """True when quotes from the other language will go untranslated although translation is on: Apertium or its
    English-Spanish pair is not installed (a missing pair only shows when a translation is tried)."""
    if not assistant.settings.translate:
        return False
    if assistant.translator is None:
        return True
    try:
        assistant.translator.translate([EXAMPLES[0]], "en", "es")
    except TranslationFailed:
        return True
    return False
