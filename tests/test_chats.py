"""Saved conversations: SQLite round trip, resume after a restart, rename, delete, export; Conversation keeps history."""

import json

import pytest

from qa import Assistant, ChatStore, Conversation
from qa.core.errors import ChatNotFound
from tests.conftest import KHOJALY
from tests.fakes import FakeEmbedder, FakeReader


@pytest.fixture
def store(settings) -> ChatStore:
    return ChatStore.for_settings(settings)


@pytest.fixture
def bot(settings) -> Assistant:
    return Assistant(settings.model_copy(update={"answer_bar": 0.0}), embedder=FakeEmbedder(), reader=FakeReader())


def test_a_conversation_keeps_its_history_with_citations(bot):
    talk = Conversation(bot)
    first = talk.ask("How many people were taken hostage in Khojaly?")
    assert talk.history[0] == {"role": "user", "content": first.question, "standalone": first.standalone_question}
    assert talk.history[1]["citations"] == [{"article_id": c.article_id} for c in first.citations]
    second = talk.ask("And how many were children?")
    assert second.standalone_question == "How many were children? (about Khojaly)"
    assert [a.question for a in talk.answers] == [first.question, second.question]


def test_saved_chats_resume_after_a_restart(bot, settings, store):
    talk = Conversation(bot, store)
    answer = talk.ask("How many people were taken hostage in Khojaly?")
    resumed = Conversation(bot, ChatStore.for_settings(settings), talk.id)  # a new store object: as after a restart
    assert resumed.answers == [answer]
    follow = resumed.ask("And how many were children?")
    assert follow.trace[0].verdict == "follow-up"
    assert [c.turns for c in store.list()] == [2]
    assert store.list()[0].title == "How many people were taken hostage in Khojaly?"


def test_list_rename_delete(store, bot):
    a, b = Conversation(bot, store), Conversation(bot, store)
    a.ask("How many people were taken hostage in Khojaly?")
    b.ask("¿Cuánto duró la reunión trilateral en el Kremlin?")
    assert [c.id for c in store.list()] == [b.id, a.id]  # most recent first
    store.rename(a.id, "Khojaly")
    assert store.get(a.id).title == "Khojaly"
    store.delete(b.id)
    assert [c.id for c in store.list()] == [a.id]
    for call in (lambda: store.answers(b.id), lambda: store.rename(b.id, "x"), lambda: store.delete(b.id), lambda: store.add(b.id, None)):
        with pytest.raises(ChatNotFound):
            call()


def test_exports_carry_the_citations(store, bot):
    talk = Conversation(bot, store)
    answer = talk.ask("How many people were taken hostage in Khojaly?")
    data = json.loads(store.export_json(talk.id))
    assert data["turns"][0]["answer"] == answer.text
    cited = data["turns"][0]["citations"][0]
    assert cited["article_id"] == KHOJALY and cited["quote"] == answer.citations[0].quote
    assert (cited["start"], cited["end"]) == (answer.citations[0].start, answer.citations[0].end)
    md = store.export_markdown(talk.id)
    assert md.startswith("# How many people were taken hostage in Khojaly?")
    assert "**Q:** How many people were taken hostage in Khojaly?" in md and f"`{KHOJALY}`" in md and answer.text in md
