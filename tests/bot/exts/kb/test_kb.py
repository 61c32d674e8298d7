"""/kb add, remove, list, report through the fake Discord: admins only, hostile uploads refused."""

from __future__ import annotations

import re
import time

import discord
import pytest

from bot.services.records import QuestionRecord, SQLiteRecordStore
from index.documents import VISIBILITY_FILE, split_front_matter
from tests.bot.conftest import World, custom_ids, folder_files, logged_changes, record_rows
from tests.conftest import lock_held_elsewhere
from tests.fakes.discord import (
    validate_commands,
)
from tests.fakes.pdf import make_pdf

FISH = "Vilket år invigdes Tranbergets fiskecentrum?"
FISH_PAGES = [
    ["Verksamhetsberättelse för nätverket.", "Sidan handlar om annat."],
    ["Tranbergets fiskecentrum invigdes 2019 av kommunerna tillsammans."],
]


async def _add(world: World, user: dict, filename: str, data: bytes, **options):
    attachment = world.fake.add_attachment(filename, data)
    ix = await world.fake.invoke_slash(
        "kb add",
        {"file": attachment, "visibility": options.pop("visibility", "internal"), **options},
        guild=world.staff,
        user=user,
    )
    return await ix.wait_for_message(timeout=10)


async def test_an_added_pdf_is_indexed_cited_and_kept_internal(world: World):
    admin = world.admin()
    pdf = make_pdf(FISH_PAGES, title="Tranbergets fiskecentrum")
    async with world.running():
        reply = await _add(world, admin, "Tranberget.pdf", pdf, visibility="internal")
        staff = await world.fake.invoke_slash("ask", {"question": FISH}, guild=world.staff)
        staff_answer = await staff.wait_for_message()
        public = await world.fake.invoke_slash("ask", {"question": FISH}, guild=world.public)
        public_answer = await public.wait_for_message()

    assert reply.ephemeral and reply.allowed_mentions == {"parse": []}
    assert reply.content.startswith("Sparade **Tranberget.pdf** (intern, ")
    summary = reply.embeds[0]["description"]
    assert "tillagda / ändrade / borttagna  1 / 0 / 0" in summary
    assert (world.knowledge / "Tranberget.pdf").read_bytes() == pdf
    assert "Tranberget.pdf: internal" in (world.knowledge / VISIBILITY_FILE).read_text()
    assert "2019" in staff_answer.embeds[0]["description"]
    assert (
        "s. 2" in staff_answer.all_text() and "Tranbergets fiskecentrum" in staff_answer.all_text()
    )
    assert "2019" not in public_answer.all_text()
    assert "Tranberget.pdf" not in public_answer.all_text()
    [change] = logged_changes(world.state)
    store = SQLiteRecordStore.open(world.state)
    try:
        assert change["user_hash"] == store.hash_user(int(admin["id"]))
    finally:
        store.close()
    assert (change["action"], change["document"], change["visibility"], change["via"]) == (
        "add",
        "Tranberget.pdf",
        "internal",
        "discord",
    )
    assert change["size"] == len(pdf) and time.time() - change["changed_at"] < 60


async def test_an_added_document_is_read_once_in_a_child_not_again_by_its_reindex(
    world: World, monkeypatch
):
    from index.documents import IsolatedReader

    pdf = make_pdf(FISH_PAGES, title="Tranbergets fiskecentrum")
    parsed = []  # the bytes of every document sent to a reader's child process
    real_parse = IsolatedReader._parse
    monkeypatch.setattr(
        IsolatedReader,
        "_parse",
        lambda self, data, suffix: parsed.append(data) or real_parse(self, data, suffix),
    )
    async with world.running():
        reply = await _add(world, world.admin(), "Tranberget.pdf", pdf)
    assert "tillagda / ändrade / borttagna  1 / 0 / 0" in reply.embeds[0]["description"]
    assert parsed.count(pdf) == 1  # the check of the upload; its reindex took that parse


