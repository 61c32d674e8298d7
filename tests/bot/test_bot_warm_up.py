"""Start-up: the bot loads the model and the index before it connects."""

from __future__ import annotations

from dataclasses import replace

from tests.conftest import FakeEncoder


class QuestionCounter(FakeEncoder):
    """The fake encoder, counting the questions it encodes."""

    def __init__(self) -> None:
        super().__init__()
        self.questions = 0

    def encode_queries(self, texts):
        self.questions += len(texts)
        return super().encode_queries(texts)


async def test_the_encoder_and_index_are_warm_before_the_first_question(world):
    counter = QuestionCounter()
    world.engine.encoder = counter
    world.engine._queries = counter  # questions go straight to it, not through a batcher
    async with world.running() as bot:
        assert counter.questions >= 1
        assert world.engine._index is not None
        assert bot.questions_since_start == 0  # the warm-up is not a question
        asked = counter.questions
        reply = await world.ask_by_mention(world.public, "Hur ansöker jag om bygglov?")
        assert reply is not None
        assert counter.questions == asked + 1


async def test_a_bot_without_an_index_still_warms_the_encoder(world, tmp_path):
    counter = QuestionCounter()
    world.engine.encoder = counter
    world.engine._queries = counter
    world.engine.settings = replace(world.engine.settings, index_dir=tmp_path / "nothing")
    async with world.running():
        assert counter.questions == 1
