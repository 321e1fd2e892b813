"""Where the store lives: a Chroma client for the local folder or a server, with failures turned into the project's
errors and a damaged local store detected before Chroma opens it; the lexical index's folder beside it."""

import sqlite3
from pathlib import Path
from urllib.parse import urlparse

import httpx

from qa.core.errors import StoreCorrupted, StoreUnavailable
from qa.core.settings import Settings


def lexical_folder(settings: Settings, base: str) -> Path:
    """Where the lexical index lives: in the data folder, one per collection and per Chroma server."""
    if not settings.chroma_url:
        return settings.data_dir / "lexical" / base
    url = urlparse(settings.chroma_url)
    return settings.data_dir / "lexical" / f"{url.hostname}-{url.port or 8000}" / base


def open_client(settings: Settings):
    """A Chroma client for the configured store, with failures turned into the project's errors."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        try:
            client = chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            # chromadb's HTTP session waits forever (timeout=None): a hung server would block a chat for good.
            client._server._session.timeout = httpx.Timeout(settings.chroma_timeout)
            client.heartbeat()
        except Exception as exc:
            raise StoreUnavailable(f"cannot reach the Chroma server at {settings.chroma_url}: {exc}") from exc
        return client
    path = settings.chroma_path
    _check_local_store(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        raise StoreCorrupted(f"the local store at {path} cannot be opened ({exc}); move it aside and run `qa ingest` again") from exc


def _check_local_store(path: Path) -> None:
    """Detect a damaged store before Chroma does something worse than fail."""
    db = path / "chroma.sqlite3"
    if not db.exists():
        if path.is_dir() and any(p.is_dir() for p in path.iterdir()):
            raise StoreCorrupted(f"the local store at {path} has index folders but no chroma.sqlite3 database; "
                                 "move it aside and run `qa ingest` again")
        return
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            result = conn.execute("PRAGMA quick_check").fetchone()
            conn.execute("SELECT count(*) FROM collections").fetchone()
    except sqlite3.DatabaseError as exc:
        raise StoreCorrupted(f"the local store at {path} is corrupted ({exc}); move it aside and run `qa ingest` again") from exc
    if not result or result[0] != "ok":
        raise StoreCorrupted(f"the local store at {path} failed its integrity check ({result}); move it aside and run `qa ingest` again")
