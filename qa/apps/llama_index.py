"""This project's retriever and reader as llama-index components, for users who build their own query engines:
`QARetriever` is a `BaseRetriever` over the hybrid search, `QAReader` a `BaseNodePostprocessor` that re-scores nodes by
the reader's probability that they answer. Both go through the public `Assistant`, so they read the same store."""

from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from pydantic import Field, PrivateAttr

from qa.assistant import Assistant
from qa.core.errors import InvalidQuestion
from qa.core.types import Filters, Passage

# What a node carries besides its text, so that a node from QARetriever turns back into the passage it came from.
_FIELDS = ("article_id", "title", "date", "source", "lang", "start", "end", "dense_score", "bm25_score")


def to_node(passage: Passage) -> NodeWithScore:
    meta = {f: getattr(passage, f) for f in _FIELDS} | {"outlets": list(passage.outlets)}
    return NodeWithScore(node=TextNode(id_=passage.chunk_id, text=passage.text, metadata=meta), score=passage.score)


def to_passage(node: NodeWithScore) -> Passage:
    meta = node.node.metadata
    missing = [f for f in ("article_id", "start", "end") if f not in meta]
    if missing:
        raise InvalidQuestion(f"node {node.node.node_id} does not come from this project's store (no {', '.join(missing)} "
                              "in its metadata): retrieve it with QARetriever")
    return Passage(chunk_id=node.node.node_id, article_id=meta["article_id"], title=meta.get("title", ""),
                   date=meta.get("date"), source=meta.get("source"), lang=meta.get("lang", "en"),
                   text=node.node.get_content(), start=int(meta["start"]), end=int(meta["end"]), score=node.score or 0.0,
                   dense_score=meta.get("dense_score"), bm25_score=meta.get("bm25_score"),
                   outlets=tuple(meta.get("outlets", ())))


class QARetriever(BaseRetriever):
    """Hybrid retrieval (dense e5 + lexical, fused and filtered) as a llama-index retriever."""

    def __init__(self, assistant: Assistant, filters: Filters | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._assistant = assistant
        self._filters = filters

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [to_node(p) for p in self._assistant.search(query_bundle.query_str, self._filters)]


class QAReader(BaseNodePostprocessor):
    """The reader as a node postprocessor: each node's score becomes the probability that its best sentence answers the
    query, nodes most probable first, the `top_n` best kept when set."""

    top_n: int | None = Field(None, description="Nodes kept after re-scoring; all when unset.")
    _assistant: Assistant = PrivateAttr()

    def __init__(self, assistant: Assistant, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._assistant = assistant

    @classmethod
    def class_name(cls) -> str:
        return "QAReader"

    def _postprocess_nodes(self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None) -> list[NodeWithScore]:
        if query_bundle is None:
            raise InvalidQuestion("the reader needs the question: call it with a query bundle")
        by_id = {n.node.node_id: n for n in nodes}
        ranked = self._assistant.rank(query_bundle.query_str, [to_passage(n) for n in nodes])
        out = [NodeWithScore(node=by_id[p.chunk_id].node, score=p.score) for p in ranked]
        return out[: self.top_n] if self.top_n is not None else out
