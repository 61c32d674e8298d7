"""/kb remove asks first and keeps the document in the trash; /kb restore brings it back."""

from __future__ import annotations

import json
import time

import pytest

from bot.services.knowledge import list_trash
from bot.services.records import SQLiteRecordStore
from tests.bot.conftest import World, custom_ids, logged_changes
from tests.fakes.discord import FakeGuild

SUMMER = "När hålls Borlänges sommarskola?"


async def _ask(world: World, question: str, guild: FakeGuild) -> str:
    ix = await world.fake.invoke_slash("ask", {"question": question}, guild=guild)
    message = await ix.wait_for_message(timeout=10)
    # The answer itself, without the footer (whose /hjälp hint comes only the first time).
    embed = message.embeds[0] if message.embeds else {}
    fields = "".join(f["name"] + f["value"] for f in embed.get("fields", []))
    return message.content + embed.get("title", "") + embed.get("description", "") + fields


async def _remove(world: World, admin: dict, document: str, *, button: int = 0):
    """Run /kb remove and press the confirmation's button; return (question, reply)."""
    ix = await world.fake.invoke_slash(
        "kb remove", {"document": document}, guild=world.staff, user=admin
    )
    question = await ix.wait_for_message(timeout=10)
    await world.fake.click_button(question, custom_ids(question)[button], user=admin)
    reply = await ix.wait_for_message(lambda m: m.action == "create", timeout=10)
    return question, reply


async def _restore(world: World, admin: dict, value: str):
    ix = await world.fake.invoke_slash(
        "kb restore", {"document": value}, guild=world.staff, user=admin
    )
    return await ix.wait_for_message(timeout=10)


async def test_remove_then_restore_gives_back_the_same_answers(world: World):
    admin = world.admin()
    original = (world.knowledge / "sommarskola.md").read_bytes()
    async with world.running():
        before = await _ask(world, SUMMER, world.public)
        question, removed = await _remove(world, admin, "sommarskola.md")
        while_gone = await _ask(world, SUMMER, world.public)
        offered = await world.autocomplete(admin, "restore", "document", "sommar")
        hidden = await world.autocomplete(world.user("vanlig"), "restore", "document", "")
        restored = await _restore(world, admin, offered[0]["value"])
        after = await _ask(world, SUMMER, world.public)

    assert question.ephemeral and len(custom_ids(question)) == 2
    assert removed.content.startswith("Tog bort **sommarskola.md**.")
    assert "juli" in before and "juli" not in while_gone
    [choice] = offered
    assert choice["name"].startswith("sommarskola.md · borttaget 20")
    assert hidden == []
    assert restored.content == "Återställde **sommarskola.md**."
    assert "1 / 0 / 0" in restored.embeds[0]["description"]
    assert after == before
    assert (world.knowledge / "sommarskola.md").read_bytes() == original
    assert list_trash(world.state / "trash") == []
    changes = logged_changes(world.state)
    assert [(c["action"], c["document"]) for c in changes] == [
        ("remove", "sommarskola.md"),
        ("restore", "sommarskola.md"),
    ]
    store = SQLiteRecordStore.open(world.state)
    try:
        assert {c["user_hash"] for c in changes} == {store.hash_user(int(admin["id"]))}
    finally:
        store.close()
    assert all(abs(c["changed_at"] - time.time()) < 120 for c in changes)


async def test_a_cancelled_or_foreign_click_removes_nothing(world: World):
    admin = world.admin()
    other = world.user("annan", world.staff)
    async with world.running():
        ix = await world.fake.invoke_slash(
            "kb remove", {"document": "sommarskola.md"}, guild=world.staff, user=admin
        )
        question = await ix.wait_for_message(timeout=10)
        [yes, no] = custom_ids(question)
        foreign = await world.fake.click_button(question, yes, user=other)
        await world.fake.click_button(question, no, user=admin)
        reply = await ix.wait_for_message(lambda m: m.action == "create", timeout=10)
        answer = await _ask(world, SUMMER, world.public)

    assert foreign.callback is None or foreign.callback.type != 7
    assert reply.content == "Inget togs bort."
    assert (world.knowledge / "sommarskola.md").is_file() and "juli" in answer
    assert list_trash(world.state / "trash") == []
    assert not (world.state / "bot.sqlite").exists() or logged_changes(world.state) == []


async def test_a_replaced_version_is_kept_and_can_be_restored(world: World):
    admin = world.admin()
    original = (world.knowledge / "sommarskola.md").read_bytes()
    newer = "# Sommarskolan\n\nBorlänges sommarskola hålls från och med 2026 i augusti.\n"
    async with world.running():
        attachment = world.fake.add_attachment("sommarskola.md", newer.encode())
        ix = await world.fake.invoke_slash(
            "kb add",
            {"file": attachment, "visibility": "public", "replace": True},
            guild=world.staff,
            user=admin,
        )
        replaced = await ix.wait_for_message(timeout=10)
        august = await _ask(world, SUMMER, world.public)
        [choice] = await world.autocomplete(admin, "restore", "document", "")
        restored = await _restore(world, admin, choice["value"])
        july = await _ask(world, SUMMER, world.public)

    assert replaced.content.endswith(
        "Den tidigare versionen ligger i papperskorgen (/kb återställ)."
    )
    assert "augusti" in august
    assert " · ersatt 20" in choice["name"]
    assert restored.content == (
        "Återställde **sommarskola.md**. Versionen som låg där flyttades till papperskorgen."
    )
    assert "juli" in july and "augusti" not in july
    assert (world.knowledge / "sommarskola.md").read_bytes() == original
    [kept] = list_trash(world.state / "trash")
    assert "augusti" in (world.state / "trash" / kept.key / "sommarskola.md").read_text()


async def test_restoring_what_is_not_in_the_trash_is_a_clear_refusal(world: World):
    admin = world.admin()
    async with world.running():
        reply = await _restore(world, admin, "../../config.yaml")
    assert reply.content == r"Det finns inget i papperskorgen som heter **../../config.yaml**."


async def test_old_trash_is_emptied_by_the_daily_retention_task(world: World):
    trash = world.state / "trash"
    for key, age_days in (("gammal", 31), ("ny", 29)):
        (trash / key).mkdir(parents=True)
        (trash / key / "a.md").write_text("# A\n", encoding="utf-8")
        entry = {"id": "a.md", "reason": "remove", "trashed_at": time.time() - age_days * 86_400}
        (trash / key / "entry.json").write_text(json.dumps(entry), encoding="utf-8")
    async with world.running():
        await world.fake.wait_until(
            lambda: not (trash / "gammal").exists() or None, what="the purge at start"
        )
    assert [e.key for e in list_trash(trash)] == ["ny"]


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("kb restore", {"document": "sommarskola.md"}),
        ("kb source add", {"url": "https://www.falkoping.se/", "visibility": "public"}),
        ("kb source remove", {"url": "https://www.falkoping.se/"}),
        ("kb source list", None),
    ],
)
async def test_a_non_admin_is_refused_by_the_new_admin_commands(world: World, command, options):
    plain = world.user("vanlig", world.staff)
    before = sorted(p.as_posix() for p in world.knowledge.rglob("*"))
    async with world.running():
        ix = await world.fake.invoke_slash(command, options, guild=world.staff, user=plain)
        refusal = await ix.wait_for_message()
    assert refusal.ephemeral
    assert refusal.content == "Det här kommandot är bara för administratörer på personalens server."
    assert sorted(p.as_posix() for p in world.knowledge.rglob("*")) == before
