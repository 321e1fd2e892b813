"""Grounded question answering over news articles, with verified citations."""

from . import _offline  # noqa: F401  (must run before tiktoken, chromadb or gradio are imported)
from .assistant import Assistant
from .chats import ChatStore, Conversation
from .errors import QAError
from .ingest import count_tokens
from .settings import Settings
from .types import Answer, Citation, Filters, IngestReport, Passage

__all__ = ["Answer", "Assistant", "ChatStore", "Citation", "Conversation", "Filters", "IngestReport", "Passage", "QAError", "Settings", "count_tokens"]
