"""Incremental, idempotent ingestion: content hashes decide added / updated / unchanged / removed."""

import time
from pathlib import Path

from .articles import ArticleRejected, iter_files, parse_file
from .errors import IngestError
from .ingest import chunk_article, sentences_of
from .settings import Settings
from .store import Store
from .translate import Translator, translated
from .types import IngestReport, Rejected


def ingest_paths(paths: list[str | Path], store: Store, settings: Settings, translator: Translator | None = None) -> IngestReport:
    """Store what changed; a folder given here also removes its articles whose files are gone.

    With a translator, each sentence also keeps its translation into the other language, so a question in one
    language can be matched word for word against an article in the other (see answer.Composer) at no query cost.
    """
    t0 = time.perf_counter()
    roots = [Path(p).expanduser() for p in paths]
    missing = [str(p) for p in roots if not p.exists()]
    if missing and len(missing) == len(roots):
        raise IngestError(f"no such file or folder: {', '.join(missing)}")
    manifest = store.manifest()
    added, updated, unchanged, removed = [], [], [], []
    rejected = [Rejected(m, "no such file or folder") for m in missing]
    seen: dict[str, str] = {}
    chunks_written = 0
    for f in iter_files([p for p in roots if p.exists()]):
        try:
            article = parse_file(f, settings.max_file_bytes)
        except ArticleRejected as exc:
            rejected.append(Rejected(str(f), str(exc)))
            continue
        except OSError as exc:
            rejected.append(Rejected(str(f), f"cannot be read: {exc.strerror or exc}"))
            continue
        if article.id in seen:
            rejected.append(Rejected(str(f), f"duplicate article id {article.id!r} (also {seen[article.id]})"))
            continue
        seen[article.id] = str(f)
        old = manifest.get(article.id)
        if old is not None and old.sha256 == article.sha256:
            if translator is not None and not old.translated:
                # Stored before a translator was there, or its translation failed: only the translation is tried
                # again, so a broken Apertium costs one run per article and ingest, not a re-embedding of the store.
                store.put_translations(article.id, translated(store.article_sentences(article.id), article.lang, translator))
            unchanged.append(article.id)
            if Path(old.path or ".").resolve() != Path(article.path).resolve():
                store.move_article(article.id, article.path)
            continue
        chunks = chunk_article(article, settings.chunk_tokens, settings.chunk_overlap)
        store.put_article(article, chunks, translated(sentences_of(article, chunks), article.lang, translator))
        chunks_written += len(chunks)
        (updated if old is not None else added).append(article.id)
    for root in roots:
        if not root.is_dir():
            continue
        base = str(root.resolve())
        for aid, stored in manifest.items():
            if aid in seen or not stored.path:
                continue
            if str(Path(stored.path).resolve()).startswith(base + "/") and not Path(stored.path).exists():
                store.remove_article(aid)
                removed.append(aid)
    return IngestReport(added, updated, unchanged, removed, rejected, chunks_written, round(time.perf_counter() - t0, 3))
