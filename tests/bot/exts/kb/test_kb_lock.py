"""/kb add waits for the knowledge folder's lock, and past the wait says so and changes nothing."""

from __future__ import annotations

import asyncio
import threading

import index.folder_lock
from index.folder_lock import folder_lock
from tests.bot.conftest import World, folder_files, logged_changes


async def test_an_upload_while_the_folder_stays_busy_is_refused_and_then_accepted(
    world: World, monkeypatch
):
    admin = world.admin()
    monkeypatch.setattr(index.folder_lock, "WAIT_SECONDS", 0.5)
    before = folder_files(world.knowledge)
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:  # another process changing the folder, or reading it for a reindex
        with folder_lock(world.knowledge):
            taken.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(10)

    async def add():
        attachment = world.fake.add_attachment("plan.txt", "Planen för nätverket.\n".encode())
        ix = await world.fake.invoke_slash(
            "kb add",
            {"file": attachment, "visibility": "public"},
            guild=world.staff,
            user=admin,
        )
        return await ix.wait_for_message(timeout=20)

    try:
        async with world.running():
            refused = await add()
            release.set()
            await asyncio.to_thread(holder.join)
            accepted = await add()
    finally:
        release.set()
        holder.join()
    assert refused.ephemeral
    assert refused.content.startswith("Kunskapsmappen var upptagen i 0.5 s"), refused.content
    assert accepted.content.startswith("Sparade **plan.txt** (offentlig, ")
    assert [c["action"] for c in logged_changes(world.state)] == ["add"]
    after = folder_files(world.knowledge)
    assert set(after) - set(before) == {"plan.txt", ".visibility.yaml"}