async def test_an_existing_name_is_refused_unless_replace_is_set(world: World):
    admin = world.admin()
    first = b"# Fiskecentrum\n\nTranbergets fiskecentrum invigdes 2019.\n"
    second = b"# Fiskecentrum\n\nTranbergets fiskecentrum invigdes 2020.\n"
    async with world.running():
        await _add(world, admin, "fisk.md", first, visibility="public")
        refused = await _add(world, admin, "fisk.md", second, visibility="public")
        kept = (world.knowledge / "fisk.md").read_bytes()
        replaced = await _add(world, admin, "fisk.md", second, visibility="internal", replace=True)
        answer = await (
            await world.fake.invoke_slash("ask", {"question": FISH}, guild=world.staff)
        ).wait_for_message()

    assert refused.content.startswith("Det finns redan ett dokument som heter fisk.md")
    assert b"2019" in kept
    assert replaced.content.startswith("Ersatte **fisk.md** (intern, ")
    assert "1 / 0 / 0" not in replaced.embeds[0]["description"]
    assert "0 / 1 / 0" in replaced.embeds[0]["description"]
    meta, _ = split_front_matter((world.knowledge / "fisk.md").read_text(encoding="utf-8"))
    assert meta["visibility"] == "internal"
    assert "2020" in answer.embeds[0]["description"]
    assert [c["action"] for c in logged_changes(world.state)] == ["add", "replace"]


async def test_an_upload_named_dotdot_config_yaml_writes_nothing(world: World):
    admin = world.admin()
    before, outside = folder_files(world.knowledge), world.knowledge.parent.parent / "config.yaml"
    existed = outside.exists()
    async with world.running():
        reply = await _add(world, admin, "../../config.yaml", b"discord:\n  staff_guild_ids: []\n")
    assert reply.ephemeral
    assert reply.content.startswith("Filtypen .yaml kan kunskapsbasen inte läsa.")
    assert folder_files(world.knowledge) == before
    assert outside.exists() == existed
    assert not (world.knowledge.parent / "config.yaml").exists()


async def test_an_upload_named_dot_env_writes_nothing(world: World):
    admin = world.admin()
    before = folder_files(world.knowledge)
    async with world.running():
        reply = await _add(world, admin, ".env", b"DISCORD_TOKEN=stolen\n")
    assert reply.content.startswith("Filnamnet saknar filändelse, så filtypen är okänd.")
    assert folder_files(world.knowledge) == before
    assert not any(p.name in (".env", "env") for p in world.knowledge.parent.rglob("*env"))


@pytest.mark.parametrize("name", ["CON.md", "nul.txt", "LPT9.pdf", "com1 .md"])
async def test_an_upload_with_a_windows_device_name_writes_nothing(world: World, name):
    admin = world.admin()
    before = folder_files(world.knowledge)
    async with world.running():
        reply = await _add(world, admin, name, b"# Rubrik\n\nText.\n")
    assert reply.ephemeral and "\n" not in reply.content
    assert reply.content.startswith("Namnet ") and "är reserverat i Windows" in reply.content
    assert folder_files(world.knowledge) == before


async def test_an_upload_with_deeply_nested_front_matter_gets_the_normal_refusal(world: World):
    admin = world.admin()
    before = folder_files(world.knowledge)
    data = b"---\ntitle: " + b"[" * 5000 + b"\n---\n# Rubrik\n\nText.\n"
    async with world.running():
        reply = await _add(world, admin, "djup.md", data, visibility="public")
    assert reply.ephemeral and "\n" not in reply.content
    assert "nested more than 50 levels deep" in reply.content
    assert folder_files(world.knowledge) == before


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("stycken.docx", "fler än 20000 stycken (documents.max_paragraphs)"),
        ("ström.pdf", "mer än 1 MB (documents.max_page_stream_mb)"),
    ],
)
async def test_a_small_upload_that_unpacks_to_a_lot_is_refused_in_one_line(
    world: World, name, reason
):
    from tests.index.documents.test_parse_limits import many_paragraphs_docx

    data = (
        many_paragraphs_docx(100_000)
        if name.endswith(".docx")
        else make_pdf([["x"] * 300_000], deflate=True)
    )
    assert len(data) < 12_000
    admin = world.admin()
    before = folder_files(world.knowledge)
    async with world.running():
        reply = await _add(world, admin, name, data)
    assert reply.ephemeral and "\n" not in reply.content
    assert reply.content.startswith("Filen går inte att läsa och sparades inte: ")
    assert reply.content.endswith(reason.replace("_", "\\_"))  # shown escaped
    assert folder_files(world.knowledge) == before


