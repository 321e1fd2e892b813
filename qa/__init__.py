"""Grounded question answering over news articles, with verified citations."""

from qa.core import offline as _offline  # noqa: F401  (must run before tiktoken, chromadb or gradio are imported)
from .assistant import Assistant
from qa.apps.chats import ChatStore, Conversation
from qa.core.errors import QAError
from qa.ingest.chunking import count_tokens
from qa.core.settings import Settings
from qa.core.types import Answer, Citation, Filters, IngestReport, Passage

__all__ = ["Answer", "Assistant", "ChatStore", "Citation", "Conversation", "Filters", "IngestReport", "Passage", "QAError", "Settings", "count_tokens"]
