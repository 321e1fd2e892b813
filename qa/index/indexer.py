"""Incremental, idempotent ingestion: content hashes decide added / updated / unchanged / removed, and a near-duplicate
of a stored story is merged into it (recorded, its outlet listed with the story's, its text not indexed again)."""

import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from qa.ingest.articles import iter_files
from qa.ingest.dedup import Signatures, Stories
from qa.core.errors import IngestError
from qa.ingest.fetch import is_url
from qa.ingest.chunking import chunk_article, dated, sentences_of
from qa.core.settings import Settings
from qa.ingest.sources import Known, Sources
from qa.index.records import NewArticle, StoredArticle
from qa.index.store import Store
from qa.ingest.translate import Translator, translated
from qa.core.types import Article, IngestProgress, IngestReport, Merged, Rejected, Sentence


def ingest_paths(paths: list[str | Path], store: Store, settings: Settings, translator: Translator | None = None,
                 progress: Callable[[IngestProgress], None] | None = None) -> IngestReport:
    """Store what changed; a folder given here also removes its articles whose files are gone.

    Inputs are files, folders, http(s) URLs of pages, documents or feeds (see qa/ingest/sources.py). With a translator, each
    sentence also keeps its translation into the other language, so a question in one language can be matched word
    for word against an article in the other (see answer.Composer) at no query cost. New articles are embedded and
    written a batch at a time (Batch), their translations made in larger batches after them (Pending), so Chroma is
    called and Apertium starts a few times per run instead of per article. An interrupted run resumes where it
    stopped: committed articles are unchanged the next time, and the lexical index is committed on the way out.
    `progress` hears after each item.
    """
    t0 = time.perf_counter()
    with store.ingesting():
        report = _ingest(paths, store, settings, translator, progress or (lambda _: None))
    return replace(report, seconds=round(time.perf_counter() - t0, 3))  # the lexical index's commit included


def _ingest(paths: list[str | Path], store: Store, settings: Settings, translator: Translator | None,
            progress: Callable[[IngestProgress], None]) -> IngestReport:
    t0 = time.perf_counter()
    given = [str(p) for p in paths]
    roots = [Path(p).expanduser() for p in given if not is_url(p)]
    missing = [str(p) for p in roots if not p.exists()]
    if missing and len(missing) == len(given):
        raise IngestError(f"no such file or folder: {', '.join(missing)}")
    manifest = store.manifest(kept=False)
    gone = _gone(roots, manifest)
    signatures = Signatures(settings)
    stories = _stories({aid: a for aid, a in manifest.items() if aid not in gone}, store, settings, signatures) \
        if settings.merge_duplicates else None
    added, updated, unchanged, removed, merged = [], [], [], [], []
    rejected: list[Rejected] = []
    seen: dict[str, str] = {}
    chunks_written = 0
    reader = Sources(settings)
    pending = Pending(store, translator, settings.translate_batch)
    batch = Batch(store, pending, settings.write_batch)
    expected = sum(len(iter_files([p])) for p in roots if p.exists()) + len(given) - len(roots)  # a feed counts once
    try:
        for done, item in enumerate(reader.read(given, known=manifest)):
            if done:
                progress(IngestProgress(done, max(expected, done), chunks_written, time.perf_counter() - t0))
            if isinstance(item, Rejected):
                rejected.append(item)
                continue
            aid, where = (item.article_id, item.path) if isinstance(item, Known) else (item.id, item.path)
            if aid in seen:
                rejected.append(Rejected(where, f"duplicate article id {aid!r} (also {seen[aid]})"))
                continue
            seen[aid] = where
            if isinstance(item, Known):
                unchanged.append(aid)
                continue
            article = item
            old = manifest.get(article.id)
            if old is not None and old.sha256 == article.sha256 and (old.same_as is None or (stories is not None and old.same_as in stories)):
                _keep(article, old, store, pending)
                if stories is not None and old.same_as is None and article.id not in stories:  # moved within a folder given now
                    stories.add(article.id, signatures.of(article.text))
                unchanged.append(article.id)
                continue
            signature = signatures.of(article.text) if stories is not None else None
            match = stories.find(signature, exclude=article.id) if stories is not None else None
            if match is not None:
                if batch.holds(match.article_id):  # a story is committed before any copy points at it
                    batch.flush()
                store.put_duplicate(article, match.article_id, signatures.encode(signature))
                merged.append(Merged(article.id, match.article_id, article.source, round(match.similarity, 3)))
                continue
            chunks = chunk_article(article, settings.chunk_tokens, settings.chunk_overlap)
            sentences = sentences_of(article, chunks)
            batch.add(NewArticle(article, chunks, sentences, signatures.encode(signature) if signature is not None else ""))
            if stories is not None:
                stories.add(article.id, signature)
            chunks_written += len(chunks)  # progress counts an article once it is queued; the report only once written
            (updated if old is not None else added).append(article.id)
        batch.flush()
        pending.flush()
    finally:
        reader.close()
    total = max(expected, len(seen) + len(rejected))
    progress(IngestProgress(total, total, chunks_written, time.perf_counter() - t0))
    for aid in gone:
        if aid not in seen:
            store.remove_article(aid)
            removed.append(aid)
    if merged or removed or updated:  # only these change which copies a story has (an update rewrites its record)
        _list_outlets(store)
    return IngestReport(added, updated, unchanged, removed, rejected, chunks_written, round(time.perf_counter() - t0, 3), merged)