async def test_a_zero_byte_upload_is_refused(world: World):
    admin = world.admin()
    before = folder_files(world.knowledge)
    async with world.running():
        reply = await _add(world, admin, "tom.pdf", b"")
    assert reply.content == "Filen är tom (0 byte). Inget sparades."
    assert folder_files(world.knowledge) == before


async def test_an_upload_over_the_limit_is_refused_without_downloading_it(
    world: World, monkeypatch
):
    admin = world.admin()
    downloads = []
    original = discord.Attachment.read

    async def counting_read(self, *args, **kwargs):
        downloads.append(self.filename)
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(discord.Attachment, "read", counting_read)
    before = folder_files(world.knowledge)
    async with world.running(max_upload_mb=0.001):
        reply = await _add(world, admin, "stor.txt", b"Text om natverket. " * 100)
    assert reply.content == "Filen är för stor (1.9 kB); gränsen är 1.0 kB. Inget sparades."
    assert downloads == []
    assert folder_files(world.knowledge) == before


@pytest.mark.parametrize(
    ("locale", "said"),
    [
        ("sv-SE", "Filen går inte att läsa och sparades inte: det är ingen PDF utan en PNG-bild"),
        ("en-US", "The file cannot be read and was not saved: it is not a PDF but a PNG image"),
    ],
)
async def test_a_pdf_that_is_really_a_png_is_refused_with_the_reason(world: World, locale, said):
    admin = world.admin()
    before = folder_files(world.knowledge)
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 200
    async with world.running():
        attachment = world.fake.add_attachment("rapport.pdf", png)
        ix = await world.fake.invoke_slash(
            "kb add",
            {"file": attachment, "visibility": "internal"},
            guild=world.staff,
            user=admin,
            locale=locale,
        )
        reply = await ix.wait_for_message(timeout=10)
    assert reply.content == said
    assert folder_files(world.knowledge) == before


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("kb add", "attachment"),
        ("kb remove", {"document": "sommarskola.md"}),
        ("kb list", None),
        ("kb fetch", None),
        ("kb report", None),
        ("kb status", None),
        ("reindex", None),
    ],
)
async def test_a_non_admin_is_refused_by_every_admin_command(world: World, command, options):
    plain = world.user("vanlig", world.staff)
    manager_elsewhere = world.user("annan", world.public)
    if options == "attachment":
        options = {
            "file": world.fake.add_attachment("ny.md", b"# Ny\n\nText.\n"),
            "visibility": "public",
        }
    before = folder_files(world.knowledge)
    reindexed = []
    world.engine.reindex = lambda *a, **k: reindexed.append(1)
    async with world.running():
        ix = await world.fake.invoke_slash(command, options, guild=world.staff, user=plain)
        refusal = await ix.wait_for_message()
        other = await world.fake.invoke_slash(
            command,
            options,
            guild=world.public,
            user=manager_elsewhere,
            permissions=discord.Permissions(manage_guild=True),
            guild_command=False,  # an outdated global registration: /kb is staff-only now
        )
        other_refusal = await other.wait_for_message()
    assert refusal.ephemeral and other_refusal.ephemeral
    assert refusal.content == "Det här kommandot är bara för administratörer på personalens server."
    assert other_refusal.content == "Det här kommandot finns inte här."
    assert folder_files(world.knowledge) == before and reindexed == []
    assert not (world.state / "bot.sqlite").exists() or not logged_changes(world.state)


