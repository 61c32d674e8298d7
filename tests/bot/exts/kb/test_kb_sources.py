"""/kb source add|remove|list: sources.yaml edited from Discord, hostile addresses refused."""

from __future__ import annotations

import pytest

from bot.config import SourcesConfig
from bot.services.web import load_sources
from tests.bot.conftest import World, folder_files, logged_changes

HOURS = "Hur många timmar samhällsorientering får man i Falköping?"
HAND_WRITTEN = """\
# Kommunernas egna sidor. Rör inte utan att fråga Anna.
sources:
  # Nässjö
  - url: https://www.nassjo.se/integration
    visibility: public   # granskad 2024
"""


async def _slash(world: World, user: dict, command: str, options=None):
    ix = await world.fake.invoke_slash(command, options, guild=world.staff, user=user)
    return await ix.wait_for_message(timeout=15)


async def test_an_added_source_is_listed_fetched_once_indexed_and_comments_stay(world: World, site):
    admin = world.admin()
    (world.knowledge / "sources.yaml").write_text(HAND_WRITTEN, encoding="utf-8")
    url = f"{site.url}/integration"
    async with world.running():
        added = await _slash(world, admin, "kb source add", {"url": url, "visibility": "public"})
        answer = await world.fake.invoke_slash("ask", {"question": HOURS}, guild=world.public)
        answer = await answer.wait_for_message(timeout=10)
        listed = await _slash(world, admin, "kb source list")

    assert added.ephemeral
    assert added.content == (
        f"Lade till <{url}> (offentlig) i sources.yaml.\n"
        "Webbsidor: 1 nya, 0 ändrade, 0 oförändrade, 0 borttagna, 0 misslyckade."
    )
    assert "1 / 0 / 0" in added.embeds[0]["description"]
    text = (world.knowledge / "sources.yaml").read_text(encoding="utf-8")
    assert text.startswith(HAND_WRITTEN)  # every comment kept, the new page after them
    assert [(s.url, s.visibility) for s in load_sources(world.knowledge)] == [
        ("https://www.nassjo.se/integration", "public"),
        (url, "public"),
    ]
    assert [path for path, _ in site.requests] == ["/integration"]  # only the new page
    assert "100 timmar" in answer.all_text()
    embed = listed.embeds[0]
    assert embed["title"] == "Webbkällor (2)"
    assert f"<{url}>\noffentlig · hämtad <t:" in embed["description"]
    assert "<https://www.nassjo.se/integration>\noffentlig · inte hämtad än" in embed["description"]
    assert [c["action"] for c in logged_changes(world.state)] == ["source-add", "fetch-added"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://localhost:{port}/hemlig", "localhost (127.0.0.1) is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://10.1.2.3/intranat", "10.1.2.3 is a private address"),
        ("http://[::1]:{port}/hemlig", "::1 is a loopback address"),
        ("http://2130706433:{port}/hemlig", "2130706433 is not a public address"),
        ("http://admin:hemligt@www.falkoping.se/", "addresses with a user name or password"),
        ("file:///etc/passwd", "only http(s) addresses can be fetched"),
        ("javascript:alert(1)", "only http(s) addresses can be fetched"),
    ],
)
async def test_a_hostile_address_is_refused_with_nothing_written(world: World, site, url, reason):
    admin = world.admin()
    (world.knowledge / "sources.yaml").write_text(HAND_WRITTEN, encoding="utf-8")
    before = folder_files(world.knowledge)
    url = url.format(port=site.url.rsplit(":", 1)[1])
    reindexed = []
    world.engine.reindex = lambda *a, **k: reindexed.append(1)
    async with world.running():
        reply = await _slash(world, admin, "kb source add", {"url": url, "visibility": "public"})

    assert reply.ephemeral
    assert reply.content.startswith("Adressen går inte att lägga till: ")
    assert reason.replace("_", "\\_") in reply.content
    assert reply.content.endswith("Inget sparades.")
    assert folder_files(world.knowledge) == before
    assert site.requests == [] and reindexed == [] and logged_changes(world.state) == []


async def test_a_host_named_in_the_config_may_be_local(world: World, site):
    admin = world.admin()
    url = f"{site.url}/integration"
    async with world.running(sources=SourcesConfig(allowed_hosts=[])):
        refused = await _slash(world, admin, "kb source add", {"url": url, "visibility": "public"})
    assert "127.0.0.1 is a loopback address" in refused.content
    assert not (world.knowledge / "sources.yaml").exists()
    async with world.running(sources=SourcesConfig(allowed_hosts=["127.0.0.1"])):
        added = await _slash(world, admin, "kb source add", {"url": url, "visibility": "internal"})
    assert added.content.startswith(f"Lade till <{url}> (intern)")


async def test_a_removed_source_leaves_the_list_its_copy_and_the_answers(world: World, site):
    admin = world.admin()
    (world.knowledge / "sources.yaml").write_text(HAND_WRITTEN, encoding="utf-8")
    url = f"{site.url}/integration"
    async with world.running():
        await _slash(world, admin, "kb source add", {"url": url, "visibility": "public"})
        copies = sorted((world.knowledge / "web").glob("*.md"))
        removed = await _slash(world, admin, "kb source remove", {"url": url})
        missing = await _slash(world, admin, "kb source remove", {"url": url})
        answer = await world.fake.invoke_slash("ask", {"question": HOURS}, guild=world.public)
        answer = await answer.wait_for_message(timeout=10)

    assert len(copies) == 1 and not copies[0].exists()
    assert removed.content == (
        f"Tog bort <{url}> ur sources.yaml, och den sparade kopian av sidan."
    )
    assert missing.content.startswith("sources.yaml kunde inte ändras: ")
    # The reason is the catalogue's text in the admin's language too, not English.
    assert f"{url} finns inte i sources.yaml" in missing.content.replace("\\", "")
    assert "is not listed" not in missing.content
    assert (world.knowledge / "sources.yaml").read_text(encoding="utf-8") == HAND_WRITTEN
    assert "100 timmar" not in answer.all_text()
