"""A saved web page in knowledge/ or uploaded with /kb add is read like fetch-sources reads one.

The same municipal-looking page as the fetch tests (tests/bot/municipal_site.py): only its
article is indexed, never its cookie banner, menu, search form, related links or footer.
"""

from __future__ import annotations

import discord

from index.documents import read_document
from tests.bot.conftest import World
from tests.bot.municipal_site import (
    ARTICLE_SENTENCES,
    NOT_ARTICLE,
    integration_article,
    municipal_page,
)

PAGE = municipal_page("Integration", integration_article()).encode("utf-8")


def flat(text: str) -> str:
    return " ".join(text.split())


def test_a_saved_municipal_page_in_the_folder_gives_only_its_article(tmp_path):
    (tmp_path / "integration.html").write_bytes(PAGE)
    document = read_document(tmp_path / "integration.html", tmp_path)

    text = flat(document.text)
    for sentence in ARTICLE_SENTENCES:
        assert flat(sentence) in text
    for noise in NOT_ARTICLE:
        assert noise not in document.text, noise
    assert document.title == "Integration - Falköpings kommun"
    headings = {s.heading for s in document.sections}
    assert "Integration och mottagande av nyanlända › Samhällsorientering" in headings


async def test_an_uploaded_municipal_page_is_indexed_without_menu_banner_or_footer(world: World):
    managers = world.fake.add_role(
        world.staff, "Förvaltare", discord.Permissions(manage_guild=True).value
    )
    admin = world.user("förvaltare", world.staff, roles=(managers,))
    async with world.running():
        attachment = world.fake.add_attachment("integration.html", PAGE)
        ix = await world.fake.invoke_slash(
            "kb add",
            {"file": attachment, "visibility": "public"},
            guild=world.staff,
            user=admin,
        )
        reply = await ix.wait_for_message(timeout=10)
    assert reply.content.startswith("Sparade **integration.html**")
    index = world.engine.index
    indexed = flat(" ".join(c.text for c in index.all_chunks() if c.doc_id == "integration.html"))
    for sentence in ARTICLE_SENTENCES:
        assert flat(sentence) in indexed
    for noise in NOT_ARTICLE:
        assert noise not in indexed, noise