async def test_remove_offers_documents_to_admins_only_and_removes_one(world: World):
    admin = world.admin()
    plain = world.user("vanlig", world.staff)
    async with world.running():
        offered = await world.autocomplete(admin, "remove", "document", "SKOLA")
        everything = await world.autocomplete(admin, "remove", "document", "")
        hidden = await world.autocomplete(plain, "remove", "document", "")
        ix = await world.fake.invoke_slash(
            "kb remove", {"document": "sommarskola.md"}, guild=world.staff, user=admin
        )
        question = await ix.wait_for_message(timeout=10)
        await world.fake.click_button(question, custom_ids(question)[0], user=admin)
        reply = await ix.wait_for_message(lambda m: m.action == "create", timeout=10)
        missing = await (
            await world.fake.invoke_slash(
                "kb remove", {"document": "../config.yaml"}, guild=world.staff, user=admin
            )
        ).wait_for_message()
        answer = await (
            await world.fake.invoke_slash(
                "ask", {"question": "När hålls Borlänges sommarskola?"}, guild=world.public
            )
        ).wait_for_message()

    assert offered == [{"name": "sommarskola.md", "value": "sommarskola.md"}]
    assert {c["value"] for c in everything} == {
        "allt-startade-i-almedalen.md",
        "intern/budget.md",
        "sommarskola.md",
    }
    assert hidden == []
    assert question.content == (
        "Ta bort **sommarskola.md**? Dokumentet flyttas till papperskorgen och försvinner ur "
        "svaren."
    )
    assert reply.content.startswith(
        "Tog bort **sommarskola.md**. Dokumentet ligger i papperskorgen"
    )
    assert "0 / 0 / 1" in reply.embeds[0]["description"]
    assert not (world.knowledge / "sommarskola.md").exists()
    assert missing.content == r"Det finns inget dokument som heter **../config.yaml**."
    assert "juli" not in answer.all_text()
    assert [(c["action"], c["document"]) for c in logged_changes(world.state)] == [
        ("remove", "sommarskola.md")
    ]


async def test_the_list_shows_every_document_in_pages_with_buttons(world: World):
    admin = world.admin()
    for i in range(12):
        (world.knowledge / f"not-{i:02}.txt").write_text(
            f"Anteckning nummer {i} om nätverkets arbete.\n", encoding="utf-8"
        )
    world.engine.reindex()
    (world.knowledge / "ny-ej-indexerad.txt").write_text("Ny.\n", encoding="utf-8")
    async with world.running():
        ix = await world.fake.invoke_slash("kb list", guild=world.staff, user=admin)
        first = await ix.wait_for_message()
        [previous_id, next_id] = custom_ids(first)
        other = await world.fake.click_button(first, next_id, user=world.user("annan"))
        turned = await world.fake.click_button(first, next_id, user=admin)
        second = await turned.wait_for_message()

    assert first.ephemeral
    embed = first.embeds[0]
    assert embed["title"] == "Dokument i kunskapsbasen (1/2)"
    assert "**allt-startade-i-almedalen.md**\noffentlig · " in embed["description"]
    assert "**intern/budget.md**\nintern · " in embed["description"]
    assert "avsnitt · ändrad <t:" in embed["description"]
    assert embed["footer"]["text"].startswith("16 dokument · 2 offentliga · 13 interna · ")
    assert embed["description"].count("\n") == 19  # ten documents, two lines each
    buttons = {c["custom_id"]: c for row in first.components for c in row["components"]}
    assert buttons[previous_id]["disabled"] and not buttons[next_id].get("disabled")
    assert other.callback is None or other.callback.type != 7  # not the owner: no page turn
    assert second.action == "edit" and second.embeds[0]["title"] == "Dokument i kunskapsbasen (2/2)"
    assert "**ny-ej-indexerad.txt**\n4 B · inte indexerad" in second.embeds[0]["description"]
    buttons = {c["custom_id"]: c for row in second.components for c in row["components"]}
    assert not buttons[previous_id].get("disabled") and buttons[next_id]["disabled"]


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("BUDGET", ["intern/budget.md"]),  # the id, ignoring case
        ("almedalen", ["allt-startade-i-almedalen.md"]),
        ("sommarskolan i borlänge", ["sommarskola.md"]),  # the title
    ],
)
async def test_the_list_takes_a_filter_on_the_id_or_title(world: World, typed, shown):
    admin = world.admin()
    async with world.running():
        ix = await world.fake.invoke_slash(
            "kb list", {"filter": typed}, guild=world.staff, user=admin
        )
        listed = await ix.wait_for_message()

    names = re.findall(r"^\*\*(.+?)\*\*$", listed.embeds[0]["description"], re.MULTILINE)
    assert [n.replace("\\", "") for n in names] == shown
    assert listed.embeds[0]["footer"]["text"].startswith("1 dokument · ")


async def test_a_filter_that_matches_nothing_says_so(world: World):
    admin = world.admin()
    async with world.running():
        ix = await world.fake.invoke_slash(
            "kb list", {"filter": "*finns inte*"}, guild=world.staff, user=admin
        )
        said = await ix.wait_for_message()

    assert said.ephemeral and said.content == (
        "Inget dokument har \\*finns inte\\* i namnet eller titeln."
    )


