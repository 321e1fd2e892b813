"""Articles added from the chat and on first start: safe upload names, saving, ingesting, progress lines."""

import logging
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from qa.apps.render import esc, render_notice, words_for
from qa.assistant import Assistant
from qa.core.errors import QAError
from qa.core.types import IngestProgress, IngestReport, Rejected
from qa.ingest.sources import SUFFIXES

log = logging.getLogger(__name__)


def progress_printer(every: float) -> Callable[[IngestProgress], None]:
    """Progress lines on stderr, at most one per `every` seconds, and the last one always."""
    last = [-every]

    def show(p: IngestProgress) -> None:
        now = time.monotonic()
        if now - last[0] >= every or p.files_done == p.files_total:
            last[0] = now
            print(p.line(), file=sys.stderr, flush=True)

    return show


UPLOAD_SUFFIXES = SUFFIXES


UNUSABLE_UPLOAD = f"only {', '.join(UPLOAD_SUFFIXES)} files with a usable name are accepted"


_UNSAFE_NAME_CHARS = re.compile(r"[^\w.-]+")


def safe_upload_name(name: str) -> str | None:
    """Only the base name, in a safe alphabet, so '../../x.txt' lands as 'x.txt' inside the uploads folder."""
    stem, dot, suffix = re.split(r"[\\/]", name)[-1].rpartition(".")
    stem = _UNSAFE_NAME_CHARS.sub("_", stem).strip("._-")[:100]
    if not dot or not stem or f".{suffix.lower()}" not in UPLOAD_SUFFIXES:
        return None
    return f"{stem}.{suffix}"


def save_uploads(paths: list[str], uploads_dir: Path, indexed: dict[str, str] | None = None) -> tuple[list[Path], list[Rejected]]:
    """Copy uploaded files into uploads_dir under sanitised names; unusable names are rejected, not copied.

    The file name is the article id, so a name an article from elsewhere already has (a seed) is rejected: indexing
    it would replace that article. Uploading a name again replaces the earlier upload, as an update.
    """
    uploads_dir.mkdir(parents=True, exist_ok=True)
    root = uploads_dir.resolve()
    saved: list[Path] = []
    rejected: list[Rejected] = []
    for p in paths:
        name = safe_upload_name(Path(p).name)
        dest = (root / name).resolve() if name else None
        if dest is None or dest.parent != root:
            rejected.append(Rejected(Path(p).name, UNUSABLE_UPLOAD))
            continue
        other = (indexed or {}).get(dest.stem)
        if other is not None and Path(other).resolve().parent != root:
            rejected.append(Rejected(Path(p).name, f"an indexed article is already called {dest.stem!r}; rename the file to add it"))
            continue
        try:
            shutil.copyfile(p, dest)
        except OSError as exc:
            rejected.append(Rejected(Path(p).name, f"cannot be read: {exc.strerror or exc}"))
            continue
        saved.append(dest)
    return saved, rejected


def ingest_uploads(assistant: Assistant, paths: list[str | Path]) -> IngestReport:
    """Copy uploaded files into the uploads folder and index them; a file the ingest rejects is not kept (an earlier
    upload of the same name is put back as it was). The report names files only by their base name, so no server
    path reaches a person or a client."""
    uploads = assistant.settings.uploads_dir
    indexed = {a.id: a.path for a in assistant.articles()}
    names = {n for p in paths if (n := safe_upload_name(Path(p).name))}
    previous = {n: (uploads / n).read_bytes() for n in names if (uploads / n).is_file()}
    saved, rejected = save_uploads([str(p) for p in paths], uploads, indexed)
    report = assistant.ingest(saved) if saved else IngestReport()
    for r in report.rejected:
        path = Path(r.path)
        if path.parent.resolve() == uploads.resolve():
            if path.name in previous:
                path.write_bytes(previous[path.name])
            else:
                path.unlink(missing_ok=True)
    return replace(report, rejected=[*rejected, *(Rejected(Path(r.path).name, r.reason) for r in report.rejected)])


class FirstIndex:
    """The seed articles indexed in the background on a first start (an empty store): the page opens at once and shows
    how far the indexing is, instead of nothing for half a minute. Whatever reads the store waits for `done`."""

    def __init__(self, assistant: Assistant, terminal: bool = False) -> None:
        self.assistant = assistant
        self.terminal = terminal  # progress lines on stderr as `qa ingest` writes them, and the report at the end
        self.print_progress = progress_printer(assistant.settings.progress_seconds)
        self.progress: IngestProgress | None = None
        self.report: IngestReport | None = None
        self.error: Exception | None = None
        self.started = time.monotonic()
        self.done = threading.Event()

    @staticmethod
    def needed(assistant: Assistant) -> bool:
        """An empty store with seed articles to index (a store that cannot be reached is left to the usual notices)."""
        try:
            return assistant.settings.seeds_dir.is_dir() and assistant.article_count() == 0
        except QAError:
            return False

    def start(self) -> "FirstIndex":
        self._say(f"First start: indexing the articles in {self.assistant.settings.seeds_dir}; questions asked meanwhile are "
                  "answered once it is done.")
        threading.Thread(target=self._run, name="qa-first-index", daemon=True).start()
        return self

    def _run(self) -> None:
        seeds = self.assistant.settings.seeds_dir
        try:
            self.report = self.assistant.ingest([seeds], progress=self._progressed)
            self._say(f"Indexed: {self.report.summary()}. The chat answers now.")
        except Exception as exc:  # said on the page and in the terminal; the chat goes on as after a failed ingest
            if not isinstance(exc, QAError):
                log.exception("indexing %s failed", seeds)
            self.error = exc
            self._say(f"error: the articles in {seeds} could not be indexed: {exc}")
        finally:
            self.done.set()

    def _progressed(self, progress: IngestProgress) -> None:
        self.progress = progress
        if self.terminal:
            self.print_progress(progress)

    def _say(self, line: str) -> None:
        if self.terminal:
            print(line, file=sys.stderr, flush=True)

    def seconds(self) -> int:
        return round(time.monotonic() - self.started)

    def render(self, lang: str | None = None) -> str:
        """The indexing as a notice with a moving bar (files are read in a moment and embedded together, so a count
        of files would stand still); once done, what was indexed, or why not."""
        w = words_for(lang)
        if self.done.is_set():
            if self.report is None:
                return render_notice(w["indexing_failed"].format(error=self.error))
            return render_notice(w["indexed"].format(count=len(self.report.added), seconds=round(self.report.seconds)), "info")
        p = self.progress
        said = (w["indexing_read"].format(done=p.files_done, total=p.files_total, seconds=self.seconds()) if p is not None
                else w["indexing"].format(seconds=self.seconds()))
        return f'<div class="qa-notice qa-notice-warning qa-progress" role="status">{esc(said)}<progress></progress></div>'
