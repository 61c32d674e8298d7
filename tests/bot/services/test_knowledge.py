"""The knowledge folder as admins change it: names, checks, atomic writes, change detection."""

from __future__ import annotations

import hashlib
import os

import pytest

from bot.services.knowledge import (
    MAX_NAME_CHARS,
    FolderWatch,
    KnowledgeError,
    folder_snapshot,
    list_documents,
    list_trash,
    prepare_upload,
    purge_trash,
    restore_document,
    sanitise_name,
    store_document,
    trash_document,
)
from index.documents import VISIBILITY_FILE, read_document, split_front_matter
from tests.fakes.pdf import make_pdf

LIMIT = 10_000_000


@pytest.mark.parametrize(
    ("uploaded", "stored"),
    [
        ("rapport.pdf", "rapport.pdf"),
        ("../../rapport.pdf", "rapport.pdf"),
        ("..\\..\\windows\\rapport.pdf", "rapport.pdf"),
        (".hemlig.md", "hemlig.md"),
        ("...md.md", "md.md"),
        ("a..b.txt", "a.b.txt"),
        ("Årsrapport\u202egnp.pdf", "Årsrapportgnp.pdf"),  # a bidi override goes
        ("rad\nett\x00två.txt", "radetttvå.txt"),
        ("A\u030arsrapport 2024.docx", "Årsrapport 2024.docx"),  # NFD -> NFC
        ('vad?"<>|*:.md', "vad-------.md"),
        ("  mellanslag   här .md ", "mellanslag här.md"),
        # Trailing dots and spaces (which Windows drops) are never part of a stored name.
        ("anteckningar.md. . ", "anteckningar.md"),
        ("console.md", "console.md"),
        ("com10.txt", "com10.txt"),
        ("nulägesanalys.pdf", "nulägesanalys.pdf"),
    ],
)
def test_upload_names_are_sanitised(uploaded, stored):
    assert sanitise_name(uploaded) == stored


def test_long_names_are_cut_keeping_the_extension():
    name = sanitise_name("å" * 300 + ".pdf")
    assert name.endswith(".pdf") and len(name) <= MAX_NAME_CHARS
    assert len(name.encode()) <= 240


@pytest.mark.parametrize(
    ("uploaded", "key"),
    [
        ("../../config.yaml", "kb.name.unsupported"),
        (".env", "kb.name.no_suffix"),
        ("bild.png", "kb.name.unsupported"),
        ("...", "kb.name.empty"),
        (".pdf", "kb.name.no_suffix"),
        ("README.md", "kb.name.reserved"),
        ("~$rapport.docx", "kb.name.reserved"),
        ("Thumbs.db", "kb.name.unsupported"),
        ("rapport", "kb.name.no_suffix"),
        # Device names Windows reserves whatever the case, extension or trailing dots/spaces.
        ("CON.md", "kb.name.windows"),
        ("nul.md", "kb.name.windows"),
        ("com1.txt", "kb.name.windows"),
        ("LPT9.pdf", "kb.name.windows"),
        ("Aux.tar.md", "kb.name.windows"),
        ("con .md", "kb.name.windows"),
        ("PRN..docx", "kb.name.windows"),
        ("NUL.md. ", "kb.name.windows"),
        ("COM¹.txt", "kb.name.windows"),
        ("../lpt3.html", "kb.name.windows"),
    ],
)
def test_names_that_cannot_be_documents_are_refused(uploaded, key):
    with pytest.raises(KnowledgeError) as caught:
        sanitise_name(uploaded)
    assert caught.value.key == key


def test_markdown_gets_the_chosen_visibility_in_its_front_matter():
    data = b"---\ntitle: Plan\nvisibility: public\n---\n# Plan\n\nText.\n"
    prepared = prepare_upload("plan.md", data, "internal", max_bytes=LIMIT)
    title = prepared.title
    meta, body = split_front_matter(prepared.data.decode())
    assert meta == {"title": "Plan", "visibility": "internal"} and body == "# Plan\n\nText.\n"
    assert title == "Plan"


def test_windows_1252_markdown_is_stored_as_utf8():
    data = "# Nässjö\n\nMöte på fredag.\n".encode("cp1252")
    prepared = prepare_upload("möte.md", data, "public", max_bytes=LIMIT)
    assert "Nässjö" in prepared.data.decode("utf-8")


@pytest.mark.parametrize(
    ("name", "data", "key", "reason"),
    [
        ("tom.txt", b"", "kb.add.empty", None),
        ("stor.txt", b"x" * 101, "kb.add.too_large", None),
        ("bild.pdf", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "kb.add.unreadable", "PNG image"),
        ("trasig.md", b"---\ntitle: [\n---\nText\n", "kb.add.unreadable", "front matter"),
        ("binär.txt", b"\x00\x01\x02" * 50, "kb.add.unreadable", "binary"),
        ("blank.txt", b"   \n\n  ", "kb.add.unreadable", "empty document"),
    ],
)
def test_bad_uploads_are_refused_with_the_reason(name, data, key, reason):
    with pytest.raises(KnowledgeError) as caught:
        prepare_upload(name, data, "public", max_bytes=100 if key == "kb.add.too_large" else LIMIT)
    assert caught.value.key == key
    if reason:
        assert reason in caught.value.values["reason"]