def _week_of_questions(world: World) -> None:
    """Record a week's questions: internal ones in the staff guild, a public one, a DM."""
    store = SQLiteRecordStore.open(world.state, create_salt=True)
    now = time.time()
    try:
        for i, (question, answered, guild, visibility, via, sources) in enumerate(
            [
                ("När började samarbetet?", True, world.staff.id, "internal", "slash",
                 ["allt-startade-i-almedalen.md", "intern/budget.md"]),
                ("Vad kostar bygglov?", False, world.staff.id, "internal", "slash", []),
                ("vad kostar ett bygglov", False, world.staff.id, "internal", "slash", []),
                ("Vad är priset för bygglov?", False, world.staff.id, "internal", "slash", []),
                ("Vem är ordförande?", False, world.staff.id, "internal", "slash", []),
                ("Finns sommarskola i Borlänge?", False, world.public.id, "public", "mention", []),
                ("Min skilsmässa och mitt ärende hos soc?", False, None, "public", "dm", []),
            ]
        ):  # fmt: skip
            store.add_question(
                QuestionRecord(
                    guild_id=guild,
                    channel_id=1,
                    user_id=100 + i,
                    via=via,
                    question=question,
                    answered=answered,
                    sources=sources,
                    visibility=visibility,
                    language="sv",
                    latency_ms=120.0 + i,
                    asked_at=now - i * 3600,
                )
            )
    finally:
        store.close()


async def test_the_weekly_report_is_shown_to_the_admin_alone_with_the_chart_as_a_png(
    world: World,
):
    admin = world.admin()
    _week_of_questions(world)
    async with world.running():
        ix = await world.fake.invoke_slash("kb report", guild=world.staff, user=admin)
        post = await ix.wait_for_message(timeout=10)

    assert post.ephemeral
    [png] = post.files
    assert png.filename == "report.png" and png.data.startswith(b"\x89PNG\r\n\x1a\n")
    embed = post.embeds[0]
    assert embed["title"].startswith("Veckorapport ")
    assert embed["image"]["url"] == "attachment://report.png"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Frågor"] == "7" and fields["Besvarade"] == "1 (14 %)"
    assert fields["Vanligaste obesvarade frågorna"].startswith("3× Vad kostar bygglov?")
    assert "Finns sommarskola" in fields["Vanligaste obesvarade frågorna"]
    # A direct message's words never show in Discord; it is only counted.
    assert "skilsmässa" not in post.all_text()
    cited = fields["Mest citerade dokument"]
    assert "1× allt-startade-i-almedalen.md" in cited and "1× intern/budget.md" in cited
    assert fields["Per server"].startswith("Personalen: Frågor 5 · besvarade 1")
    assert post.allowed_mentions == {"parse": []}


async def test_the_report_in_a_public_only_channel_of_a_staff_guild_shows_public_things_only(
    world: World,
):
    admin = world.admin()
    channels = {c["name"]: int(c["id"]) for c in world.staff.channels.values()}
    _week_of_questions(world)
    async with world.running(internal_channel_ids=[channels["intern"]]):
        ix = await world.fake.invoke_slash(
            "kb report", guild=world.staff, channel_id=channels["allmänt"], user=admin
        )
        post = await ix.wait_for_message(timeout=10)

    assert post.ephemeral
    shown = post.all_text()
    # Questions asked where internal documents answer, and internal titles, stay hidden.
    for hidden in ("bygglov", "ordförande", "samarbetet", "intern/budget.md", "skilsmässa"):
        assert hidden not in shown
    fields = {f["name"]: f["value"] for f in post.embeds[0]["fields"]}
    assert fields["Frågor"] == "2"
    assert fields["Vanligaste obesvarade frågorna"] == "1× Finns sommarskola i Borlänge?"


async def test_the_words_of_a_private_question_never_show_in_the_report(world: World):
    admin = world.admin()
    asker = world.user("frågaren")
    private = "Gäller bidraget mig med personnummer 19800101-1234 och skuld?"
    public = "Vad kostar en flygbiljett till Tokyo i juli?"
    async with world.running():
        for question, only_me in ((private, True), (public, False)):
            ix = await world.fake.invoke_slash(
                "ask", {"question": question, "only-me": only_me}, guild=world.staff, user=asker
            )
            await ix.wait_for_message()
        ix = await world.fake.invoke_slash("kb report", guild=world.staff, user=admin)
        post = await ix.wait_for_message(timeout=10)

    assert [r["answer_mode"] for r in record_rows(world.state)] == ["private", "public"]
    assert [r["answered"] for r in record_rows(world.state)] == [0, 0]
    fields = {f["name"]: f["value"] for f in post.embeds[0]["fields"]}
    assert fields["Frågor"] == "2"  # counted
    assert fields["Vanligaste obesvarade frågorna"] == f"1× {public}"
    assert "19800101" not in post.all_text() and "skuld" not in post.all_text()


