"""Pin every library to local files before anything imports them.

tiktoken, Chroma, Gradio and Hugging Face helpers all reach for the network by
default; setting these variables first keeps the whole process offline.
"""

import os
from pathlib import Path


def _llama_index_tiktoken_cache() -> str | None:
    import importlib.util

    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        return None
    cache = Path(list(spec.submodule_search_locations)[0]) / "_static" / "tiktoken_cache"
    return str(cache) if cache.is_dir() else None


def apply() -> None:
    cache = _llama_index_tiktoken_cache()
    if cache:
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", cache)
    for key, value in {
        "GRADIO_ANALYTICS_ENABLED": "False",
        "ANONYMIZED_TELEMETRY": "False",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "DO_NOT_TRACK": "1",
    }.items():
        os.environ.setdefault(key, value)


apply()