def test_a_pdf_is_read_before_it_is_kept():
    data = make_pdf([["Nätverket startade i Almedalen 2012."]], title="Nätverket")
    prepared = prepare_upload("natverket.pdf", data, "public", max_bytes=LIMIT)
    assert prepared.data == data and prepared.title == "Nätverket"
    assert prepared.parsed.sha256 == hashlib.sha256(data).hexdigest()  # for the reindex


def test_a_stored_pdf_keeps_its_visibility_in_the_list(tmp_path):
    data = make_pdf([["Nätverket startade i Almedalen 2012."]])
    stored = store_document(tmp_path, "natverket.pdf", data, "public", replace=False)
    assert stored.id == "natverket.pdf" and not stored.replaced
    assert (tmp_path / "natverket.pdf").read_bytes() == data
    assert read_document(tmp_path / "natverket.pdf", tmp_path).visibility == "public"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    with pytest.raises(KnowledgeError) as caught:
        store_document(tmp_path, "natverket.pdf", data, "internal", replace=False)
    assert caught.value.key == "kb.add.exists"
    assert read_document(tmp_path / "natverket.pdf", tmp_path).visibility == "public"

    again = store_document(tmp_path, "natverket.pdf", data, "internal", replace=True)
    assert again.replaced
    assert read_document(tmp_path / "natverket.pdf", tmp_path).visibility == "internal"


def test_a_name_existing_in_another_unicode_form_counts_as_existing(tmp_path):
    (tmp_path / "A\u030arsplan.txt").write_text("Gammal.\n", encoding="utf-8")
    with pytest.raises(KnowledgeError):
        store_document(tmp_path, "Årsplan.txt", b"Ny.\n", "public", replace=False)
    store_document(tmp_path, "Årsplan.txt", b"Ny.\n", "public", replace=True)
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".txt"] == ["Årsplan.txt"]


def test_removing_a_document_removes_its_recorded_visibility(tmp_path):
    root, trash = tmp_path / "knowledge", tmp_path / "trash"
    store_document(root, "a.txt", b"A.\n", "public", replace=False)
    store_document(root, "b.txt", b"B.\n", "internal", replace=False)
    removed = trash_document(root, trash, "a.txt")
    assert removed.id == "a.txt" and not (root / "a.txt").exists()
    assert (root / VISIBILITY_FILE).read_text().count(": ") == 1
    trash_document(root, trash, "b.txt")
    assert not (root / VISIBILITY_FILE).exists()