async def test_kb_status_still_answers_admins(world: World):
    admin = world.admin()
    async with world.running():
        ix = await world.fake.invoke_slash("kb status", guild=world.staff, user=admin)
        reply = await ix.wait_for_message()
    fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
    assert fields["Dokument"] == "3 (2 offentliga, 1 interna)"


async def test_a_stored_name_is_shown_escaped_and_pings_nobody(world: World):
    admin = world.admin()
    async with world.running():
        reply = await _add(world, admin, "@everyone_<@&1>.md", b"# Hej\n\nText om natverket.\n")
    assert reply.content.startswith("Sparade **@\u200beveryone\\_-@&1-.md** (intern, ")
    assert reply.allowed_mentions == {"parse": []}
    assert (world.knowledge / "@everyone_-@&1-.md").is_file()


async def test_the_kb_commands_sync_valid_with_swedish_names(world: World):
    async with world.running() as bot:
        await bot.tree.sync(guild=discord.Object(world.staff.id))
    [kb] = [c for c in world.fake.synced_commands[world.staff.id] if c["name"] == "kb"]
    validate_commands([kb])
    subcommands = {o["name"]: o for o in kb["options"]}
    assert set(subcommands) == {
        "status",
        "add",
        "remove",
        "restore",
        "list",
        "fetch",
        "report",
        "source",
    }
    assert {n: o["name_localizations"]["sv-SE"] for n, o in subcommands.items()} == {
        "status": "status",
        "add": "lägg-till",
        "remove": "ta-bort",
        "restore": "återställ",
        "list": "lista",
        "fetch": "hämta",
        "report": "rapport",
        "source": "källa",
    }
    source = {o["name"]: o for o in subcommands["source"]["options"]}
    assert subcommands["source"]["type"] == 2 and set(source) == {"add", "remove", "list"}
    options = {o["name"]: o for o in subcommands["add"]["options"]}
    assert [options[n]["type"] for n in ("file", "visibility", "replace")] == [11, 3, 5]
    assert options["file"]["required"] and not options["replace"].get("required")
    assert [
        (c["value"], c["name_localizations"]["sv-SE"]) for c in options["visibility"]["choices"]
    ] == [
        ("public", "offentlig (alla)"),
        ("internal", "intern (bara personal)"),
    ]
    [document] = subcommands["remove"]["options"]
    assert document["autocomplete"] and document["name_localizations"] == {"sv-SE": "dokument"}


async def test_a_file_added_while_another_process_reindexes_is_kept_and_indexed_later(
    world: World,
):

    admin = world.admin()
    with lock_held_elsewhere(world.engine.settings.index_dir):
        async with world.running():
            reply = await _add(world, admin, "ny.md", b"# Ny\n\nText om natverket.\n")
    assert reply.content.startswith("Sparade **ny.md** (intern, ")
    assert reply.content.endswith(
        "Indexet uppdateras av en annan process just nu; ändringen kommer med vid nästa "
        "omindexering."
    )
    assert not reply.embeds and (world.knowledge / "ny.md").is_file()


async def test_the_list_loses_its_buttons_when_it_times_out(world: World, monkeypatch):
    from bot import views

    monkeypatch.setattr(views, "INTERACTION_VIEW_SECONDS", 0.3)
    admin = world.admin()
    for i in range(12):
        (world.knowledge / f"not-{i:02}.txt").write_text(f"Anteckning {i}.\n", encoding="utf-8")
    async with world.running():
        ix = await world.fake.invoke_slash("kb list", guild=world.staff, user=admin)
        first = await ix.wait_for_message()
        assert custom_ids(first)
        edited = await world.fake.wait_for_bot_message(
            lambda m: m.action == "edit" and m.id == first.id, include_edits=True
        )

    assert edited.components == []
    assert edited.embeds == first.embeds  # the page stays readable
