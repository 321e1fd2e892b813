"""The retriever and the reader inside a llama-index RetrieverQueryEngine, as a user of llama-index would plug them."""

import pytest
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from qa import Assistant, Filters
from qa.apps.llama_index import QAReader, QARetriever, to_node, to_passage
from qa.core.errors import InvalidQuestion
from tests.conftest import KHOJALY, SPANISH
from tests.fakes import FakeEmbedder, FakeReader

HOSTAGES = "How many people were taken hostage in Khojaly?"


@pytest.fixture
def bot(settings) -> Assistant:
    return Assistant(settings, embedder=FakeEmbedder(), reader=FakeReader("1275"))


def test_a_node_turns_back_into_its_passage(bot):
    passage = bot.search(HOSTAGES)[0]
    assert to_passage(to_node(passage)) == passage


def test_a_node_from_elsewhere_is_a_clear_error():
    with pytest.raises(InvalidQuestion, match="QARetriever"):
        to_passage(NodeWithScore(node=TextNode(text="x"), score=1.0))


def test_the_retriever_keeps_the_filters(bot):
    nodes = QARetriever(bot, Filters(article_ids=(SPANISH,))).retrieve(HOSTAGES)
    assert nodes and {n.node.metadata["article_id"] for n in nodes} == {SPANISH}


def test_the_reader_puts_the_answering_node_first_and_keeps_top_n(bot):
    nodes = QARetriever(bot).retrieve(HOSTAGES)
    ranked = QAReader(bot, top_n=2).postprocess_nodes(nodes, QueryBundle(HOSTAGES))
    assert len(ranked) == 2 and ranked[0].score == 1.0 and "1275" in ranked[0].node.get_content()
    assert ranked[0].score >= ranked[1].score


def test_the_reader_needs_the_question(bot):
    with pytest.raises(InvalidQuestion):
        QAReader(bot).postprocess_nodes(QARetriever(bot).retrieve(HOSTAGES))


def test_inside_a_retriever_query_engine(bot):
    engine = RetrieverQueryEngine.from_args(QARetriever(bot), llm=MockLLM(max_tokens=8), node_postprocessors=[QAReader(bot, top_n=3)])
    response = engine.query(HOSTAGES)
    assert len(response.source_nodes) == 3
    assert "1275" in response.source_nodes[0].node.get_content()


@pytest.mark.model
def test_the_real_reader_ranks_the_khojaly_passage_first(real_bot):
    engine = RetrieverQueryEngine.from_args(QARetriever(real_bot), llm=MockLLM(max_tokens=8),
                                            node_postprocessors=[QAReader(real_bot, top_n=3)])
    top = engine.query(HOSTAGES).source_nodes[0]
    assert top.node.metadata["article_id"] == KHOJALY and "1275" in top.node.get_content()