class Batch:
    """New articles waiting to be embedded and written together (Store.put_articles), until they hold `size` sentences
    or more; once written, their sentences wait for translation (Pending)."""

    def __init__(self, store: Store, pending: "Pending", size: int) -> None:
        self.store, self.pending, self.size = store, pending, size
        self.items: list[NewArticle] = []

    def holds(self, article_id: str) -> bool:
        return any(item.article.id == article_id for item in self.items)

    def add(self, item: NewArticle) -> None:
        self.items.append(item)
        if sum(len(i.sentences) for i in self.items) >= self.size:
            self.flush()

    def flush(self) -> None:
        items, self.items = self.items, []
        if not items:
            return
        self.store.put_articles(items)
        for item in items:
            self.pending.add(item.article.id, item.article.lang, item.sentences)


class Pending:
    """Stored sentences waiting for their translation, translated a batch of up to `batch` sentences per language.

    One Apertium run costs about 0.3 s of CPU to start (its dictionaries load) and a few ms per sentence; per article
    that start-up took a fifth of an ingest's time on two cores. An article committed before its batch is translated
    is found untranslated by the next ingest (_keep), which translates it then.
    """

    def __init__(self, store: Store, translator: Translator | None, batch: int) -> None:
        self.store, self.translator, self.batch = store, translator, batch
        self.waiting: dict[str, list[tuple[str, list[Sentence]]]] = {}

    def add(self, article_id: str, lang: str, sentences: list[Sentence]) -> None:
        if self.translator is None or not sentences:
            return
        queue = self.waiting.setdefault(lang, [])
        queue.append((article_id, sentences))
        if sum(len(s) for _, s in queue) >= self.batch:
            self._run(lang)

    def flush(self) -> None:
        for lang in list(self.waiting):
            self._run(lang)

    def _run(self, lang: str) -> None:
        queue = self.waiting.pop(lang, [])
        done = iter(translated([s for _, sents in queue for s in sents], lang, self.translator))
        self.store.put_translations({article_id: [next(done) for _ in sents] for article_id, sents in queue})


def _keep(article: Article, old: StoredArticle, store: Store, pending: Pending) -> None:
    """An unchanged article: only what is missing is done (its event dates, its translation) or what moved is noted
    (its path)."""
    stored = None
    if not old.dated and old.same_as is None:  # stored before event dates were: dated now, nothing embedded again
        stored = [dated(s, article) for s in store.article_sentences(article.id)]
        store.put_event_dates({article.id: stored})
    if not old.translated and old.same_as is None:
        # Stored before a translator was there, or its translation failed: only the translation is tried
        # again, so a broken Apertium costs one run per batch and ingest, not a re-embedding of the store.
        pending.add(article.id, article.lang, stored if stored is not None else store.article_sentences(article.id))
    if not is_url(article.path) and Path(old.path or ".").resolve() != Path(article.path).resolve():
        store.update_manifest(article.id, path=article.path)


def _stories(manifest: dict[str, StoredArticle], store: Store, settings: Settings, signatures: Signatures) -> Stories:
    """The stored stories' signatures; one stored before signatures existed (or with other settings) gets one now."""
    stories = Stories(settings)
    for aid, stored in manifest.items():
        if stored.same_as is not None:
            continue
        signature = signatures.decode(stored.minhash)
        if signature is None:
            signature = signatures.of(store.article_text(aid) or "")
            store.update_manifest(aid, minhash=signatures.encode(signature))
        stories.add(aid, signature)
    return stories


def _gone(roots: list[Path], manifest: dict[str, StoredArticle]) -> list[str]:
    """Stored articles (and merged copies) from files under a folder given now whose files are gone: removed at the end
    unless found at a new path, and no new copy is merged into them meanwhile."""
    bases = [str(root.resolve()) + "/" for root in roots if root.is_dir()]
    return [aid for aid, stored in manifest.items()
            if stored.path and not is_url(stored.path) and any(str(Path(stored.path).resolve()).startswith(b) for b in bases)
            and not Path(stored.path).exists()]


def _list_outlets(store: Store) -> None:
    """Each story lists its own outlet, then those of the copies merged into it (recomputed, so removals show too)."""
    manifest = store.manifest(kept=False)
    copies: dict[str, list[str]] = {}
    for stored in manifest.values():
        if stored.same_as is not None and stored.same_as in manifest and stored.source:
            copies.setdefault(stored.same_as, []).append(stored.source)
    for aid, stored in manifest.items():
        if stored.same_as is not None:
            continue
        outlets = tuple(dict.fromkeys([*([stored.source] if stored.source else []), *copies.get(aid, [])]))
        if outlets != stored.outlets:
            store.update_manifest(aid, outlets=json.dumps(list(outlets), ensure_ascii=False))