@pytest.mark.parametrize(
    "doc_id", ["../utanför.txt", "/etc/passwd", ".visibility.yaml", "saknas.txt", "sub", ""]
)
def test_only_documents_inside_the_folder_can_be_removed(tmp_path, doc_id):
    knowledge = tmp_path / "knowledge"
    (knowledge / "sub").mkdir(parents=True)
    (tmp_path / "utanför.txt").write_text("Nej.\n", encoding="utf-8")
    (knowledge / VISIBILITY_FILE).write_text("x.txt: public\n", encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        trash_document(knowledge, tmp_path / "trash", doc_id)
    assert caught.value.key == "kb.remove.missing"
    assert (tmp_path / "utanför.txt").exists() and (knowledge / VISIBILITY_FILE).exists()


def test_documents_are_listed_with_size_and_time(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("B\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("AAA\n", encoding="utf-8")
    (tmp_path / VISIBILITY_FILE).write_text("a.txt: public\n", encoding="utf-8")
    files = list_documents(tmp_path)
    assert [(f.id, f.size) for f in files] == [("a.txt", 4), ("sub/b.md", 2)]
    assert all(f.modified > 0 for f in files)


def test_a_change_is_ready_only_after_the_folder_stood_still_for_one_check(tmp_path):
    (tmp_path / "a.txt").write_text("A.\n", encoding="utf-8")
    watch = FolderWatch()
    first = folder_snapshot(tmp_path)
    assert watch.observe(first) == "changing"  # nothing indexed by the watch yet
    assert watch.observe(folder_snapshot(tmp_path)) == "ready"
    watch.indexed_as(first)
    assert watch.observe(folder_snapshot(tmp_path)) == "unchanged"

    with open(tmp_path / "b.txt", "w", encoding="utf-8") as handle:
        handle.write("Halv")
        handle.flush()
        assert watch.observe(folder_snapshot(tmp_path)) == "changing"
        handle.write(" mening som skrivs klart.\n")
        handle.flush()
        os.utime(tmp_path / "b.txt", ns=(1, 2))  # a new mtime, whatever the clock says
        assert watch.observe(folder_snapshot(tmp_path)) == "changing"
    settled = folder_snapshot(tmp_path)
    assert watch.observe(settled) == "ready"
    assert watch.changed_files(settled) == ["b.txt"]


def test_a_changed_visibility_list_is_a_change(tmp_path):
    (tmp_path / "a.pdf").write_bytes(make_pdf([["Text."]]))
    before = folder_snapshot(tmp_path)
    (tmp_path / VISIBILITY_FILE).write_text("a.pdf: public\n", encoding="utf-8")
    after = folder_snapshot(tmp_path)
    assert set(after) - set(before) == {VISIBILITY_FILE}


# --------------------------------------------------------------------------- the trash


def _tree(folder):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_removed_document_comes_back_from_the_trash_exactly_as_it_was(tmp_path):
    root, trash = tmp_path / "knowledge", tmp_path / "state" / "trash"
    data = make_pdf([["Nätverket startade i Almedalen 2012."]])
    store_document(root, "plan.pdf", data, "public", replace=False)
    store_document(root, "annat.txt", b"Annat.\n", "internal", replace=False)
    before = _tree(root)

    entry = trash_document(root, trash, "plan.pdf")
    assert not (root / "plan.pdf").exists()
    assert "plan.pdf" not in (root / VISIBILITY_FILE).read_text()
    [listed] = list_trash(trash)
    assert (listed.id, listed.reason, listed.visibility, listed.size) == (
        "plan.pdf",
        "remove",
        "public",
        len(data),
    )
    assert listed == entry

    restored = restore_document(root, trash, entry.key)
    assert restored.entry == entry and restored.displaced is None
    assert _tree(root) == before
    assert read_document(root / "plan.pdf", root).visibility == "public"
    assert list_trash(trash) == []


def test_a_replaced_version_is_kept_and_restoring_it_keeps_the_newer_one(tmp_path):
    root, trash = tmp_path / "knowledge", tmp_path / "trash"
    (root / "sub").mkdir(parents=True)
    old_text = b"---\nvisibility: public\n---\nGammal.\n"
    new_text = b"---\nvisibility: internal\n---\nNy.\n"
    store_document(root / "sub", "a.md", old_text, "public", replace=False)
    stored = store_document(
        root / "sub", "a.md", new_text, "internal", replace=True, trash_dir=trash
    )
    [old] = list_trash(trash)
    assert stored.previous == old.key and old.reason == "replace" and old.id == "a.md"

    # Restored by document id: the newest entry of that id.
    restored = restore_document(root / "sub", trash, "a.md")
    assert (root / "sub" / "a.md").read_bytes() == old_text
    assert restored.displaced is not None and restored.displaced.reason == "replace"
    [newer] = list_trash(trash)
    assert (trash / newer.key / "a.md").read_bytes() == new_text


def test_documents_in_subfolders_go_back_to_their_subfolder(tmp_path):
    root, trash = tmp_path / "knowledge", tmp_path / "trash"
    (root / "intern").mkdir(parents=True)
    (root / "intern" / "budget.md").write_text("# Budget\n\nPengar.\n", encoding="utf-8")
    entry = trash_document(root, trash, "intern/budget.md")
    (root / "intern").rmdir()
    restore_document(root, trash, entry.key)
    assert (root / "intern" / "budget.md").read_text(encoding="utf-8") == "# Budget\n\nPengar.\n"


def test_nothing_in_the_trash_is_a_clear_refusal(tmp_path):
    with pytest.raises(KnowledgeError) as caught:
        restore_document(tmp_path / "knowledge", tmp_path / "trash", "saknas.md")
    assert caught.value.key == "kb.restore.missing"


def test_old_trash_is_purged_and_damaged_or_hostile_entries_are_ignored(tmp_path):
    root, trash = tmp_path / "knowledge", tmp_path / "trash"
    root.mkdir()
    for name in ("gammal.txt", "ny.txt"):
        (root / name).write_text(f"{name}\n", encoding="utf-8")
    old = trash_document(root, trash, "gammal.txt")
    new = trash_document(root, trash, "ny.txt")
    (trash / "trasig").mkdir()
    (trash / "trasig" / "entry.json").write_text("{inte json", encoding="utf-8")
    (trash / "fientlig").mkdir()
    (trash / "fientlig" / "x.txt").write_text("x\n", encoding="utf-8")
    (trash / "fientlig" / "entry.json").write_text(
        '{"id": "../../x.txt", "trashed_at": 0, "reason": "remove"}', encoding="utf-8"
    )
    assert {e.key for e in list_trash(trash)} == {old.key, new.key}
    with pytest.raises(KnowledgeError):
        restore_document(root, trash, "fientlig")

    assert purge_trash(trash, 30, now=new.trashed_at + 29 * 86_400) == 0
    assert purge_trash(trash, 30, now=old.trashed_at + 30 * 86_400 + 1) == 2
    assert list_trash(trash) == [] and not (tmp_path / "x.txt").exists()
